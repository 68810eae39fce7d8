"""`medmassage summary` (insurer progress summary), `medmassage superbill` and `medmassage notes`
(chart notes)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from medmassage.cli.common import CaseOpt, OutputOpt, database, guard, say, warn

DocFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="pdf, html, md or json. Inferred from the -o file's extension; "
        "md when printing to stdout.",
        show_default=False,
    ),
]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", metavar="DATE", help="First day of the period (a date or a month)."),
]
ToOpt = Annotated[str | None, typer.Option("--to", metavar="DATE", help="Last day of the period.")]


def _period_bounds(from_, to):
    """--from/--to as days; a month given to --to that is still running ends today."""
    from medmassage.rules.dates import parse_period, today

    first = parse_period("from", from_)[0] if from_ else None
    last = None
    if to:
        start, last = parse_period("to", to)
        if start <= today() < last:
            last = today()
    return first, last


def _format(fmt, output, default="md", to_folder=False):
    from medmassage.cli.render import resolve_format
    from medmassage.documents import DOCUMENT_FORMATS
    from medmassage.errors import InputError

    chosen = resolve_format(fmt, output, DOCUMENT_FORMATS, default=default)
    if chosen == "pdf" and output is None and not to_folder:
        raise InputError("output", None, "a PDF needs -o FILE (e.g. -o progress.pdf)")
    return chosen


@guard
def summary(
    ctx: typer.Context,
    client: Annotated[
        str | None,
        typer.Argument(
            metavar="[CLIENT]",
            help="Client id or an unambiguous part of the name.",
            show_default=False,
        ),
    ] = None,
    case: CaseOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    fmt: DocFormatOpt = None,
    output: OutputOpt = None,
    assessment: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Assessment; default: from the latest note.")
    ] = None,
    plan: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Plan; default: from the latest note.")
    ] = None,
    discharge: Annotated[
        bool, typer.Option("--discharge", help="Recommend discharge instead of continuing.")
    ] = False,
    frequency: Annotated[
        str | None,
        typer.Option(
            metavar="FREQ", help="Recommended frequency, e.g. 2x/week; default: as ordered."
        ),
    ] = None,
    weeks: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Recommended weeks of care; default: as long as the authorized visits last.",
            show_default=False,
        ),
    ] = None,
    preview: Annotated[
        bool,
        typer.Option("--preview", help="Write the file without recording the report as sent."),
    ] = False,
    all_due: Annotated[
        bool,
        typer.Option("--all-due", help="One summary per case whose report is due, into -o DIR."),
    ] = False,
) -> None:
    """Insurer progress summary (PDF, HTML, Markdown, JSON) for a case and reporting period.

    Default period: since the last summary (or the start of care) up to today. Writing it to a
    file with -o records the report as sent, which restarts the report-due clock; printing it to
    stdout, or --preview, records nothing.
    """
    from medmassage.errors import InputError
    from medmassage.rules.dates import today
    from medmassage.rules.validate import parse_frequency, parse_int

    on = today()
    first, last = _period_bounds(from_, to)
    options = {
        "assessment": assessment,
        "plan": plan,
        "discharge": discharge,
        "frequency": parse_frequency(frequency) if frequency else None,
        "weeks": parse_int("weeks", weeks, 1, 52, "weeks of care") if weeks is not None else None,
    }
    if all_due:
        if client is not None or case is not None:
            raise InputError("--all-due", client or case, "takes no CLIENT or --case")
        if output is None:
            raise InputError("output", None, "--all-due needs -o DIR (a folder for the files)")
        chosen = _format(fmt, None, default="pdf", to_folder=True)
        _all_due(ctx, output, chosen, on, first, last, preview, options)
        return
    if client is None:
        raise InputError("client", None, "name a client, or give --all-due -o DIR")
    chosen = _format(fmt, output)
    from medmassage.documents import render
    from medmassage.record.cases import case_with_history
    from medmassage.record.clients import find_client
    from medmassage.store.files import staged_write

    with database(ctx) as conn:
        from medmassage.documents.summary import (
            build_summary,
            check_period,
            default_period,
            record_report,
            start_of_care,
        )

        client_row = find_client(conn, client)
        case_row = case_with_history(conn, client_row, case)
        default = default_period(conn, case_row["id"], on)
        if first is None and last is not None and default.first > last:
            first = start_of_care(conn, case_row["id"])  # --to alone, before the last report
        period = check_period(first, last, default, on)
        report = build_summary(conn, case_row["id"], period, on, **options)
        data = render("summary", report.to_dict(), chosen)
        if output is None:
            for message in report.warnings:
                warn(message)
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
            say("Preview only: not recorded as a report sent (write it with -o FILE to record).")
            return
        from medmassage.store import db

        # A target that must never be replaced is refused before anything is recorded. The
        # file is put in place just before COMMIT (a report recorded as sent always has its
        # file); a failure, the commit's included, removes it again (an old one is put back).
        # Warnings come before the file is in place, as the superbill's and the notes' do; a
        # target that cannot be written is refused first, alone.
        with staged_write(output, data) as place, db.transaction(conn):
            for message in report.warnings:
                warn(message)
            recorded = False if preview else record_report(conn, case_row["id"], on, period)
            place()
    period_text = f"{period.first.isoformat()} to {period.last.isoformat()}"
    say(
        f"Wrote {output}: progress summary, case {case_row['id']}, {period_text}, "
        f"{len(report.visits)} visit(s)"
    )
    if preview:
        say("Preview: not recorded as a report sent.")
    elif recorded:
        say("Recorded as sent today; the report-due clock restarts.")
    else:
        say("Already recorded today for this period; not counted again.")


def _all_due(ctx, folder: Path, fmt, on, first, last, preview, options) -> None:
    from medmassage.cli.render import Col, print_rows
    from medmassage.documents import SUFFIXES, render
    from medmassage.documents.summary import (
        build_summary,
        check_period,
        default_period,
        due_cases,
        file_stem,
        record_report,
        require_profile,
    )
    from medmassage.errors import InputError, MedmassageError
    from medmassage.store import db
    from medmassage.store.files import staged_write

    if folder.exists() and not folder.is_dir():
        raise InputError("output", str(folder), "--all-due writes into a folder; this is a file")
    with database(ctx) as conn:
        require_profile(conn)
        due = due_cases(conn, on)
        if not due:
            say("No progress reports are due.")
            return
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(
                "output", str(folder), f"cannot create this folder ({e.strerror})"
            ) from None
        written, failed, notes = [], [], []
        with _progress_bar(len(due)) as advance:
            for item in due:
                try:
                    period = check_period(
                        first, last, default_period(conn, item["case_id"], on), on
                    )
                    report = build_summary(conn, item["case_id"], period, on, **options)
                    data = render("summary", report.to_dict(), fmt)
                    path = folder / (file_stem(item["client"], item["case_id"], on) + SUFFIXES[fmt])
                    # As for one summary: in place before COMMIT, removed if that fails.
                    with staged_write(path, data) as place, db.transaction(conn):
                        if not preview:
                            record_report(conn, item["case_id"], on, period)
                        place()
                    notes += [f"case {item['case_id']}: {w}" for w in report.warnings]
                    written.append(
                        {
                            "client": item["client"],
                            "case": item["case_id"],
                            "payer": item["payer_type"],
                            "due": "; ".join(item["reasons"]),
                            "file": str(path),
                        }
                    )
                except MedmassageError as e:
                    failed.append(f"case {item['case_id']}: {e}")
                advance()
    columns = [
        Col("client", "Client"),
        Col("case", "Case", right=True),
        Col("payer", "Payer"),
        Col("due", "Why due"),
        Col("file", "File"),
    ]
    if written:
        print_rows(columns, written, "table", title=f"{len(written)} progress summaries written")
    for message in notes:
        warn(message)
    for message in failed:
        warn(message)
    if not preview and written:
        say("Recorded as sent today; their report-due clocks restart.")
    if failed:
        raise typer.Exit(1)


class _progress_bar:
    """A Rich progress bar on stderr when a person is watching; nothing in scripts."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.progress = None

    def __enter__(self):
        from medmassage.cli.common import _stderr_is_terminal

        if not _stderr_is_terminal():
            return lambda: None
        from rich.console import Console
        from rich.progress import Progress

        self.progress = Progress(console=Console(stderr=True), transient=True)
        self.progress.start()
        task = self.progress.add_task("Writing summaries", total=self.total)
        return lambda: self.progress.advance(task)

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()


