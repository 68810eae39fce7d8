"""How each record and report looks: column specs, the progress table, the session receipt.

Pure formatting over domain data; Rich is touched only through render.py helpers and only
when drawing on a terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from medmassage.cli.render import (
    Col,
    csv_text,
    is_terminal,
    json_text,
    markdown_table,
    on_screen,
    plain_table,
)
from medmassage.rules.catalog import MCID, TECHNIQUE_SPELLINGS
from medmassage.rules.textsafety import visible
from medmassage.store.files import write_output

if TYPE_CHECKING:  # chart pulls in the case and intake modules: only progress needs them
    from medmassage.documents.progress_report import Progress, VisitRow

# Short names for the progress table only (JSON and CSV carry full names): the first spelling
# the catalog lists for each technique, so the table prints what `catalog techniques` shows.
TECHNIQUE_ABBREVIATIONS = {name: spellings[0] for name, spellings in TECHNIQUE_SPELLINGS.items()}

CLIENT_COLUMNS = [
    Col("id", "ID", right=True),
    Col("name", "Name"),
    Col("dob", "Born"),
    Col("phone", "Phone"),
    Col("open_cases", "Open cases", right=True),
    Col("last_visit", "Last visit"),
    Col("status", "Status"),
]


def case_columns(today: str) -> list[Col]:
    """Case list columns; an Rx past its valid-until date says so in words, not only colour."""

    def rx(value: object) -> str:
        return f"{value} (expired)" if value and str(value) < today else str(value or "")

    return [
        Col("id", "Case", right=True),
        Col("client", "Client"),
        Col("payer_type", "Payer"),
        Col("payer_name", "Payer name"),
        Col("dx", "Dx"),
        Col("visits_used", "Used", right=True),
        Col("visits_authorized", "Auth", right=True),
        Col("rx_until", "Rx until", fmt=rx),
        Col("status", "Status"),
    ]


CASE_KEYS = [
    "id",
    "client_id",
    "client",
    "payer_type",
    "payer_name",
    "dx",
    "visits_used",
    "visits_authorized",
    "rx_until",
    "status",
    "authorization",
    "rx_state",
    "visits_on_claim",
]

SESSION_COLUMNS = [
    Col("id", "ID", right=True),
    Col("date", "Date"),
    Col("client", "Client"),
    Col("case_id", "Case", right=True),
    Col("visit", "Visit", right=True),
    Col("minutes", "Min", right=True),
    Col("pain", "Pain"),
    Col("units", "Units", right=True),
    Col("status", "Status"),
    Col("flags", "Flags"),
]
SESSION_KEYS = [
    "id",
    "date",
    "start_time",
    "client_id",
    "client",
    "case_id",
    "payer_type",
    "minutes",
    "pain_pre",
    "pain_post",
    "units",
    "status",
    "visit",
    "rx_flag",
    "over_authorized",
]


def side_short(region: str) -> str:
    return region.replace("-left", "-L").replace("-right", "-R")


def techniques_cell(items: list[tuple[str, int]]) -> str:
    return ", ".join(f"{TECHNIQUE_ABBREVIATIONS.get(name, name)} {m}" for name, m in items)


def cpt_cell(lines: list[tuple[str, int, int]]) -> str:
    return ", ".join(f"{code}×{units}" for code, _, units in lines)


def _visit_dict(v: VisitRow, numbers: dict[int, int]) -> dict:
    """A progress-table row; `numbers` maps authorization ids to their number in the case
    (shown only when the case has more than one)."""
    if v.authorization_id is None:
        auth = "—"
    else:
        auth = f"{v.authorization_visit}/{v.visits_allowed}"
        if len(numbers) > 1:
            auth = f"#{numbers[v.authorization_id]} {auth}"
    return {
        "visit": v.visit,
        "auth": auth,
        "date": v.day,
        "minutes": v.minutes,
        "techniques": techniques_cell(v.techniques),
        "regions": ", ".join(side_short(r) for r in v.regions),
        "pain": f"{v.pre} → {v.post}",
        "relief": f"{v.relief:+d}" if v.relief else "0",
        "cpt": cpt_cell(v.cpt) or "—",
        "flags": " · ".join(v.flags),
    }


PROGRESS_COLUMNS = [
    Col("visit", "#", right=True),
    Col("auth", "Auth", right=True, whole=True),
    Col("date", "Date", whole=True),
    Col("minutes", "Min", right=True),
    Col("techniques", "Techniques (min)"),
    Col("regions", "Regions"),
    Col("pain", "Pain pre→post"),
    Col("relief", "Relief", right=True),
    Col("cpt", "CPT × units"),
    Col("flags", "Flags"),
]
# Below this terminal width the table drops the relief column (pre→post shows it) and uses
# short headers, so an 80-column window keeps every date and CPT code whole.
WIDE_TERMINAL = 140
_NARROW_HEADERS = {"techniques": "Tech", "pain": "Pain", "cpt": "CPT"}
PROGRESS_COLUMNS_NARROW = [
    c._replace(header=_NARROW_HEADERS.get(c.key, c.header))
    for c in PROGRESS_COLUMNS
    if c.key != "relief"
]

PROGRESS_CSV_KEYS = [
    "visit",
    "session_id",
    "date",
    "minutes",
    "techniques",
    "regions",
    "pain_pre",
    "pain_post",
    "relief",
    "cpt",
    "units",
    "status",
    "rx_flag",
    "over_authorized",
    "authorization_id",
    "authorization_visit",
]


def _signed(number: float) -> str:
    return f"{number:+g}".replace("-", "−")


def progress_summary(p: Progress) -> list[tuple[str, str]]:
    """The lines under the table: baseline, current, change, MCID, relief, trend, measures…"""
    out: list[tuple[str, str]] = []
    if p.baseline is not None:
        out.append(("Baseline pain", f"{p.baseline}/10 ({p.baseline_source})"))
    if p.current is not None:
        out.append(("Current pain", f"{p.current}/10 (pre-session, visit {p.visits[-1].visit})"))
    pc = p.pain_change
    if pc is not None:
        rule = MCID["nprs"]
        pct = f" ({_signed(-pc.percent)} %)" if pc.percent else ""
        verdict = "MCID met" if pc.mcid_met else "MCID not met"
        out.append(
            (
                "Change",
                f"{_signed(-pc.improvement) if pc.improvement else '0'} "
                f"point{'' if abs(pc.improvement) == 1 else 's'}{pct} — {verdict} "
                f"(needs ≥ {rule.points:g} points or ≥ {rule.percent:g} % better)",
            )
        )
    if p.average_relief is not None:
        out.append(("Average relief", f"{p.average_relief:g} points per visit (pre − post)"))
    if p.trend:
        out.append(("Trend (pre-pain)", f"{p.trend}  (0–10 scale, oldest first)"))
    for m in p.measures:
        name = m.measure.upper() + (f' "{m.activity}"' if m.activity else "")
        if m.measure == "nprs" and m.baseline_date == m.latest_date:
            continue  # the intake pain alone: already the baseline line above
        if m.baseline_date == m.latest_date:
            out.append((name, f"{m.baseline:g} on {m.baseline_date} (no re-assessment yet)"))
            continue
        verdict = "met" if m.change.mcid_met else "not met"
        out.append(
            (
                name,
                f"{m.baseline:g} → {m.latest:g} ({m.baseline_date} → {m.latest_date}); "
                f"MCID {MCID[m.measure].points:g}: {verdict}",
            )
        )
    for g in p.goals:
        target = f" — target {g['target']}" if g.get("target") else ""
        by = f" by {g['target_date']}" if g.get("target_date") else ""
        out.append(("Goal", f"{g['text']}{target}{by} ({g['status']})"))
    out.extend(authorization_lines(p))
    out.append(("Progress report", f"{p.report.describe()} [rule: {p.report_rule}]"))
    if p.voided:
        out.append(("Voided", f"{p.voided} voided session(s) not shown or counted"))
    return out


def authorization_lines(p: Progress) -> list[tuple[str, str]]:
    """Visits used and the prescription, under the authorization in force; every
    authorization when there were renewals."""
    a = p.authorization
    used, allowed = p.visits_used, a.visits
    over = " — OVER AUTHORIZED" if used > allowed else ""
    many = len(p.coverage.authorizations) > 1
    under = f" under {a.label}" if many else ""
    claim = f"{len(p.visits)} on the claim; " if many else ""
    out = [
        (
            "Visits",
            f"{claim}{used} of {allowed} authorized{under} ({p.visits_remaining} remaining){over}",
        )
    ]
    state = p.authorization_state
    days_left = (a.valid_until - p.on).days
    if state == "in force":
        rx = f"{a.valid_until.isoformat()} ({days_left} days left)"
    elif state == "not yet valid":
        rx = f"not yet valid: from {a.valid_from.isoformat()} to {a.valid_until.isoformat()}"
    else:
        rx = f"{a.valid_until.isoformat()} — EXPIRED {-days_left} days ago"
        found = p.coverage.in_force(p.on)
        if found is not None and found.next is not None:
            rx += f"; the next authorization starts {found.next.valid_from.isoformat()}"
    out.append(("Rx valid until", rx))
    if many:
        used_by = p.coverage.used
        for x in p.coverage.authorizations:
            number = f" (auth # {x.auth_number})" if x.auth_number else ""
            mark = " — in force" if x.id == a.id and state == "in force" else ""
            out.append(
                (
                    f"Authorization {x.number}",
                    f"{x.span}, {x.visits} visits ({used_by.get(x.id, 0)} used), "
                    f"written {x.written.isoformat()} by {x.prescriber_line}{number}{mark}",
                )
            )
    return out


def progress_title(p: Progress) -> str:
    payer = p.case["payer_type"] + (f" ({p.case['payer_name']})" if p.case["payer_name"] else "")
    dx = ", ".join(d["code"] for d in p.diagnoses)
    return (
        f"{p.client['name']} — case {p.case['id']} · {payer} · dx {dx} · "
        f"{p.case['units_rule'].upper()} units"
        + (" · CLOSED" if p.case["status"] == "closed" else "")
    )


def render_progress(p: Progress, fmt: str, output: Path | None, last: int | None) -> None:
    if fmt == "json":
        write_output(on_screen(json_text(p.to_dict()), output, as_json=True), output)
        return
    if fmt == "csv":
        rows = []
        for v in p.visits:
            rows.append(
                {
                    "visit": v.visit,
                    "session_id": v.session_id,
                    "date": v.day,
                    "minutes": v.minutes,
                    "techniques": [f"{n}={m}" for n, m in v.techniques],
                    "regions": v.regions,
                    "pain_pre": v.pre,
                    "pain_post": v.post,
                    "relief": v.relief,
                    "cpt": [f"{c}={u}" for c, _, u in v.cpt],
                    "units": v.units,
                    "status": v.status,
                    "rx_flag": v.rx_flag,
                    "over_authorized": v.over_authorized,
                    "authorization_id": v.authorization_id,
                    "authorization_visit": v.authorization_visit,
                }
            )
        write_output(on_screen(csv_text(rows, PROGRESS_CSV_KEYS), output), output)
        return
    visits = p.visits if last is None else p.visits[-last:]
    hidden = len(p.visits) - len(visits)
    numbers = {a.id: a.number for a in p.coverage.authorizations}
    rows = [_visit_dict(v, numbers) for v in visits]
    # The Auth column (place under each authorization) says more than the visit number only
    # when the claim has been renewed.
    many = len(numbers) > 1
    columns = PROGRESS_COLUMNS if many else [c for c in PROGRESS_COLUMNS if c.key != "auth"]
    # Names, goals, PSFS activities and prescribers are stored text: escaped once, for the
    # terminal, plain text and Markdown alike (the table's cells are escaped by render).
    summary = [(visible(k), visible(v)) for k, v in progress_summary(p)]
    used = sorted({n for v in visits for n, _ in v.techniques if n in TECHNIQUE_ABBREVIATIONS})
    legend = ", ".join(f"{TECHNIQUE_ABBREVIATIONS[n]} = {n}" for n in used)
    note = f"… {hidden} earlier visit(s) not shown; --all shows every visit" if hidden else ""
    title = visible(progress_title(p))
    if fmt == "md":
        lines = [f"## {title}", ""]
        if note:
            lines += [f"_{note}_", ""]
        lines += [markdown_table(columns, rows), ""]
        if legend:
            lines += [f"_{legend}_", ""]
        lines += [f"- **{k}:** {v}" for k, v in summary]
        write_output("\n".join(lines), output)
        return
    if output is None and is_terminal():
        _rich_progress(title, rows, summary, legend, note, many)
        return
    size = max(len(k) for k, _ in summary)
    parts = [title]
    if note:
        parts.append(note)
    parts.append(plain_table(columns, rows) if rows else "No visits logged yet.")
    if legend:
        parts.append(legend)
    parts.append("\n".join(f"{k.ljust(size)}  {v}" for k, v in summary))
    write_output("\n\n".join(parts), output)


def _rich_progress(
    title: str,
    rows: list[dict],
    summary: list[tuple[str, str]],
    legend: str,
    note: str,
    many: bool,
) -> None:
    from rich.table import Table
    from rich.text import Text

    from medmassage.cli.render import console, rich_table

    con = console()
    con.print(Text(title, style="bold"))
    if note:
        con.print(Text(note, style="dim"))
    if rows:
        columns = PROGRESS_COLUMNS if con.width >= WIDE_TERMINAL else PROGRESS_COLUMNS_NARROW
        if not many:
            columns = [c for c in columns if c.key != "auth"]
        # A renewed claim's Auth column needs the room cell borders would take on 80 columns.
        con.print(rich_table(columns, rows, compact=many and con.width < WIDE_TERMINAL))
    else:
        con.print("No visits logged yet.")
    if legend:
        con.print(Text(legend, style="dim"))
    con.print()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in summary:
        style = ""
        if "MCID met" in value or value.endswith(": met"):
            style = "green"
        elif (
            "EXPIRED" in value
            or "OVER AUTHORIZED" in value
            or value.startswith(("due now", "not yet valid"))
        ):
            style = "red"
        grid.add_row(Text(label), Text(value, style=style))  # Text: a label is never markup
    con.print(grid)
