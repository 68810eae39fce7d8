"""`medmassage progress`: the progress table of a client's case (SPEC §7.1).

A module of its own: the everyday command does not pay for building session log's and session
edit's options.
"""

from typing import Annotated

import typer

from medmassage.cli.common import CaseOpt, ClientArg, FormatOpt, OutputOpt, database, guard


@guard
def progress(
    ctx: typer.Context,
    client: ClientArg,
    case: CaseOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Show every visit, not the last 20.")] = False,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Progress table: visits, pain pre→post, units, flags; baseline, change, MCID, due dates."""
    from medmassage.cli.progress_view import render_progress
    from medmassage.cli.render import resolve_format
    from medmassage.documents.progress_report import build_progress
    from medmassage.record.cases import case_with_history
    from medmassage.record.clients import find_client
    from medmassage.rules.dates import today

    chosen = resolve_format(fmt, output, ("table", "json", "csv", "md"))
    with database(ctx) as conn:
        row = find_client(conn, client)
        case_row = case_with_history(conn, row, case)
        report = build_progress(conn, case_row["id"], today())
    render_progress(report, chosen, output, last=None if all_ else 20)
