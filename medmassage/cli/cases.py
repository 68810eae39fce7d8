"""`medmassage case …`: open, list, show, renew, edit, close."""

from typing import Annotated

import typer

from medmassage.cli.common import ClientArg, FormatOpt, OutputOpt, database, guard, say, warn

app = typer.Typer(no_args_is_help=True)
CaseArg = Annotated[str, typer.Argument(help="Case id.")]
CredentialsOpt = Annotated[
    str | None,
    typer.Option(
        metavar="TEXT", help="Prescriber's credentials (MD, DC, PA-C…), if not in the name."
    ),
]
AuthNumberOpt = Annotated[
    str | None,
    typer.Option(metavar="TEXT", help="The payer's prior-authorization number (box 23)."),
]
FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="DATE",
        help="First day it is valid (default: the Rx date; earlier = a backdated approval).",
    ),
]

# What a claim needs beyond the case (CMS-1500 box numbers; the 837P payer). Shared by `case
# open` and `case edit` (where "" clears one).
PayerIdOpt = Annotated[
    str | None,
    typer.Option(metavar="ID", help="The payer's id at your clearinghouse (837P), e.g. 91051."),
]
PayerAddressOpt = Annotated[
    str | None,
    typer.Option(metavar="ADDRESS", help="The payer's claims address: street, city, ST ZIP."),
]
InsuredNameOpt = Annotated[
    str | None,
    typer.Option(metavar="TEXT", help="The insured (policyholder), box 4, when not the client."),
]
InsuredRelationshipOpt = Annotated[
    str | None,
    typer.Option(
        metavar="self|spouse|child|other",
        help="The client's relationship to the insured, box 6 (unset: self).",
    ),
]
InsuredDobOpt = Annotated[
    str | None, typer.Option(metavar="DATE", help="The insured's date of birth, box 11a.")
]
InsuredSexOpt = Annotated[
    str | None, typer.Option(metavar="female|male", help="The insured's sex, box 11a.")
]
InsuredAddressOpt = Annotated[
    str | None,
    typer.Option(metavar="ADDRESS", help="The insured's address, box 7: street, city, ST ZIP."),
]
GroupNumberOpt = Annotated[
    str | None, typer.Option(metavar="TEXT", help="The insured's group number, box 11.")
]
EmployerOpt = Annotated[
    str | None, typer.Option(metavar="TEXT", help="The employer (workers' comp: at the injury).")
]
AccidentStateOpt = Annotated[
    str | None,
    typer.Option(metavar="ST", help="State of the auto accident, box 10b, e.g. WA."),
]
AccountNumberOpt = Annotated[
    str | None,
    typer.Option(metavar="TEXT", help="Your patient account number for the case, box 26."),
]
UnableFromOpt = Annotated[
    str | None, typer.Option(metavar="DATE", help="First day unable to work, box 16.")
]
UnableToOpt = Annotated[
    str | None, typer.Option(metavar="DATE", help="Last day unable to work, box 16.")
]


