"""`medmassage import sessions FILE.csv`: past sessions from another system, all or nothing."""

from pathlib import Path
from typing import Annotated

import typer

from medmassage.cli.common import database, fail, guard, say, warn

app = typer.Typer(no_args_is_help=True)


@app.command("sessions")
@guard
def sessions(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.csv", help="CSV file (UTF-8), one session per row; - for stdin."
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check every row and show what would be imported; write nothing."
        ),
    ] = False,
    create_clients: Annotated[
        bool,
        typer.Option(
            "--create-clients",
            help="Add the clients the file names but the database lacks (names only) and "
            "import nothing yet: open a case for each, then import again.",
        ),
    ] = False,
    sign: Annotated[
        bool, typer.Option("--sign", help="Sign (lock) every imported session.")
    ] = False,
) -> None:
    """Import past sessions from a CSV file, each row checked like `session log`; all or nothing.

    Columns (header on line 1; names case-insensitive, in any order):
      client         required: client id or an unambiguous part of the name
      date           required: 2026-11-20 or 2026-11-20 14:30; not in the future
      pre            required: pain before the session, 0-10
      post           required: pain after the session, 0-10
      techniques     required: NAME=MINUTES;… e.g. swedish=30;trigger-point=15
      regions        required: names separated by ';', e.g. neck;upper-back
      case           case id (default: the client's only open case)
      minutes        total minutes (default: the sum of the techniques)
      subjective, objective, assessment, plan, homecare, feedback: notes
      allow_expired  workers' comp: why a visit outside the Rx is recorded

    Any bad row, an unknown or missing column, or a row that repeats another row or a session on record (same client, date, time, pain and techniques) refuses the whole file with one line, `line N: FIELD: 'VALUE' — reason` (exit 2): nothing is written. Warnings (expired prescription, over the visits authorized, …) are counted by kind.

    --create-clients adds the clients the file names but the database lacks, and imports no session: a session needs a case (payer, prescription, diagnosis) that the file does not hold (exit 1). Open a case for each new client, then run the import again.
    """  # noqa: E501 (one line per paragraph: Typer's help keeps docstring line breaks)
    from medmassage.exchange.import_sessions import import_sessions
    from medmassage.record.sessions import NOTICE_KINDS
    from medmassage.rules.textsafety import visible

    if str(file) == "-":
        file = Path("/dev/stdin")  # read into memory once, like any pipe (importing.ImportFile)
    with database(ctx, start=True) as conn:  # can begin a practice in an empty file
        result = import_sessions(
            conn, file, dry_run=dry_run, create_clients=create_clients, sign=sign
        )

    if result.new_clients:
        listed = ", ".join(
            f"{c.client_id} {c.name}" if c.client_id is not None else c.name
            for c in result.new_clients
        )
        count = _plural(len(result.new_clients), "client")
        say(f"{'Would add' if dry_run else 'Added'} {count}: {listed}")
        raise fail(
            f"no sessions {'would be' if dry_run else 'were'} imported: "
            f"{_plural(result.waiting_rows, 'row')} belong to new clients, and a session needs "
            "a case (payer, prescription, diagnosis) that the file does not hold; open one for "
            "each (medmassage case open CLIENT …), then run the import again",
            1,
        )

    if dry_run:
        for c in result.by_case:
            span = c.first.isoformat()
            if c.last != c.first:
                span += f" to {c.last.isoformat()}"
            sessions = _plural(c.sessions, "session")
            print(visible(f"{c.client_id} {c.client}, case {c.case_id}: {sessions}, {span}"))
    for kind, label in NOTICE_KINDS.items():
        if result.notices.get(kind):
            warn(f"{_plural(result.notices[kind], 'session')}: {label}")
    if result.reports_due:
        shown = ", ".join(str(c) for c in result.reports_due[:10])
        more = f" and {len(result.reports_due) - 10} more" if len(result.reports_due) > 10 else ""
        warn(
            f"progress report due for {_plural(len(result.reports_due), 'case')} "
            f"(case {shown}{more}); see: medmassage progress CLIENT"
        )
    what = f"{_plural(result.sessions, 'session')} for {_plural(result.clients, 'client')}"
    if dry_run:
        say(f"Would import {what} (dry run: nothing was written)")
    else:
        say(f"Imported {what}" + (", signed" if result.signed else ""))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
