"""`medmassage report monthly|period|due`: exact numbers, through the real CLI and a real database.

Today is 2026-11-27 (a Friday). The practice, built once for the module (reports only read it):

- Ann Health (1), health case 1: Rx 10-01 → 12-31, 10 visits, intake pain 7 on 10-02. Visits
  10-05 7/4, 10-19 6/3, 11-02 5/3, 11-16 4/2 (myofascial-release=30 swedish=15: 45 min,
  97140×2 + 97124×1), and a voided 10-12 9/1 (swedish=50). Her summary is written today.
- Bob Comp (2), workers-comp case 2: Rx 10-10 → 12-05, 3 visits. Visits 10-13 6/4, 10-27 6/3,
  11-10 5/3, 11-24 5/2 (the 4th, over authorization, with --allow-expired), all
  neuromuscular-therapy=30 stretching=10 (40 min, 97140×2 + 97110×1).
- Cleo Self (3), self-pay case 3: Rx 09-01 → 11-10, 12 visits. Visits 09-24 8/6, 10-08 8/5,
  10-22 5/3 (swedish=60: 97124×4). Discharged today (case closed today).
- Dee New (4), health case 4: Rx 11-20 → 12-10, 2 visits. Visits 11-21 3/1 (trigger-point=20
  hot-cold-pack=10: 97140×1 + 97010×1, 30 min), 11-25 2/1 (trigger-point=20: 97140×1).

Created/opened stamps are set directly (the CLI stamps the real clock): Ann 10-01, Bob 10-10,
Cleo 09-30 23:59 at -07:00 (September locally, October in UTC), Dee 11-20.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import stat
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import TODAY, Cli, run_subprocess

PERIOD_KEYS = [
    "period_from", "period_to", "visits", "clients_seen", "new_clients", "new_cases",
    "clients_discharged", "cases_closed", "minutes", "units", "units_97010", "units_97110",
    "units_97112", "units_97124", "units_97140", "visits_health", "units_health",
    "visits_workers_comp", "units_workers_comp", "visits_auto_pip", "units_auto_pip",
    "visits_fsa_hsa", "units_fsa_hsa", "visits_self_pay", "units_self_pay", "average_pain_pre",
    "average_pain_post", "average_relief", "clients_reaching_mcid", "summaries_written",
    "progress_reports_due", "rx_expiring", "rx_expired", "cases_over_authorized",
]  # fmt: skip
DUE_KEYS = ["kind", "client_id", "client", "case_id", "payer_type", "date", "detail"]

ZERO_PAYERS = {
    "visits_auto_pip": 0, "units_auto_pip": 0, "visits_fsa_hsa": 0, "units_fsa_hsa": 0,
}  # fmt: skip
OCTOBER = {
    "period_from": "2026-10-01", "period_to": "2026-10-31",
    "visits": 6, "clients_seen": 3, "new_clients": 2, "new_cases": 2,
    "clients_discharged": 0, "cases_closed": 0, "minutes": 290,
    "units": 20, "units_97010": 0, "units_97110": 2, "units_97112": 0, "units_97124": 10,
    "units_97140": 8,
    "visits_health": 2, "units_health": 6, "visits_workers_comp": 2, "units_workers_comp": 6,
    **ZERO_PAYERS, "visits_self_pay": 2, "units_self_pay": 8,
    "average_pain_pre": 6.3, "average_pain_post": 3.7, "average_relief": 2.7,
    "clients_reaching_mcid": 1,  # Cleo 8 → 5; Ann 7 → 6 and Bob 6 → 6 do not
    "summaries_written": 0,
    "progress_reports_due": 1,  # Cleo: 37 days since her first visit on 09-24
    "rx_expiring": 1,  # Cleo's Rx ends 11-10, 10 days after 10-31
    "rx_expired": 0, "cases_over_authorized": 0,
}  # fmt: skip
NOVEMBER = {
    "period_from": "2026-11-01", "period_to": TODAY,  # a running month ends today
    "visits": 6, "clients_seen": 3, "new_clients": 1, "new_cases": 1,
    "clients_discharged": 1, "cases_closed": 1, "minutes": 220,
    "units": 15, "units_97010": 1, "units_97110": 2, "units_97112": 0, "units_97124": 2,
    "units_97140": 10,
    "visits_health": 4, "units_health": 9, "visits_workers_comp": 2, "units_workers_comp": 6,
    **ZERO_PAYERS, "visits_self_pay": 0, "units_self_pay": 0,
    "average_pain_pre": 4.0, "average_pain_post": 2.0, "average_relief": 2.0,
    "clients_reaching_mcid": 2,  # Ann 7 → 4 (3 points), Dee 3 → 2 (33 %); not Bob 6 → 5
    "summaries_written": 1,
    "progress_reports_due": 1,  # Bob; Ann's summary today restarted her clock
    "rx_expiring": 2,  # Bob 12-05, Dee 12-10
    "rx_expired": 0,  # Cleo's expired Rx belongs to a case closed today
    "cases_over_authorized": 1,  # Bob, 4 of 3
}  # fmt: skip
MID_OCT_TO_MID_NOV = {
    "period_from": "2026-10-15", "period_to": "2026-11-15",
    "visits": 5, "clients_seen": 3, "new_clients": 0, "new_cases": 0,
    "clients_discharged": 0, "cases_closed": 0, "minutes": 230,
    "units": 16, "units_97010": 0, "units_97110": 2, "units_97112": 0, "units_97124": 6,
    "units_97140": 8,
    "visits_health": 2, "units_health": 6, "visits_workers_comp": 2, "units_workers_comp": 6,
    **ZERO_PAYERS, "visits_self_pay": 1, "units_self_pay": 4,
    "average_pain_pre": 5.4, "average_pain_post": 3.0, "average_relief": 2.4,
    "clients_reaching_mcid": 2,  # Ann 7 → 5 by 11-15, Cleo 8 → 5
    "summaries_written": 0,
    "progress_reports_due": 3,  # on 11-15 nobody had a report yet: Ann, Bob, Cleo were due
    "rx_expiring": 0, "rx_expired": 1,  # Cleo's Rx ended 11-10, her case still open on 11-15
    "cases_over_authorized": 0,  # Bob 3 of 3 on 11-15
}  # fmt: skip

BOB = {"client_id": 2, "client": "Bob Comp", "case_id": 2, "payer_type": "workers-comp"}
DEE = {"client_id": 4, "client": "Dee New", "case_id": 4, "payer_type": "health"}
DUE_TODAY = [
    {"kind": "report-due", **BOB, "date": "2026-11-12", "detail": "45 days since start of care"},
    {"kind": "rx-expiring", **BOB, "date": "2026-12-05",
     "detail": "prescription valid until 2026-12-05: 8 days left"},
    {"kind": "authorization", **BOB, "date": "2026-11-10",
     "detail": "4 of 3 authorized visits used: 1 over"},
    {"kind": "rx-expiring", **DEE, "date": "2026-12-10",
     "detail": "prescription valid until 2026-12-10: 13 days left"},
    {"kind": "authorization", **DEE, "date": "2026-11-25",
     "detail": "2 of 2 authorized visits used: none left"},
]  # fmt: skip

STAMPS = {
    1: "2026-10-01T10:00:00-07:00",
    2: "2026-10-10T08:00:00-07:00",
    3: "2026-09-30T23:59:00-07:00",
    4: "2026-11-20T09:00:00-08:00",
}


def log(cli: Cli, client: str, day: str, pre: int, post: int, *tech: str, extra=()) -> int:
    args = ["session", "log", client, "--date", day, "--pre", str(pre), "--post", str(post)]
    for t in tech:
        args += ["--technique", t]
    result = cli(*args, "--region", "neck", "--sign", *extra)
    return int(re.match(r"Session (\d+) saved", result.stdout).group(1))


def open_case(cli: Cli, client: str, payer: str, rx: str, until: str, visits: int, *extra: str):
    cli(
        "case", "open", client, "--payer", payer, "--dx", "M54.2", "--referrer", "Dr Ames",
        "--rx-date", rx, "--rx-until", until, "--visits", str(visits), *extra,
    )  # fmt: skip


def build_practice(cli: Cli, folder: Path) -> None:
    cli(
        "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
        "--license-number", "MA60512345", "--license-state", "WA", "--npi", "1234567893",
        "--address", "412 Cedar St, Olympia WA 98501",
    )  # fmt: skip
    for name in ("Ann Health", "Bob Comp", "Cleo Self", "Dee New"):
        cli("client", "add", name)
    open_case(cli, "Ann", "health", "2026-10-01", "2026-12-31", 10)
    open_case(
        cli, "Bob", "workers-comp", "2026-10-10", "2026-12-05", 3, "--injury-date", "2026-10-08"
    )
    open_case(cli, "Cleo", "self-pay", "2026-09-01", "2026-11-10", 12)
    open_case(cli, "Dee", "health", "2026-11-20", "2026-12-10", 2)
    cli(
        "intake", "Ann", "--complaint", "Neck pain", "--pain", "7", "--region", "neck",
        "--date", "2026-10-02",
    )  # fmt: skip
    ann = ("myofascial-release=30", "swedish=15")
    log(cli, "Ann", "2026-10-05", 7, 4, *ann)
    voided = log(cli, "Ann", "2026-10-12", 9, 1, "swedish=50")
    cli("session", "void", str(voided), "--reason", "Entered for the wrong client")
    log(cli, "Ann", "2026-10-19", 6, 3, *ann)
    log(cli, "Ann", "2026-11-02", 5, 3, *ann)
    log(cli, "Ann", "2026-11-16", 4, 2, *ann)
    bob = ("neuromuscular-therapy=30", "stretching=10")
    log(cli, "Bob", "2026-10-13", 6, 4, *bob)
    log(cli, "Bob", "2026-10-27", 6, 3, *bob)
    log(cli, "Bob", "2026-11-10", 5, 3, *bob)
    log(cli, "Bob", "2026-11-24", 5, 2, *bob, extra=("--allow-expired", "Adjuster approved"))
    log(cli, "Cleo", "2026-09-24", 8, 6, "swedish=60")
    log(cli, "Cleo", "2026-10-08", 8, 5, "swedish=60")
    log(cli, "Cleo", "2026-10-22", 5, 3, "swedish=60")
    log(cli, "Dee", "2026-11-21", 3, 1, "trigger-point=20", "hot-cold-pack=10")
    log(cli, "Dee", "2026-11-25", 2, 1, "trigger-point=20")
    cli("summary", "Ann", "-o", str(folder / "ann-summary.json"))
    cli("client", "discharge", "Cleo", "--reason", "Goals met")
    conn = sqlite3.connect(cli.db)
    with conn:
        for row_id, stamp in STAMPS.items():
            conn.execute("UPDATE client SET created = ? WHERE id = ?", (stamp, row_id))
            conn.execute("UPDATE care_case SET opened = ? WHERE id = ?", (stamp, row_id))
    conn.close()


@pytest.fixture(scope="module")
def practice_db(tmp_path_factory: pytest.TempPathFactory, icd_cache: Path) -> Path:
    folder = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDMASSAGE_TODAY", TODAY)
        mp.setenv("MEDMASSAGE_CACHE_DIR", str(icd_cache))
        mp.setenv("HOME", str(folder / "home"))
        mp.setenv("XDG_DATA_HOME", str(folder / "home" / ".local" / "share"))
        for name in ("MEDMASSAGE_DB", "FORCE_COLOR", "MEDMASSAGE_DEBUG", "EDITOR", "VISUAL"):
            mp.delenv(name, raising=False)
        db = folder / "practice.db"
        build_practice(Cli(db), folder)
    return db


@pytest.fixture
def rep(practice_db: Path) -> Cli:
    """The CLI on the shared practice (reports only read it)."""
    return Cli(practice_db)


def as_json(cli: Cli, *args: str):
    return json.loads(cli("report", *args, "-f", "json").stdout)


def as_csv(cli: Cli, *args: str) -> tuple[list[str], list[dict]]:
    text = cli("report", *args, "-f", "csv").stdout
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def csv_row(expected: dict) -> dict:
    """How a report row reads back from CSV: every value as text, None as empty."""
    return {k: "" if v is None else str(v) for k, v in expected.items()}


# --- report monthly / period ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["monthly", "--month", "2026-10"], OCTOBER),
        (["monthly", "--month", "last month"], OCTOBER),
        (["monthly", "--month", "2026-11"], NOVEMBER),
        (["monthly", "--month", "this month"], NOVEMBER),
        (["monthly"], NOVEMBER),
        (["period", "--from", "2026-10-15", "--to", "2026-11-15"], MID_OCT_TO_MID_NOV),
        (["period", "--from", "2026-10", "--to", "2026-10"], OCTOBER),
        (["period", "--from", "2026-11-01"], NOVEMBER),  # --to defaults to today
        (["period", "--from", "2026-11-01", "--to", "2026-12-31"], NOVEMBER),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_period_report_json_has_exact_numbers_and_keys(rep, args, expected):
    data = as_json(rep, *args)
    assert list(data) == PERIOD_KEYS
    assert data == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["monthly", "--month", "2026-10"], OCTOBER),
        (["monthly", "--month", "2026-11"], NOVEMBER),
        (["period", "--from", "2026-10-15", "--to", "2026-11-15"], MID_OCT_TO_MID_NOV),
    ],
)
def test_period_report_csv_is_a_header_and_one_row(rep, args, expected):
    header, rows = as_csv(rep, *args)
    assert header == PERIOD_KEYS
    assert rows == [csv_row(expected)]


def test_csv_header_line_is_exact(rep):
    first_line = rep("report", "monthly", "--month", "2026-10", "-f", "csv").stdout.split("\n")[0]
    assert first_line == ",".join(PERIOD_KEYS)


def test_a_period_without_visits_has_null_averages(rep):
    data = as_json(rep, "period", "--from", "2026-08-01", "--to", "2026-08-31")
    assert data["visits"] == data["minutes"] == data["units"] == data["clients_seen"] == 0
    assert data["average_pain_pre"] is data["average_relief"] is None
    _, rows = as_csv(rep, "period", "--from", "2026-08-01", "--to", "2026-08-31")
    assert rows[0]["average_pain_pre"] == rows[0]["average_relief"] == ""


def test_monthly_table_for_people(rep):
    out = rep("report", "monthly", "--month", "2026-10", "-f", "table").stdout
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert lines[0] == "Practice report"
    for expected in (
        "Period 2026-10-01 to 2026-10-31",
        "Visits 6",
        "Clients discharged 0",
        "Units 20 (97110 × 2, 97124 × 10, 97140 × 8)",
        "By payer health 2 visits, 6 units; workers-comp 2 visits, 6 units; "
        "self-pay 2 visits, 8 units",
        "Average pain 6.3 before → 3.7 after (relief 2.7)",
        "Reached MCID 1 of 3 clients (NPRS)",
        "Reports due 1 on 2026-10-31",
        "Rx expiring 1 within 14 days of 2026-10-31",
        "Over authorized 0 cases on 2026-10-31",
    ):
        assert expected in lines, (expected, lines)


def test_output_file_infers_the_format_and_is_owner_only(rep, tmp_path):
    target = tmp_path / "october.csv"
    result = rep("report", "monthly", "--month", "2026-10", "-o", str(target))
    assert result.stdout == ""
    assert target.read_text().splitlines()[0] == ",".join(PERIOD_KEYS)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    due = tmp_path / "due.json"
    rep("report", "due", "-o", str(due))
    assert json.loads(due.read_text()) == DUE_TODAY


def test_monthly_prints_json_when_stdout_is_not_a_terminal(practice_db):
    result = run_subprocess("--db", str(practice_db), "report", "monthly", "--month", "2026-10")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == OCTOBER
    assert result.stderr == ""


# --- report due -----------------------------------------------------------------------------------


def test_due_lists_reports_prescriptions_and_authorizations(rep):
    result = rep("report", "due", "-f", "json")
    items = json.loads(result.stdout)
    assert items == DUE_TODAY
    assert all(list(item) == DUE_KEYS for item in items)
    assert result.stderr == ""


def test_due_agrees_with_the_progress_report_rule(rep, practice_db):
    from medmassage.documents.summary import due_cases

    conn = sqlite3.connect(practice_db)
    conn.row_factory = sqlite3.Row
    try:
        expected = [c["case_id"] for c in due_cases(conn, date.fromisoformat(TODAY))]
    finally:
        conn.close()
    items = as_json(rep, "due")
    assert [i["case_id"] for i in items if i["kind"] == "report-due"] == expected == [2]


def test_due_csv(rep):
    header, rows = as_csv(rep, "due")
    assert header == DUE_KEYS
    assert rows == [csv_row(item) for item in DUE_TODAY]


@pytest.mark.parametrize(
    ("within", "expiring"),
    [
        ("0", []),
        ("7", []),
        ("8", [2]),
        ("12", [2]),
        ("13", [2, 4]),
        ("33", [2, 4]),
        ("34", [1, 2, 4]),
    ],
)
def test_due_within_days(rep, within, expiring):
    items = as_json(rep, "due", "--within", within)
    assert [i["case_id"] for i in items if i["kind"] == "rx-expiring"] == expiring
    assert [i["kind"] for i in items if i["kind"] != "rx-expiring"] == [
        "report-due",
        "authorization",
        "authorization",
    ]


def test_fail_if_due_exits_3_only_when_something_is_listed(rep, cli):
    assert rep("report", "due", "-f", "json", ok=False).exit_code == 0
    listed = rep("report", "due", "-f", "json", "--fail-if-due", ok=False)
    assert listed.exit_code == 3
    assert json.loads(listed.stdout) == DUE_TODAY  # the list is still printed
    empty = cli("report", "due", "--fail-if-due", ok=False)  # a new, empty database
    assert empty.exit_code == 0
    assert json.loads(empty.stdout) == []
    assert empty.stderr.strip() == "Nothing is due."


def test_fail_if_due_exit_code_through_the_entry_point(practice_db):
    base = ("--db", str(practice_db), "report", "due")
    assert run_subprocess(*base, "--fail-if-due").returncode == 3
    assert run_subprocess(*base).returncode == 0


def test_nothing_due_says_so_on_stderr(cli):
    for fmt in ("table", "json", "csv"):
        result = cli("report", "due", "-f", fmt)
        assert result.stderr.strip() == "Nothing is due.", fmt
    assert cli("report", "due", "-f", "table").stdout == ""
    assert cli("report", "due", "-f", "csv").stdout == ",".join(DUE_KEYS) + "\n"


def test_due_lists_an_expired_prescription_and_skips_closed_cases(cli):
    cli("client", "add", "Eve Late")
    open_case(cli, "Eve", "health", "2026-11-01", "2026-11-20", 12)
    cli("client", "add", "Finn Closed")
    open_case(cli, "Finn", "health", "2026-11-01", "2026-11-20", 12)
    cli("case", "close", "2", "--reason", "Moved away")
    assert as_json(cli, "due") == [
        {
            "kind": "rx-expired", "client_id": 1, "client": "Eve Late", "case_id": 1,
            "payer_type": "health", "date": "2026-11-20",
            "detail": "prescription valid until 2026-11-20: expired 7 days ago",
        }
    ]  # fmt: skip
    month = as_json(cli, "monthly")
    assert (month["rx_expired"], month["cases_closed"], month["new_cases"]) == (1, 1, 2)


def test_due_table_on_a_pipe_is_plain_text(rep):
    out = rep("report", "due", "-f", "table").stdout
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert lines[0] == "Due on 2026-11-27"
    assert lines[1] == "Client Case Payer Due Date Detail"
    assert lines[3] == "Bob Comp 2 workers-comp report-due 2026-11-12 45 days since start of care"
    assert len(lines) == 3 + len(DUE_TODAY)


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["monthly", "--month", "next year"], "month"),
        (["monthly", "--month", "2026-13"], "month"),
        (["monthly", "--month", "2026-11-05"], "month"),  # a day, not a month
        (["monthly", "--month", "friday"], "month"),
        (["monthly", "--month", "2026-12"], "month"),  # has not begun
        (["monthly", "-f", "xml"], "format"),
        (["monthly", "-o", "report.pdf"], "output"),
        (["period", "--from", "2026-11-10", "--to", "2026-11-01"], "from"),
        (["period", "--from", "2026-11", "--to", "2026-10"], "from"),
        (["period", "--from", "someday"], "from"),
        (["period", "--from", "2026-11-01", "--to", "2026-11-31"], "to"),
        (["period", "--from", "2026-12-01", "--to", "2026-12-31"], "from"),  # the future
        (["due", "--within", "-1"], "within"),
        (["due", "--within", "abc"], "within"),
        (["due", "--within", "1.5"], "within"),
        (["due", "--within", "366"], "within"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else v,
)
def test_bad_input_is_one_line_naming_the_field_exit_2(cli, args, field):
    result = cli("report", *args, ok=False)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {field}: "), lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_bad_month_message_says_what_is_allowed(cli):
    result = cli("report", "monthly", "--month", "next year", ok=False)
    assert result.stderr.strip() == (
        "error: month: 'next year' — expected a month: 2026-10, this month or last month"
    )
    late = cli("report", "period", "--from", "2026-11-10", "--to", "2026-11-01", ok=False)
    assert late.stderr.strip() == (
        "error: from: '2026-11-10' — must be on or before --to (2026-11-01)"
    )


def test_every_report_command_has_help(cli):
    for name in ("monthly", "period", "due"):
        result = cli("report", name, "--help")
        assert "Usage: medmassage report " + name in result.stdout
    assert "Exit code 0 even when items are listed" in " ".join(
        cli("report", "due", "--help").stdout.split()
    )