@app.command("open")
@guard
def open_(
    ctx: typer.Context,
    client: ClientArg,
    payer: Annotated[
        str,
        typer.Option(metavar="TYPE", help="health, workers-comp, auto-pip, fsa-hsa or self-pay."),
    ],
    dx: Annotated[
        list[str],
        typer.Option(metavar="CODE", help="ICD-10-CM diagnosis code from the Rx. Repeatable."),
    ],
    referrer: Annotated[str, typer.Option(metavar="TEXT", help="Prescriber name and credentials.")],
    rx_date: Annotated[
        str, typer.Option(metavar="DATE", help="Date the prescription was written.")
    ],
    rx_until: Annotated[
        str, typer.Option(metavar="DATE", help="Last day the prescription is valid.")
    ],
    visits: Annotated[str, typer.Option(metavar="N", help="Visits authorized.")],
    payer_name: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Insurer / carrier name.")
    ] = None,
    policy: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Policy or member number.")
    ] = None,
    claim: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Claim number (WC, PIP).")
    ] = None,
    injury_date: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="Date of injury or accident (required for WC and PIP)."),
    ] = None,
    adjuster: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Adjuster name and contact.")
    ] = None,
    referrer_npi: Annotated[
        str | None, typer.Option(metavar="NPI", help="Prescriber's NPI.")
    ] = None,
    frequency: Annotated[
        str | None, typer.Option(metavar="Nx/week", help="Ordered frequency, e.g. 2x/week.")
    ] = None,
    area: Annotated[
        list[str] | None,
        typer.Option(metavar="REGION", help="Area ordered (region name). Repeatable."),
    ] = None,
    units_rule: Annotated[
        str,
        typer.Option(
            metavar="cms|ama", help="cms (8-minute rule, default) or ama (midpoint per code)."
        ),
    ] = "cms",
    referrer_credentials: CredentialsOpt = None,
    auth_number: AuthNumberOpt = None,
    from_: FromOpt = None,
    payer_id: PayerIdOpt = None,
    payer_address: PayerAddressOpt = None,
    insured_name: InsuredNameOpt = None,
    insured_relationship: InsuredRelationshipOpt = None,
    insured_dob: InsuredDobOpt = None,
    insured_sex: InsuredSexOpt = None,
    insured_address: InsuredAddressOpt = None,
    group_number: GroupNumberOpt = None,
    employer: EmployerOpt = None,
    accident_state: AccidentStateOpt = None,
    account_number: AccountNumberOpt = None,
    unable_from: UnableFromOpt = None,
    unable_to: UnableToOpt = None,
) -> None:
    """Open a case (one claim, one condition): payer, diagnoses, and the prescription with its
    visits authorized, the case's first authorization. Prints the case id."""
    from medmassage.record.cases import (
        CaseInput,
        diagnoses,
        open_case,
        open_cases_of,
        payer_of_earlier_case,
    )
    from medmassage.record.clients import find_client

    given = CaseInput(
        payer=payer,
        dx=dx,
        referrer=referrer,
        rx_date=rx_date,
        rx_until=rx_until,
        visits=visits,
        payer_name=payer_name,
        policy=policy,
        claim=claim,
        injury_date=injury_date,
        adjuster=adjuster,
        referrer_npi=referrer_npi,
        frequency=frequency,
        areas=area,
        units_rule=units_rule,
        referrer_credentials=referrer_credentials,
        auth_number=auth_number,
        valid_from=from_,
        payer_id=payer_id,
        payer_address=payer_address,
        insured_name=insured_name,
        insured_relationship=insured_relationship,
        insured_dob=insured_dob,
        insured_sex=insured_sex,
        insured_address=insured_address,
        group_number=group_number,
        employer=employer,
        accident_state=accident_state,
        account_number=account_number,
        unable_from=unable_from,
        unable_to=unable_to,
    )
    with database(ctx) as conn:
        row = find_client(conn, client)
        if row["status"] == "discharged":
            warn(f"client {row['id']} was discharged; this case makes them active again")
        already = open_cases_of(conn, row["id"])
        given, source, taken = payer_of_earlier_case(conn, given)
        case_id = open_case(conn, row, given)
        dx_rows = diagnoses(conn, case_id)
    for other in already:
        warn(
            f"client {row['id']} already has case {other['id']} open ({other['payer_type']}); a "
            f"renewed prescription or re-authorization of that claim goes on it: medmassage "
            f"case renew {other['id']} … (from now on session log needs --case)"
        )
    print(case_id)
    say(f"Opened case {case_id} for {row['name']} ({given.payer}):")
    for d in dx_rows:
        say(f"  {d['code']}  {d['description']}")
    if source is not None:
        what = " and ".join(f.replace("payer_", "payer ") for f in taken)
        say(
            f"The {what} of {given.payer_name.strip()} from case {source} (change them with: "
            f"medmassage case edit {case_id} --payer-id … --payer-address …)"
        )
    if not referrer_npi:
        warn("no --referrer-npi: insurers expect the prescriber's NPI on progress reports")


