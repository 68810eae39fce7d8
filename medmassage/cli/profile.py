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
) -> None:
    """Set profile fields; only the ones given change."""
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
    }
    with database(ctx, start=True) as conn:  # can begin a practice in an empty file
        changed = set_profile(conn, fields, fee or [], report_every or [])
        profile = get_profile(conn)
        missing = missing_for_documents(profile)
    say("Profile updated: " + ", ".join(changed))
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
    """Show the profile, fees and progress-report rules."""
    from medmassage.cli.render import print_record, resolve_format
    from medmassage.record.profile import computer_zone, get_profile

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
        ("Tax ID", data["tax_id"]),
        ("Time zone", data["time_zone"] or _unset_zone(computer_zone())),
        ("Fees per unit", ", ".join(f"{k} ${v:.2f}" for k, v in data["fees"].items())),
        ("Report rules", "\n".join(f"{k}: {v}" for k, v in data["report_rules"].items())),
    ]
    if not data["name"]:
        warn("no profile yet; set one with: medmassage profile set --name … --npi …")
    print_record(pairs, data, chosen, output, title="Therapist profile")


def _unset_zone(computer: str | None) -> str:
    used = f"this computer's ({computer})" if computer else "this computer's"
    return f"not set: {used} is used; set it with --time-zone"
