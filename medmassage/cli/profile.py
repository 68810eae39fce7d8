"""`medmassage profile set/show`: the therapist printed on every insurer document."""

from typing import Annotated

import typer

from medmassage.cli.common import FormatOpt, OutputOpt, database, guard, say, warn

app = typer.Typer(no_args_is_help=True)


def _opt(help_text: str, metavar: str = "TEXT"):
    return typer.Option(metavar=metavar, help=help_text, show_default=False)


@app.command("set")
@guard
def set_(
    ctx: typer.Context,
    name: Annotated[str | None, _opt("Your name as on your license.")] = None,
    credentials: Annotated[str | None, _opt("e.g. LMT.")] = None,
    license_number: Annotated[str | None, _opt("State massage license number.")] = None,
    license_state: Annotated[str | None, _opt("Two-letter state, e.g. WA.", "XX")] = None,
    npi: Annotated[str | None, _opt("Your 10-digit NPI.", "NPI")] = None,
    practice_name: Annotated[str | None, _opt("Practice or business name.")] = None,
    address: Annotated[str | None, _opt("Practice address.")] = None,
    phone: Annotated[str | None, _opt("Practice phone.")] = None,
    email: Annotated[str | None, _opt("Practice email.")] = None,
    tax_id: Annotated[str | None, _opt("Tax ID / EIN (optional, for superbills).")] = None,
    time_zone: Annotated[
        str | None,
        _opt(
            "The practice's time zone, an IANA name, e.g. America/Los_Angeles "
            "(default: this computer's, stored the first time the profile is set).",
            "ZONE",
        ),
    ] = None,
    fee: Annotated[
        list[str] | None,
        _opt("Fee per unit: CPT=AMOUNT, e.g. --fee 97140=45. Repeatable.", "CPT=AMOUNT"),
    ] = None,
    report_every: Annotated[
        list[str] | None,
        _opt(
            "Progress-report rule: PAYER=VISITS/DAYS or PAYER=off, e.g. health=10/30.",
            "PAYER=V/D",
        ),
    ] = None,
    tax_id_kind: Annotated[
        str | None, _opt("What --tax-id is, box 25: ein or ssn.", "ein|ssn")
    ] = None,
    taxonomy: Annotated[
        str | None,
        _opt("NUCC taxonomy code, box 33b (unset: 225700000X, massage therapist).", "CODE"),
    ] = None,
    place_of_service: Annotated[
        str | None,
        _opt("Place of service on claims, box 24B: 11 office (unset), 12 home…", "NN"),
    ] = None,
    accept_assignment: Annotated[
        str | None, _opt("Accept assignment, box 27 (unset: yes).", "yes|no")
    ] = None,
    submitter_id: Annotated[
        str | None, _opt("Your submitter id at the clearinghouse (837P).", "ID")
    ] = None,
    receiver_id: Annotated[
        str | None, _opt("The clearinghouse's receiver id (837P).", "ID")
    ] = None,
    receiver_name: Annotated[str | None, _opt("The clearinghouse's name (837P).")] = None,
    x12_version: Annotated[
        str | None,
        _opt("The 837P guide your clearinghouse asks for (unset: A2).", "A1|A2"),
    ] = None,
    claim_modifier: Annotated[
        list[str] | None,
        _opt(
            "Modifier for 97124 and 97140 on one date on distinct regions: PAYER=59, PAYER=XS "
            "or PAYER=none. Repeatable.",
            "PAYER=59|XS|none",
        ),
    ] = None,
    claim_gp: Annotated[
        list[str] | None,
        _opt(
            "GP on every claim line (only where the payer asks): PAYER=yes|no. Repeatable.",
            "PAYER=yes|no",
        ),
    ] = None,
) -> None:
    """Set profile fields; only the ones given change ("" clears one)."""
    from medmassage.record.profile import get_profile, missing_for_documents, set_profile

    fields = {
        "name": name,
        "credentials": credentials,
        "license_number": license_number,
        "license_state": license_state,
        "npi": npi,
        "practice_name": practice_name,
        "address": address,
        "phone": phone,
        "email": email,
        "tax_id": tax_id,
        "time_zone": time_zone,
        "tax_id_kind": tax_id_kind,
        "taxonomy": taxonomy,
        "place_of_service": place_of_service,
        "accept_assignment": accept_assignment,
        "submitter_id": submitter_id,
        "receiver_id": receiver_id,
        "receiver_name": receiver_name,
        "x12_version": x12_version,
    }
    with database(ctx, start=True) as conn:  # can begin a practice in an empty file
        changed = set_profile(
            conn, fields, fee or [], report_every or [], claim_modifier or [], claim_gp or []
        )
        profile = get_profile(conn)
        missing = missing_for_documents(profile)
    say("Profile updated: " + ", ".join(changed))
    if address is not None and profile["address"]:
        from medmassage.rules.address import ADDRESS_RULE, split_address

        if split_address(profile["address"]) is None:
            warn(
                "the address cannot be split into street, city, state and ZIP as claims need "
                f"(CMS-1500 box 33, 837P); give it as {ADDRESS_RULE}"
            )
    if missing:
        warn("insurer documents also need: " + ", ".join(m.replace("_", "-") for m in missing))
    if not profile["time_zone"]:
        warn(
            "this computer's time zone has no IANA name to store; set the practice's with "
            "--time-zone, e.g. America/Los_Angeles"
        )