@app.command("list")
@guard
def list_(
    ctx: typer.Context,
    client: Annotated[str | None, typer.Argument(help="Only this client's cases.")] = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """List cases, open ones first."""
    from medmassage.cli.progress_view import CASE_KEYS, case_columns
    from medmassage.cli.render import print_rows, resolve_format
    from medmassage.record.cases import list_cases
    from medmassage.record.clients import find_client
    from medmassage.rules.dates import today

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    with database(ctx) as conn:
        client_id = find_client(conn, client)["id"] if client else None
        rows = list_cases(conn, today(), client_id)
    print_rows(
        case_columns(today().isoformat()),
        rows,
        chosen,
        output,
        title=f"{len(rows)} case(s)",
        keys=CASE_KEYS,
        empty="No cases yet. Open one: medmassage case open CLIENT --payer … --dx …",
    )


@app.command("show")
@guard
def show(ctx: typer.Context, case: CaseArg, fmt: FormatOpt = None, output: OutputOpt = None):
    """Show a case: payer, diagnoses, every authorization (the one in force marked), visits,
    intake, goals, reports sent."""
    from medmassage.cli.render import print_record, resolve_format
    from medmassage.documents.summary import reports
    from medmassage.record.authorizations import case_coverage
    from medmassage.record.cases import diagnoses, find_case
    from medmassage.record.intake import get_intake, goals
    from medmassage.rules.dates import today

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    on = today()
    with database(ctx) as conn:
        row = find_case(conn, case)
        data = dict(row)
        client = conn.execute(
            "SELECT name FROM client WHERE id = ?", (row["client_id"],)
        ).fetchone()
        data["client"] = client["name"]
        data["diagnoses"] = diagnoses(conn, row["id"])
        coverage = case_coverage(conn, row["id"])
        data["intake"] = get_intake(conn, row["id"])
        data["goals"] = goals(conn, row["id"])
        data["progress_reports"] = reports(conn, row["id"])
    used = coverage.used
    standing = coverage.in_force(on)
    assert standing is not None
    current = coverage.current(on)
    data["visits_on_claim"] = len(coverage.standings)
    data["authorization_state"] = standing.state
    data["authorizations"] = [a.to_dict(used.get(a.id, 0)) for a in coverage.authorizations]
    data["authorization_in_force"] = current.id if standing.state == "in force" else None
    # The prescription in force, as case show has always given it (scripts read these keys).
    data.update(
        referrer=current.prescriber_line,
        referrer_npi=current.prescriber_npi,
        rx_date=current.written.isoformat(),
        rx_until=current.valid_until.isoformat(),
        visits_authorized=current.visits,
        visits_used=used.get(current.id, 0),
        frequency=current.frequency,
        areas_ordered=current.areas,
    )
    intake = data["intake"] or {}
    many = len(coverage.authorizations) > 1
    outside = sum(1 for s in coverage.standings if s.rx_flag)
    over = sum(1 for s in coverage.standings if s.over_authorized)
    problems = [f"{outside} outside the prescription"] if outside else []
    if over:
        problems.append(f"{over} over the visits authorized")
    state = standing.state
    expired = {"in force": "", "not yet valid": " (not yet valid)"}.get(state, " (expired)")
    visits = f"{data['visits_used']} of {current.visits} authorized"
    if many:
        visits += f" under {current.label}; {data['visits_on_claim']} on the claim"
    if problems:
        visits += f" ({'; '.join(problems)})"
    pairs = [
        ("Case", f"{data['id']} ({data['status']})"),
        ("Client", f"{data['client_id']} {data['client']}"),
        ("Payer", " — ".join(x for x in (data["payer_type"], data["payer_name"]) if x)),
        ("Policy", data["policy"]),
        ("Claim", data["claim"]),
        ("Date of injury", data["injury_date"]),
        ("Adjuster", data["adjuster"]),
        ("Payer ID", data["payer_id"]),
        ("Payer address", data["payer_address"]),
        ("Insured", _insured_line(data)),
        ("Insured address", data["insured_address"]),
        ("Group number", data["group_number"]),
        ("Employer", data["employer"]),
        ("Accident state", data["accident_state"]),
        ("Unable to work", _unable_line(data["unable_from"], data["unable_to"])),
        ("Account number", data["account_number"]),
        (
            "Referrer",
            data["referrer"] + (f" (NPI {data['referrer_npi']})" if data["referrer_npi"] else ""),
        ),
        ("Prescription", f"{current.span}{expired}"),
        ("Authorization #", current.auth_number),
        ("Diagnoses", "\n".join(f"{d['code']}  {d['description']}" for d in data["diagnoses"])),
        ("Visits", visits),
        ("Frequency", data["frequency"]),
        ("Areas ordered", data["areas_ordered"]),
    ]
    if many:
        pairs.append(
            (
                "Authorizations",
                "\n".join(
                    _authorization_line(a, used, current, state) for a in coverage.authorizations
                ),
            )
        )
    pairs += [
        ("Units rule", data["units_rule"]),
        ("Closed", " — ".join(x for x in (data["close_date"], data["close_reason"]) if x)),
        (
            "Intake",
            f"{intake['date']}: {intake['complaint']} (pain {intake['pain']}/10)"
            if intake
            else "none yet",
        ),
        ("Goals", "\n".join(f"{g['id']}  {g['text']} ({g['status']})" for g in data["goals"])),
        (
            "Reports sent",
            "\n".join(
                f"{r['written']} (period {r['period_from']} to {r['period_to']})"
                for r in data["progress_reports"]
            )
            or "none yet",
        ),
    ]
    print_record(pairs, data, chosen, output)


def _insured_line(data: dict) -> str | None:
    """`Sam Doe (spouse), born 1979-03-14, male`; None when nothing about the insured is set."""
    keys = ("insured_name", "insured_relationship", "insured_dob", "insured_sex")
    if not any(data[k] for k in keys):
        return None
    relationship = data["insured_relationship"] or "self"
    who = data["insured_name"] or ("the client" if relationship == "self" else "name not set")
    parts = [f"{who} ({relationship})"]
    if data["insured_dob"]:
        parts.append(f"born {data['insured_dob']}")
    if data["insured_sex"]:
        parts.append(data["insured_sex"])
    return ", ".join(parts)


def _unable_line(start: str | None, end: str | None) -> str | None:
    if not start and not end:
        return None
    return f"{start or '?'} to {end or '?'}"


def _authorization_line(a, used: dict[int, int], current, state: str) -> str:
    """One authorization as `case show` lists it."""
    mark = ""
    if a.id == current.id:
        mark = {"in force": " — IN FORCE", "not yet valid": " — not yet valid"}.get(
            state, " — EXPIRED"
        )
    details = [
        f"{a.number}. {a.span}: {used.get(a.id, 0)} of {a.visits} visits used{mark}",
        f"   written {a.written.isoformat()} by {a.prescriber_line}"
        + (f" (NPI {a.prescriber_npi})" if a.prescriber_npi else ""),
    ]
    extra = [
        f"auth # {a.auth_number}" if a.auth_number else "",
        a.frequency or "",
        ", ".join(a.areas),
        a.note or "",
    ]
    if any(extra):
        details.append("   " + " · ".join(x for x in extra if x))
    return "\n".join(details)


@app.command("renew")
@guard
def renew(
    ctx: typer.Context,
    case: CaseArg,
    rx_date: Annotated[
        str, typer.Option(metavar="DATE", help="Date the renewal or approval was written.")
    ],
    rx_until: Annotated[str, typer.Option(metavar="DATE", help="Last day it is valid.")],
    visits: Annotated[str, typer.Option(metavar="N", help="Visits it authorizes.")],
    from_: FromOpt = None,
    frequency: Annotated[
        str | None,
        typer.Option(metavar="Nx/week", help="Ordered frequency (default: as before)."),
    ] = None,
    area: Annotated[
        list[str] | None,
        typer.Option(metavar="REGION", help="Area ordered (default: as before). Repeatable."),
    ] = None,
    referrer: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Prescriber (default: as before).")
    ] = None,
    referrer_credentials: CredentialsOpt = None,
    referrer_npi: Annotated[
        str | None,
        typer.Option(metavar="NPI", help="Prescriber's NPI (default: as before, same prescriber)."),
    ] = None,
    auth_number: AuthNumberOpt = None,
    note: Annotated[str | None, typer.Option(metavar="TEXT", help="A note on it.")] = None,
) -> None:
    """Add a renewed prescription or re-authorization to a case (the same claim): new dates,
    more visits, an authorization number. --from before today is a backdated approval: visits
    it covers are counted under it from now on. Prints the authorization's number."""
    from medmassage.documents.progress_report import RX_FLAG_WORDS
    from medmassage.record.authorizations import AuthorizationInput, renew_case
    from medmassage.record.cases import find_case

    given = AuthorizationInput(
        written=rx_date,
        valid_until=rx_until,
        visits=visits,
        valid_from=from_,
        prescriber=referrer,
        prescriber_credentials=referrer_credentials,
        prescriber_npi=referrer_npi,
        frequency=frequency,
        areas=area,
        auth_number=auth_number,
        note=note,
    )
    with database(ctx) as conn:
        row = find_case(conn, case)
        renewed = renew_case(conn, row, given)
    a = renewed.authorization
    print(a.number)
    say(
        f"Case {row['id']}: {a.label}, valid {a.span}, {a.visits} visits"
        + (f", auth # {a.auth_number}" if a.auth_number else "")
    )
    for before, after in renewed.changed:
        was = RX_FLAG_WORDS.get(before.rx_flag or "", "over auth" if before.over_authorized else "")
        now = RX_FLAG_WORDS.get(after.rx_flag or "", "over auth" if after.over_authorized else "")
        say(
            f"  session {after.session_id} (visit {after.visit}): "
            f"{was or 'covered'} → {now or 'covered'}"
            + (f", {after.place} of {after.allowed} under it" if after.authorization_id else "")
        )
    for message in renewed.warnings:
        warn(message)


