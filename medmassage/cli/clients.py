"""`medmassage client …`: add, list, show, edit, discharge."""

from typing import Annotated

import typer

from medmassage.cli.common import (
    ClientArg,
    FormatOpt,
    OutputOpt,
    database,
    guard,
    say,
)

app = typer.Typer(no_args_is_help=True)

DobOpt = Annotated[str | None, typer.Option("--dob", help="Date of birth (YYYY-MM-DD).")]
PhoneOpt = Annotated[str | None, typer.Option(metavar="TEXT", help="Phone number.")]
EmailOpt = Annotated[str | None, typer.Option(metavar="EMAIL", help="Email address.")]
AddressOpt = Annotated[str | None, typer.Option(metavar="TEXT", help="Postal address.")]
SexOpt = Annotated[str | None, typer.Option(metavar="SEX", help="female, male, other or unknown.")]


@app.command("add")
@guard
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Full name.")],
    dob: DobOpt = None,
    phone: PhoneOpt = None,
    email: EmailOpt = None,
    address: AddressOpt = None,
    sex: SexOpt = None,
) -> None:
    """Add a client; prints the new client id."""
    from medmassage.record.clients import add_client

    with database(ctx, start=True) as conn:  # can begin a practice in an empty file
        client_id = add_client(
            conn,
            {
                "name": name,
                "dob": dob,
                "phone": phone,
                "email": email,
                "address": address,
                "sex": sex,
            },
        )
    print(client_id)
    say(f"Added client {client_id}. Next: medmassage case open {client_id} --payer … --dx …")


@app.command("list")
@guard
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include discharged clients.")] = False,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """List active clients (with --all, discharged ones too)."""
    from medmassage.cli.progress_view import CLIENT_COLUMNS
    from medmassage.cli.render import print_rows, resolve_format
    from medmassage.record.clients import list_clients

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    with database(ctx) as conn:
        rows = list_clients(conn, include_discharged=all_)
    print_rows(
        CLIENT_COLUMNS,
        rows,
        chosen,
        output,
        title=f"{len(rows)} client(s)",
        empty='No clients yet. Add one: medmassage client add "Full Name" --dob 1980-04-02',
    )


@app.command("show")
@guard
def show(ctx: typer.Context, client: ClientArg, fmt: FormatOpt = None, output: OutputOpt = None):
    """Show a client's details and cases."""
    from medmassage.cli.render import Col, plain_table, print_record, resolve_format
    from medmassage.record.clients import client_summary, find_client

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    with database(ctx) as conn:
        row = find_client(conn, client)
        data = client_summary(conn, row["id"])
    pairs = [
        ("Client", f"{data['id']} {data['name']}"),
        ("Born", data["dob"]),
        ("Sex", data["sex"]),
        ("Phone", data["phone"]),
        ("Email", data["email"]),
        ("Address", data["address"]),
        ("Status", data["status"]),
        (
            "Discharged",
            " — ".join(x for x in (data["discharge_date"], data["discharge_reason"]) if x),
        ),
        ("Added", data["created"][:10]),
    ]
    cases = None
    if data["cases"]:
        cases = plain_table(
            [
                Col("id", "Case", right=True),
                Col("payer_type", "Payer"),
                Col("payer_name", "Payer name"),
                Col("visits_used", "Used", right=True),
                Col("visits_authorized", "Auth", right=True),
                Col("rx_until", "Rx until"),
                Col("status", "Status"),
            ],
            data["cases"],
        )
    print_record(pairs, data, chosen, output, extra=cases)


@app.command("edit")
@guard
def edit(
    ctx: typer.Context,
    client: ClientArg,
    name: Annotated[str | None, typer.Option(metavar="TEXT", help="New full name.")] = None,
    dob: DobOpt = None,
    phone: PhoneOpt = None,
    email: EmailOpt = None,
    address: AddressOpt = None,
    sex: SexOpt = None,
) -> None:
    """Change a client's details (only the options given; "" clears an optional field)."""
    from medmassage.record.clients import edit_client, find_client

    with database(ctx) as conn:
        row = find_client(conn, client)
        changed = edit_client(
            conn,
            row["id"],
            {
                "name": name,
                "dob": dob,
                "phone": phone,
                "email": email,
                "address": address,
                "sex": sex,
            },
        )
    say(f"Client {row['id']} updated: {', '.join(changed)}")


@app.command("discharge")
@guard
def discharge(
    ctx: typer.Context,
    client: ClientArg,
    reason: Annotated[
        str, typer.Option(metavar="TEXT", help="Why (goals met, moved, self-discharged…).")
    ],
) -> None:
    """Discharge a client; their open cases close with the same reason."""
    from medmassage.record.clients import discharge_client, find_client

    with database(ctx) as conn:
        row = find_client(conn, client)
        closed = discharge_client(conn, row["id"], reason)
    extra = f"; closed case(s) {', '.join(map(str, closed))}" if closed else ""
    say(f"Discharged client {row['id']} {row['name']}{extra}")
