"""`report due` and `report monthly` count each case's visits in SQL (reports.case_states);
`progress` and `session log` apply the same rule to the list of the case's visit dates
(cases.report_status). Hypothesis writes random histories through the real CLI — visits, late
entries dated inside a reported period, voided visits, progress reports written on various
days, renewals (some backdated, some leaving gaps) — and checks that the two always agree:
report due or not, with the same reasons, authorizations used up on the same visit, and the
visits over an authorization or outside them all counted alike (reports count them per
authorization in SQL, progress derives each visit's standing with coverage.cover).
"""

from __future__ import annotations

import json
import tempfile
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Cli

START = date(2026, 9, 1)
CLIENTS = (  # payer, visits authorized: the rules differ (visits and days per payer)
    ("Ann Health", "health", "8"),
    ("Bob Comp", "workers-comp", "5"),
    ("Cleo Auto", "auto-pip", "12"),
)

# (what, which client, days after the previous event, days back a visit is dated): mostly
# visits, some on the day of a report or dated back into a reported period (late entries).
event = st.tuples(
    st.sampled_from(["visit"] * 6 + ["report"] * 3 + ["void", "renew"]),
    st.integers(0, 2),
    st.sampled_from([0, 0, 0, 1, 1, 2, 3, 5, 9]),
    st.sampled_from([0, 0, 0, 0, 1, 2, 6]),
)


def build(cli: Cli, events: list[tuple[str, int, int, int]], folder: Path) -> date:
    cli(
        "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
        "--license-number", "MA60512345", "--license-state", "WA", "--npi", "1234567893",
        # tight rules, so that short histories cross them both ways
        "--report-every", "health=3/10", "--report-every", "workers-comp=2/-",
        "--report-every", "auto-pip=-/7",
    )  # fmt: skip
    for name, payer, visits in CLIENTS:
        cli("client", "add", name)
        extra = ["--injury-date", "2026-08-20", "--claim", "C-1"] if payer != "health" else []
        cli(
            "case", "open", name, "--payer", payer, "--dx", "M54.2", "--referrer", "Dr Ames",
            "--rx-date", START.isoformat(), "--rx-until", "2026-12-31", "--visits", visits,
            "--frequency", "3x/week", *extra,
        )  # fmt: skip
    day = START
    logged: dict[int, list[int]] = {0: [], 1: [], 2: []}
    for n, (kind, who, wait, back) in enumerate(events):
        day += timedelta(days=wait)
        name = CLIENTS[who][0]
        on = ("--today", day.isoformat())
        if kind == "visit":
            dated = max(day - timedelta(days=back), START)
            result = cli(
                *on, "session", "log", name, "--date", f"{dated} {8 + n % 10:02d}:00",
                "--pre", "6", "--post", "3", "--technique", "swedish=30", "--region", "neck",
                "--allow-expired", "authorized by phone",
            )  # fmt: skip
            logged[who].append(json_id(cli, name, day))
            assert result.exit_code == 0
        elif kind == "void" and logged[who]:
            cli(*on, "session", "void", str(logged[who].pop(0)), "--reason", "entered in error")
        elif kind == "renew":  # backdated by `back` days, 2 to 6 visits, 20 days long
            start = max(day - timedelta(days=back), START)
            renewed = cli(*on, "case", "renew", str(who + 1), "--rx-date", day.isoformat(),
                          "--from", start.isoformat(), "--rx-until",
                          (start + timedelta(days=20)).isoformat(), "--visits", str(2 + n % 5),
                          ok=False)  # fmt: skip
            assert renewed.exit_code in (0, 2), renewed.stderr  # 2: overlaps one of that day
        elif kind == "report":  # the summary's default period: since the last one, to today
            out = folder / f"report-{n}.json"
            result = cli(*on, "summary", name, "-o", str(out), ok=False)
            assert result.exit_code == 0 or "no visits" in result.stderr, result.stderr
    return day


def json_id(cli: Cli, name: str, day: date) -> int:
    rows = json.loads(cli("--today", day.isoformat(), "session", "list", name, "-f", "json").stdout)
    return max(r["id"] for r in rows)


def due_from_progress(cli: Cli, on: date) -> tuple[dict, dict]:
    reports, authorizations = {}, {}
    for name, _, _ in CLIENTS:
        d = json.loads(cli("--today", on.isoformat(), "progress", name, "-f", "json").stdout)
        p = d["progress_report"]
        if p["due"]:
            reports[name] = p["reasons"]
        a = d["authorization"]
        if a["state"] == "in force" and a["visits_used"] >= a["visits_authorized"]:
            authorizations[name] = a["visits_used"]
    return reports, authorizations


def states_agree(db: Path, on: date) -> None:
    """Every field of the rule's answer, not only what the commands print."""
    from medmassage.documents.reports import case_states
    from medmassage.record.authorizations import case_coverage
    from medmassage.record.cases import report_status
    from medmassage.store.db import connect

    conn, _ = connect(db)
    days = {r[0]: date.fromisoformat(r[1]) for r in conn.execute("SELECT id, date FROM session")}

    def day_of(standing) -> date:
        return days[standing.session_id]

    try:
        for s in case_states(conn, on, dated=True):
            case = conn.execute("SELECT * FROM care_case WHERE id = ?", (s.case_id,)).fetchone()
            dates = [
                date.fromisoformat(r[0])
                for r in conn.execute(
                    "SELECT date FROM session WHERE case_id = ? AND status != 'void' AND date <= ?",
                    (s.case_id, on.isoformat()),
                )
            ]
            assert s.report == report_status(conn, case, dates, on)[0], (s.client, on)
            assert s.visits_on_claim == len(dates)
            # The SQL counts per authorization agree with each visit's derived standing.
            visits = [v for v in case_coverage(conn, s.case_id).standings if day_of(v) <= on]
            assert s.over == sum(v.over_authorized for v in visits), (s.client, on)
            assert s.outside == sum(v.authorization_id is None for v in visits), (s.client, on)
            assert s.visits_used == sum(v.authorization_id == s.authorization.id for v in visits)
    finally:
        conn.close()


def due_from_report(cli: Cli, on: date) -> tuple[dict, dict]:
    items = json.loads(cli("--today", on.isoformat(), "report", "due", "-f", "json").stdout)
    reports = {i["client"]: i["detail"].split("; ") for i in items if i["kind"] == "report-due"}
    authorizations = {
        i["client"]: int(i["detail"].split(" of ")[0])
        for i in items
        if i["kind"] == "authorization"
    }
    return reports, authorizations


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=st.lists(event, min_size=10, max_size=40))
def test_report_due_agrees_with_progress_whatever_the_history(events):
    with tempfile.TemporaryDirectory() as folder:
        cli = Cli(Path(folder) / "practice.db")
        last = build(cli, events, Path(folder))
        for on in (last, last + timedelta(days=5), last + timedelta(days=12)):
            states_agree(cli.db, on)
            assert due_from_report(cli, on) == due_from_progress(cli, on), on
            monthly = json.loads(
                cli("--today", on.isoformat(), "report", "monthly", "-f", "json").stdout
            )
            assert monthly["progress_reports_due"] == len(due_from_progress(cli, on)[0])