@guard
def superbill(
    ctx: typer.Context,
    client: Annotated[
        str, typer.Argument(metavar="CLIENT", help="Client id or an unambiguous part of the name.")
    ],
    case: Annotated[
        str | None,
        typer.Option(
            "--case", metavar="ID", help="Only this case; default: all the client's cases."
        ),
    ] = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    fmt: DocFormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Superbill: itemised statement for FSA/HSA or self-pay reimbursement.

    Each date of service with CPT code, units, fee (from profile set --fee) and amount; the
    provider's NPI, license and tax ID; the client's address; place of service 11 (office); the
    diagnoses. Unsigned visits are marked † and warned about; profile fields it lacks are named
    on stderr and printed as "not on file". Default period: this month so far.
    """
    from medmassage.documents import render
    from medmassage.documents.summary import check_period
    from medmassage.documents.superbill import billed_cases, build_superbill, default_period, money
    from medmassage.record.clients import find_client
    from medmassage.rules.dates import today

    on = today()
    chosen = _format(fmt, output)
    first, last = _period_bounds(from_, to)
    if first is None and last is not None:
        first = last.replace(day=1)  # --to alone: that month up to that day
    period = check_period(first, last, default_period(on), on)
    with database(ctx) as conn:
        client_row = find_client(conn, client)
        case_ids = billed_cases(conn, client_row, case)
        bill = build_superbill(conn, client_row, case_ids, period, on)
    data = render("superbill", bill.to_dict(), chosen)
    _write_after_warnings(output, data, bill.warnings)
    if output is None:
        return
    say(f"Wrote {output}: superbill, {len(bill.lines)} line(s), total ${money(bill.total_cents)}")


def _write_after_warnings(output: Path | None, data: bytes, warnings: list[str]) -> None:
    """The document to `output` (or stdout), its warnings on stderr before it is in place: a
    target that cannot be written is refused first, alone, and nothing else is said."""
    from medmassage.store.files import staged_write

    if output is None:
        for message in warnings:
            warn(message)
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    with staged_write(output, data) as place:
        for message in warnings:
            warn(message)
        place()


@guard
def notes(
    ctx: typer.Context,
    client: Annotated[
        str, typer.Argument(metavar="CLIENT", help="Client id or an unambiguous part of the name.")
    ],
    case: CaseOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    fmt: DocFormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Chart notes of a period, for an adjuster (PDF, HTML, Markdown, JSON).

    Every visit's full SOAP note, techniques, regions, minutes, CPT lines (code, minutes,
    units), pain before and after, addenda with their dates, and its signature (therapist,
    credentials, license, NPI, date and time signed); a cover with the client, payer, claim or
    member id, diagnoses, period and number of visits. Unsigned drafts and void sessions are
    marked. Default period: the whole case up to today. Writing the file records nothing.
    """
    from medmassage.documents import render
    from medmassage.documents.chart_notes import build_notes, default_period
    from medmassage.documents.summary import check_period
    from medmassage.record.cases import case_with_history
    from medmassage.record.clients import find_client
    from medmassage.rules.dates import today

    on = today()
    chosen = _format(fmt, output)
    first, last = _period_bounds(from_, to)
    with database(ctx) as conn:
        client_row = find_client(conn, client)
        case_row = case_with_history(conn, client_row, case)
        period = check_period(first, last, default_period(conn, case_row["id"], on), on)
        chart = build_notes(conn, case_row["id"], period, on)
    data = render("notes", chart.to_dict(), chosen)
    totals = chart.totals()
    unsigned = [
        f"{totals['unsigned']} visit(s) in these notes are unsigned drafts (marked as such); "
        "sign them with: medmassage session sign ID"
    ]
    _write_after_warnings(output, data, unsigned if totals["unsigned"] else [])
    if output is None:
        return
    period_text = f"{period.first.isoformat()} to {period.last.isoformat()}"
    void = f", {totals['void']} void session(s)" if totals["void"] else ""
    say(
        f"Wrote {output}: chart notes, case {case_row['id']}, {period_text}, "
        f"{totals['visits']} visit(s){void}"
    )