@app.command("edit")
@guard
def edit(
    ctx: typer.Context,
    case: CaseArg,
    payer_name: Annotated[str | None, typer.Option(metavar="TEXT", help="Insurer name.")] = None,
    policy: Annotated[str | None, typer.Option(metavar="TEXT", help="Policy/member #.")] = None,
    claim: Annotated[str | None, typer.Option(metavar="TEXT", help="Claim number.")] = None,
    adjuster: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Adjuster name and contact.")
    ] = None,
    injury_date: Annotated[
        str | None, typer.Option(metavar="DATE", help="Date of injury or accident.")
    ] = None,
    dx: Annotated[
        list[str] | None,
        typer.Option(metavar="CODE", help="Diagnosis codes (all of them: replaces the list)."),
    ] = None,
    units_rule: Annotated[
        str | None,
        typer.Option(metavar="cms|ama", help="Units rule for drafts and later visits."),
    ] = None,
    payer_id: PayerIdOpt = None,
    payer_address: PayerAddressOpt = None,
    insured_name: InsuredNameOpt = None,
    insured_relationship: InsuredRelationshipOpt = None,
    insured_dob: InsuredDobOpt = None,
    insured_sex: InsuredSexOpt = None,
    insured_address: InsuredAddressOpt = None,
    group_number: GroupNumberOpt = None,
    employer: EmployerOpt = None,
    accident_state: AccidentStateOpt = None,
    account_number: AccountNumberOpt = None,
    unable_from: UnableFromOpt = None,
    unable_to: UnableToOpt = None,
) -> None:
    """Change a case's payer and claim details, diagnoses or units rule ("" clears an optional
    field). Audited; signed visits keep the units they were billed with."""
    from medmassage.errors import InputError
    from medmassage.record.cases import CaseEdit, edit_case, find_case

    given = CaseEdit(
        payer_name=payer_name,
        policy=policy,
        claim=claim,
        adjuster=adjuster,
        injury_date=injury_date,
        dx=dx,
        units_rule=units_rule,
        payer_id=payer_id,
        payer_address=payer_address,
        insured_name=insured_name,
        insured_relationship=insured_relationship,
        insured_dob=insured_dob,
        insured_sex=insured_sex,
        insured_address=insured_address,
        group_number=group_number,
        employer=employer,
        accident_state=accident_state,
        account_number=account_number,
        unable_from=unable_from,
        unable_to=unable_to,
    )
    if all(v is None for v in given):
        raise InputError(
            "case",
            case,
            "nothing to change: give --payer-name, --policy, --claim, --adjuster, "
            "--injury-date, --dx, --units-rule or a claim detail (see: medmassage case edit "
            "--help)",
        )
    with database(ctx) as conn:
        row = find_case(conn, case)
        changed = edit_case(conn, row, given)
    if changed:
        say(f"Case {row['id']} updated: {', '.join(changed)}")
    else:
        say(f"Case {row['id']}: nothing changed (the values given are the ones on record)")


@app.command("close")
@guard
def close(
    ctx: typer.Context,
    case: CaseArg,
    reason: Annotated[
        str, typer.Option(metavar="TEXT", help="Why (goals met, Rx ended, transferred…).")
    ],
) -> None:
    """Close a case (discharge from this episode of care)."""
    from medmassage.record.cases import close_case, find_case

    with database(ctx) as conn:
        row = find_case(conn, case)
        close_case(conn, row["id"], reason)
    say(f"Closed case {row['id']}")