@app.command("show")
@guard
def show(ctx: typer.Context, fmt: FormatOpt = None, output: OutputOpt = None) -> None:
    """Show the profile, fees, progress-report and claim rules."""
    from medmassage.cli.render import print_record, resolve_format
    from medmassage.record.profile import (
        DEFAULT_PLACE_OF_SERVICE,
        DEFAULT_TAXONOMY,
        PLACES_OF_SERVICE,
        computer_zone,
        get_profile,
    )

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    with database(ctx) as conn:
        data = get_profile(conn)
    pairs = [
        ("Name", data["name"]),
        ("Credentials", data["credentials"]),
        ("License", " ".join(x for x in (data["license_state"], data["license_number"]) if x)),
        ("NPI", data["npi"]),
        ("Practice", data["practice_name"]),
        ("Address", data["address"]),
        ("Phone", data["phone"]),
        ("Email", data["email"]),
        ("Tax ID", _joined(data["tax_id"], _kind(data["tax_id_kind"]))),
        ("Time zone", data["time_zone"] or _unset_zone(computer_zone())),
        ("Fees per unit", ", ".join(f"{k} ${v:.2f}" for k, v in data["fees"].items())),
        ("Report rules", "\n".join(f"{k}: {v}" for k, v in data["report_rules"].items())),
        ("Taxonomy", data["taxonomy"] or f"{DEFAULT_TAXONOMY} (default, massage therapist)"),
        (
            "Place of service",
            _place(data["place_of_service"], DEFAULT_PLACE_OF_SERVICE, PLACES_OF_SERVICE),
        ),
        (
            "Accept assignment",
            {True: "yes", False: "no", None: "yes (default)"}[data["accept_assignment"]],
        ),
        ("Submitter ID", data["submitter_id"]),
        ("Receiver", _joined(data["receiver_id"], _parens(data["receiver_name"]))),
        ("837P version", data["x12_version"] or "005010X222A2 (default)"),
        ("Claim rules", "\n".join(_claim_rule_line(k, v) for k, v in data["claim_rules"].items())),
    ]
    if not data["name"]:
        warn("no profile yet; set one with: medmassage profile set --name … --npi …")
    print_record(pairs, data, chosen, output, title="Therapist profile")


def _unset_zone(computer: str | None) -> str:
    used = f"this computer's ({computer})" if computer else "this computer's"
    return f"not set: {used} is used; set it with --time-zone"


def _joined(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _kind(kind: str | None) -> str | None:
    return f"({kind.upper()})" if kind else None


def _parens(text: str | None) -> str | None:
    return f"({text})" if text else None


def _place(code: str | None, default: str, names: dict[str, str]) -> str:
    shown = code or default
    name = names.get(shown)
    text = f"{shown} {name}" if name else shown
    return text if code else f"{text} (default)"


def _claim_rule_line(payer: str, rule: dict) -> str:
    """`health: modifier 59, GP` / `auto-pip: no distinct modifier, no GP`."""
    modifier = rule["distinct_modifier"]
    return (
        f"{payer}: "
        + (f"modifier {modifier}" if modifier else "no distinct modifier")
        + (", GP" if rule["gp"] else ", no GP")
    )
