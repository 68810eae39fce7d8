"""`medmassage case …`: open, list, show, close."""

from typing import Annotated

import typer

from medmassage.cli.common import ClientArg, FormatOpt, OutputOpt, database, guard, say, warn

app = typer.Typer(no_args_is_help=True)
CaseArg = Annotated[str, typer.Argument(help="Case id.")]


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
) -> None:
    """Open a case: payer, prescription, diagnoses and visits authorized. Prints the case id."""
    from medmassage.cases import CaseInput, diagnoses, open_case
    from medmassage.clients import find_client

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
    )
    with database(ctx) as conn:
        row = find_client(conn, client)
        if row["status"] == "discharged":
            warn(f"client {row['id']} was discharged; this case makes them active again")
        case_id = open_case(conn, row, given)
        dx_rows = diagnoses(conn, case_id)
    print(case_id)
    say(f"Opened case {case_id} for {row['name']} ({given.payer}):")
    for d in dx_rows:
        say(f"  {d['code']}  {d['description']}")
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
    from medmassage.cases import list_cases
    from medmassage.clients import find_client
    from medmassage.dates import today
    from medmassage.render import print_rows, resolve_format
    from medmassage.views import CASE_KEYS, case_columns

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    with database(ctx) as conn:
        client_id = find_client(conn, client)["id"] if client else None
        rows = list_cases(conn, client_id)
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
    """Show a case: payer, prescription, diagnoses, authorization, intake, goals, reports sent."""
    import json

    from medmassage.cases import diagnoses, find_case
    from medmassage.dates import today
    from medmassage.intake import get_intake, goals
    from medmassage.render import print_record, resolve_format
    from medmassage.sessions import visits_used
    from medmassage.summary import reports

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    with database(ctx) as conn:
        row = find_case(conn, case)
        data = dict(row)
        client = conn.execute(
            "SELECT name FROM client WHERE id = ?", (row["client_id"],)
        ).fetchone()
        data["client"] = client["name"]
        data["areas_ordered"] = json.loads(row["areas_ordered"])
        data["diagnoses"] = diagnoses(conn, row["id"])
        data["visits_used"] = visits_used(conn, row["id"])
        data["intake"] = get_intake(conn, row["id"])
        data["goals"] = goals(conn, row["id"])
        data["progress_reports"] = reports(conn, row["id"])
    intake = data["intake"] or {}
    expired = " (expired)" if data["rx_until"] < today().isoformat() else ""
    pairs = [
        ("Case", f"{data['id']} ({data['status']})"),
        ("Client", f"{data['client_id']} {data['client']}"),
        ("Payer", " — ".join(x for x in (data["payer_type"], data["payer_name"]) if x)),
        ("Policy", data["policy"]),
        ("Claim", data["claim"]),
        ("Date of injury", data["injury_date"]),
        ("Adjuster", data["adjuster"]),
        (
            "Referrer",
            data["referrer"] + (f" (NPI {data['referrer_npi']})" if data["referrer_npi"] else ""),
        ),
        ("Prescription", f"{data['rx_date']} to {data['rx_until']}{expired}"),
        ("Diagnoses", "\n".join(f"{d['code']}  {d['description']}" for d in data["diagnoses"])),
        ("Visits", f"{data['visits_used']} of {data['visits_authorized']} authorized"),
        ("Frequency", data["frequency"]),
        ("Areas ordered", data["areas_ordered"]),
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
    from medmassage.cases import close_case, find_case

    with database(ctx) as conn:
        row = find_case(conn, case)
        close_case(conn, row["id"], reason)
    say(f"Closed case {row['id']}")
