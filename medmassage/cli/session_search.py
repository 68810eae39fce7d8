"""`medmassage session search TEXT [CLIENT]`: find words in the notes (medmassage/record/search.py).

Registered on the `session` group by the last line of cli/sessions.py. Imports nothing beyond
what that module has loaded already until the command runs, so `session log` pays nothing.
"""

from pathlib import Path
from typing import Annotated

import typer

from medmassage.cli.common import CaseOpt, OutputOpt, database, guard, say
from medmassage.cli.sessions import app

SEARCH_FORMATS = ("table", "json", "csv")
CSV_KEYS = [
    "session_id",
    "date",
    "start_time",
    "client_id",
    "client",
    "case_id",
    "status",
    "fields",
    "snippet",
]


@app.command("search")
@guard
def search(
    ctx: typer.Context,
    text: Annotated[
        str,
        typer.Argument(
            metavar="TEXT",
            help='Words to find, all of them (AND); "a phrase" in quotes; lumb* for words '
            "starting lumb.",
        ),
    ],
    client: Annotated[
        str | None, typer.Argument(metavar="[CLIENT]", help="Only this client's sessions.")
    ] = None,
    case: CaseOpt = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", metavar="DATE", help="From this date or month (2026-10)."),
    ] = None,
    to: Annotated[
        str | None, typer.Option(metavar="DATE", help="Up to this date or month.")
    ] = None,
    limit: Annotated[
        str | None,
        typer.Option(
            metavar="N", help="Show the newest N matching sessions (default 50, at most 1,000)."
        ),
    ] = None,
    no_void: Annotated[
        bool,
        typer.Option(
            "--no-void", help="Leave out voided sessions (shown by default, marked void)."
        ),
    ] = False,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="table (default), json or csv. Inferred from the -o file's extension.",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Search the notes: SOAP note, home care, client feedback and addenda, newest first.

    Every word must appear (in any of them); "quoted words" must appear together, in that order;
    a word ending in * finds the words it starts (lumb* finds lumbar, lumbosacral). Capitals and
    accents do not matter. On a terminal the matching words are shown in bold; in a pipe, a file,
    JSON and CSV the snippet is plain text (JSON gives the matches' offsets in "marks").
    Voided sessions are listed, marked void (--no-void leaves them out).
    """
    from medmassage.cli.render import resolve_format
    from medmassage.record.cases import find_case
    from medmassage.record.search import check_limit, fts_query, search_sessions
    from medmassage.rules.dates import parse_span

    chosen = resolve_format(fmt, output, SEARCH_FORMATS)
    fts_query(text)  # a query with nothing to find is refused before the database is opened
    count = check_limit(limit)
    start, end = parse_span(from_, to)
    with database(ctx) as conn:
        client_id = _client_id(conn, client, text)
        case_id = find_case(conn, case)["id"] if case else None
        found = search_sessions(
            conn,
            text,
            client_id=client_id,
            case_id=case_id,
            start=start,
            end=end,
            limit=count,
            include_void=not no_void,
        )
    _print(found, chosen, output)
    if not found.hits:
        say("No sessions match.")
    elif found.total > len(found.hits):
        say(
            f"Showing the newest {len(found.hits)} of {found.total:,} matching sessions "
            "(--limit N, or --from/--to, for others)."
        )


def _client_id(conn, client: str | None, text: str) -> int | None:
    """The CLIENT argument's client; a word that names none was most likely meant as a second
    word to search for (`session search lumbar stiffness`): the error says how to give it."""
    from medmassage.errors import InputError
    from medmassage.record.clients import find_client

    if not client:
        return None
    try:
        return find_client(conn, client)["id"]
    except InputError as e:
        if "no client matches" not in e.allowed:
            raise
        words = f"{text} {client}".replace('"', "")
        hint = f'; to search for several words, quote them: session search "{words}"'
        raise InputError(e.field, e.value, e.allowed + hint) from None


def _print(found, fmt: str, output: Path | None) -> None:
    from medmassage.cli.render import csv_text, is_terminal, json_text, on_screen
    from medmassage.store.files import write_output

    rows = [hit.to_dict() for hit in found.hits]
    if fmt == "json":
        write_output(on_screen(json_text(rows), output, as_json=True), output)
        return
    if fmt == "csv":
        write_output(on_screen(csv_text(rows, CSV_KEYS), output), output)
        return
    if not rows:
        return
    title = _title(found)
    if output is None and is_terminal():
        _rich_table(found, title)
        return
    from medmassage.cli.render import Col, plain_table

    for row, hit in zip(rows, found.hits, strict=True):
        row["field"] = _field_words(hit)
        row["status"] = _status_word(hit.status)
    columns = [
        Col("session_id", "ID", right=True),
        Col("date", "Date"),
        Col("client", "Client"),
        Col("case_id", "Case", right=True),
        Col("status", "Status"),
        Col("field", "Field"),
        Col("snippet", "Match"),
    ]
    write_output(plain_table(columns, rows, title), output)


def _title(found) -> str:
    shown = len(found.hits)
    if found.total > shown:
        return f"{shown} of {found.total:,} sessions, newest first"
    return f"{shown} session{'s' * (shown != 1)}, newest first"


def _status_word(status: str) -> str:
    return "VOID" if status == "void" else status


def _field_words(hit) -> str:
    from medmassage.record.search import FIELD_LABELS

    more = len(hit.matches) - 1
    return FIELD_LABELS[hit.best.field] + (f" (+{more})" if more > 0 else "")


def _rich_table(found, title: str) -> None:
    """The results on a terminal: the matching words in bold and underlined (not colour alone),
    stored text escaped (visible) and never read as Rich markup (Text, not str)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from medmassage.cli.render import console
    from medmassage.rules.textsafety import visible

    table = Table(
        title=Text(visible(title)),
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("ID", justify="right", no_wrap=True)
    table.add_column("Date", no_wrap=True)
    table.add_column("Client", overflow="fold")
    table.add_column("Case", justify="right", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Field", no_wrap=True)
    table.add_column("Match", overflow="fold", ratio=1)
    for hit in found.hits:
        match = Text()
        if hit.matches:
            first = hit.best
            at = 0
            for start, end in first.marks:
                match.append(visible(first.snippet[at:start]))
                match.append(visible(first.snippet[start:end]), style="bold underline")
                at = end
            match.append(visible(first.snippet[at:]))
        table.add_row(
            str(hit.session_id),
            hit.date,
            Text(visible(hit.client)),
            str(hit.case_id),
            Text(_status_word(hit.status), style="bold" if hit.status == "void" else ""),
            _field_words(hit),
            match,
        )
    console().print(table)
