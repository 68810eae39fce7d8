"""The medmassage command line: parse, call the domain, render. No SQL and no clinical rules here.

Read this file as the table of contents of the product; each sub-app lives in its own module.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from medmassage import __version__
from medmassage.cli import cases, catalog, clients, dbcmd, demo, intake, profile, sessions
from medmassage.cli.common import State

app = typer.Typer(
    name="medmassage",
    help="Clinical records, progress tables and insurer reports for medical massage. "
    "All data stays in one local SQLite file you own.",
    no_args_is_help=True,
    # Locals in a traceback would print client data: never show them.
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"medmassage {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="PATH",
            help="Database file. Default: $MEDMASSAGE_DB, else practice.db in the user data "
            "folder (see: medmassage db path).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
) -> None:
    ctx.obj = State(db_option=db)


app.add_typer(profile.app, name="profile", help="The therapist's profile, fees and report rules.")
app.add_typer(clients.app, name="client", help="Add, list, show, edit and discharge clients.")
app.add_typer(cases.app, name="case", help="Cases: payer, prescription, diagnoses, visits.")
app.command("intake", help=intake.__doc__)(intake.intake)
app.add_typer(intake.measure_app, name="measure", help="Outcome measures: NPRS, NDI, ODI, PSFS.")
app.add_typer(sessions.app, name="session", help="Log, list, show, sign, amend and void sessions.")
app.command("progress", help=sessions.progress.__doc__)(sessions.progress)
app.add_typer(catalog.app, name="catalog", help="Techniques (CPT), regions and conditions.")
app.add_typer(dbcmd.app, name="db", help="Where the database is.")
app.command("demo", help=demo.demo.__doc__)(demo.demo)


def main() -> None:
    """Console entry point: usage errors become one line (exit 2), like our own input errors."""
    from medmassage.cli.common import fail

    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        print("Aborted; nothing was saved.", file=sys.stderr)
        sys.exit(1)
    except typer.TyperException as e:  # Click's usage errors: unknown option, missing value…
        if type(e).__name__ == "NoArgsIsHelpError":
            print(e.format_message())  # type: ignore[attr-defined]
            sys.exit(0)
        ctx = getattr(e, "ctx", None)
        where = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        message = e.format_message() if hasattr(e, "format_message") else str(e)
        fail(message + where, e.exit_code)
        sys.exit(e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
