"""`medmassage report …`: monthly, period and due reports for people and scripts (SPEC §7.3).

Table on a terminal, JSON when stdout is not a terminal; CSV and Markdown on request; `-o FILE`
infers the format from its extension. The keys are documented in medmassage/documents/reports.py.
Exit codes: 0 done (also when items are due), 1 runtime problem, 2 bad input or usage,
3 `report due --fail-if-due` listed something.
"""

from typing import Annotated

import typer

from medmassage.cli.common import OutputOpt, database, guard, say

app = typer.Typer(no_args_is_help=True)

REPORT_FORMATS = ("table", "json", "csv", "md")
EXIT_DUE = 3  # `report due --fail-if-due` when anything is listed

ReportFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="table, json, csv or md. Default: table on a terminal, json otherwise; "
        "inferred from the -o file's extension.",
        show_default=False,
    ),
]


def _format(fmt, output) -> str:
    from medmassage.cli.render import is_terminal, resolve_format

    return resolve_format(fmt, output, REPORT_FORMATS, default="table" if is_terminal() else "json")


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _print_period(report, fmt: str, output) -> None:
    from medmassage.cli.render import print_record
    from medmassage.documents.reports import RX_WINDOW_DAYS
    from medmassage.rules.catalog import PAYER_TYPES

    r = report
    data = r.to_dict()
    units = ", ".join(f"{code} × {n}" for code, n in sorted(r.units_by_cpt.items()) if n)
    payers = [
        f"{p} {_n(r.visits_by_payer[p], 'visit')}, {_n(r.units_by_payer.get(p, 0), 'unit')}"
        for p in PAYER_TYPES
        if r.visits_by_payer.get(p)
    ]
    pain = None
    if r.visits:
        pain = (
            f"{r.average_pain_pre} before → {r.average_pain_post} after (relief {r.average_relief})"
        )
    on = f"on {data['period_to']}"
    pairs = [
        ("Period", f"{data['period_from']} to {data['period_to']}"),
        ("Visits", r.visits),
        ("Clients seen", r.clients_seen),
        ("New clients", r.new_clients),
        ("New cases", r.new_cases),
        ("Clients discharged", r.clients_discharged),
        ("Cases closed", r.cases_closed),
        ("Minutes", r.minutes),
        ("Units", f"{r.units} ({units})" if units else r.units),
        ("By payer", "; ".join(payers) or "no visits"),
        ("Average pain", pain),
        ("Reached MCID", f"{r.clients_reaching_mcid} of {_n(r.clients_seen, 'client')} (NPRS)"),
        ("Summaries written", r.summaries_written),
        ("Reports due", f"{r.progress_reports_due} {on}"),
        ("Rx expiring", f"{r.rx_expiring} within {RX_WINDOW_DAYS} days of {data['period_to']}"),
        ("Rx expired", f"{r.rx_expired} {on}"),
        ("Over authorized", f"{_n(r.cases_over_authorized, 'case')} {on}"),
    ]
    print_record(pairs, data, fmt, output, title="Practice report")


@app.command("monthly")
@guard
def monthly(
    ctx: typer.Context,
    month: Annotated[
        str | None,
        typer.Option(
            metavar="MONTH",
            help="2026-10, 'this month' or 'last month'. Default: this month, up to today.",
            show_default=False,
        ),
    ] = None,
    fmt: ReportFormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Monthly practice report: visits, clients, units by CPT and payer, pain, MCID, what is due.

    Default: the current calendar month up to today. Counts of what is due, expiring or over
    authorized are as of the period's last day.
    """
    from medmassage.documents.reports import month_period, period_report
    from medmassage.rules.dates import today

    chosen = _format(fmt, output)
    first, last = month_period(month, today())
    with database(ctx) as conn:
        report = period_report(conn, first, last)
    _print_period(report, chosen, output)


@app.command("period")
@guard
def period(
    ctx: typer.Context,
    from_: Annotated[
        str,
        typer.Option(
            "--from", metavar="DATE", help="First day (a date, or a month: its first day)."
        ),
    ],
    to: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Last day (a date, or a month: its last day). Default: today.",
            show_default=False,
        ),
    ] = None,
    fmt: ReportFormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Practice report for any period: the same keys as `report monthly`.

    A period still running ends today. Counts of what is due, expiring or over authorized are
    as of the period's last day.
    """
    from medmassage.documents.reports import explicit_period, period_report
    from medmassage.rules.dates import today

    chosen = _format(fmt, output)
    first, last = explicit_period(from_, to, today())
    with database(ctx) as conn:
        report = period_report(conn, first, last)
    _print_period(report, chosen, output)


DUE_COLUMNS_SPEC = [
    ("client", "Client", False),
    ("case_id", "Case", True),
    ("payer_type", "Payer", False),
    ("kind", "Due", False),
    ("date", "Date", False),
    ("detail", "Detail", False),
]


@app.command("due")
@guard
def due(
    ctx: typer.Context,
    within: Annotated[
        str | None,
        typer.Option(
            metavar="DAYS",
            help="List prescriptions valid for at most this many more days (default 14).",
            show_default=False,
        ),
    ] = None,
    fail_if_due: Annotated[
        bool,
        typer.Option("--fail-if-due", help="Exit with code 3 when anything is listed."),
    ] = False,
    fmt: ReportFormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """What needs doing on open cases: reports due, prescriptions expiring, visits used up.

    Lists progress reports due, prescriptions expired or valid for at most --within more days,
    and cases whose authorized visits are all used (or exceeded), as of today.

    Exit code 0 even when items are listed; with --fail-if-due, 3 when anything is listed.
    """
    from medmassage.cli.render import Col, print_rows
    from medmassage.documents.reports import DUE_KEYS, due_items, parse_within
    from medmassage.rules.dates import today

    chosen = _format(fmt, output)
    days = parse_within(within)
    with database(ctx) as conn:
        items = due_items(conn, today(), days)
    rows = [i.to_dict() for i in items]
    columns = [Col(key, header, right) for key, header, right in DUE_COLUMNS_SPEC]
    if not rows and chosen != "table":
        say("Nothing is due.")  # the table format says so itself
    print_rows(
        columns,
        rows,
        chosen,
        output,
        title=f"Due on {today().isoformat()}",
        keys=DUE_KEYS,
        empty="Nothing is due.",
    )
    if rows and fail_if_due:
        raise typer.Exit(EXIT_DUE)
