"""`import sessions FILE.csv` through the real CLI on real SQLite files.

The same rules as `session log` (units, flags, workers' comp refusal), all or nothing: a bad
row refuses the whole file with one line naming the line, the column and the value, and the
row counts of every table stay as they were.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from medmassage.exchange.import_sessions import sample_rows, write_import_csv
from tests.conftest import Cli, count_rows, peak_rss, query

HEADER = "client,date,pre,post,techniques,regions"
GOOD = "Jane Doe,2026-11-20 10:00,6,3,swedish=30,neck"


def open_cases(cli: Cli) -> None:
    """Beside the practice's Jane Doe (client 1, health case 1: Rx 2026-11-01 → 2026-12-31,
    12 visits, 2x/week, neck/upper-back, CMS): Bob Ray (2) with a workers' comp case (2,
    Rx 2026-10-01 → 2026-11-15, 6 visits), Ann Lee (3) with an AMA health case (3, 2 visits),
    and Anna Smith (4) with no case."""
    cli("client", "add", "Bob Ray")
    cli(
        "case", "open", "Bob Ray", "--payer", "workers-comp", "--injury-date", "2026-09-20",
        "--claim", "WC-1", "--dx", "M54.2", "--referrer", "Dr Who", "--rx-date", "2026-10-01",
        "--rx-until", "2026-11-15", "--visits", "6",
    )  # fmt: skip
    cli("client", "add", "Ann Lee")
    cli(
        "case", "open", "Ann Lee", "--payer", "health", "--dx", "M54.50", "--referrer", "Dr Who",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "2",
        "--units-rule", "ama",
    )  # fmt: skip
    cli("client", "add", "Anna Smith")


@pytest.fixture
def clinic(practice: Cli) -> Cli:
    open_cases(practice)
    return practice


def write_csv(folder: Path, content: str | bytes, name: str = "import.csv") -> Path:
    path = folder / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def import_file(cli: Cli, path: Path, *options: str, ok: bool = True):
    return cli("import", "sessions", str(path), *options, ok=ok)


def one_line_error(result) -> str:
    everything = result.stdout + result.stderr
    assert "Traceback" not in everything
    line = result.stderr.rstrip("\n")
    assert line.startswith("error: "), result.stderr
    assert "\n" not in line, f"more than one line on stderr:\n{result.stderr}"
    return line


def sessions(db: Path) -> list[dict]:
    """What a session holds, without ids and timestamps: comparable across databases."""
    rows = query(
        db,
        """SELECT s.id, c.name AS client, s.case_id, s.date, s.start_time, s.minutes, s.pain_pre,
                  s.pain_post, s.regions, s.subjective, s.objective, s.assessment, s.plan,
                  s.homecare, s.feedback, s.units_rule, s.logged_rx_flag, s.logged_over_authorized,
                  s.override_reason
           FROM session s JOIN care_case k ON k.id = s.case_id JOIN client c ON c.id = k.client_id
           WHERE s.status != 'void' ORDER BY s.date, coalesce(s.start_time, ''), s.id""",
    )
    out = []
    for r in rows:
        data = dict(r)
        session_id = data.pop("id")
        data["techniques"] = [
            tuple(t)
            for t in query(
                db,
                "SELECT technique, cpt, minutes FROM session_technique WHERE session_id = ? "
                "ORDER BY position",
                (session_id,),
            )
        ]
        data["cpt"] = cpt_lines(db, session_id)
        out.append(data)
    return out


def cpt_lines(db: Path, session_id: int) -> list[tuple[str, int, int]]:
    return [
        tuple(r)
        for r in query(
            db,
            "SELECT cpt, minutes, units FROM session_cpt WHERE session_id = ? ORDER BY position",
            (session_id,),
        )
    ]


# --- a good file ---------------------------------------------------------------------------------

GOOD_FILE = """\
client,date,pre,post,techniques,regions,minutes,subjective,allow_expired
Jane Doe,2026-11-03 10:00,7,4,myofascial-release=33;swedish=7,neck;upper-back,,"Neck tight, 7/10",
Jane Doe,2026-11-05,6,3,swedish=20;trigger-point=20;hot-cold-pack=10,neck,,,
1,2026-10-20,8,6,swedish=5,neck,,,
Ann Lee,2026-11-10 09:00,5,3,myofascial-release=7;swedish=7,lower-back,,,
Ann Lee,2026-11-12,4,2,deep-tissue=23,lower-back,30,,
ann lee,2026-11-14,3,2,swedish=30,lower-back,,,
Bob,2026-11-20,6,4,trigger-point=25,neck,,,"Renewal faxed 11/14, awaiting reply"
"""


def test_a_good_file_imports_every_row_with_units_and_flags(clinic, db_path, tmp_path):
    result = import_file(clinic, write_csv(tmp_path, GOOD_FILE))

    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "warning: 1 session: after the prescription's valid-until date (flagged)",
        "warning: 1 session: before the prescription date (flagged)",
        "warning: 1 session: beyond the visits authorized (flagged)",
        "warning: 1 session: under 8 timed minutes: no timed units",
        "warning: 1 session: a CPT line under the AMA 8-minute midpoint: 0 units",
        "warning: progress report due for 1 case (case 1); see: medmassage progress CLIENT",
        "Imported 7 sessions for 3 clients",
    ]
    got = {(r["client"], r["date"], r["start_time"]): r for r in sessions(db_path)}
    assert len(got) == 7
    expected = {
        # CMS: 33 + 7 = 40 timed minutes = 3 units; 2 whole units to 97140, the third to the
        # code with the most minutes left over (7 > 3).
        ("Jane Doe", "2026-11-03", "10:00"): [("97140", 33, 2), ("97124", 7, 1)],
        # 40 timed minutes = 3 units; a tie on leftovers goes to the code entered first;
        # the hot pack is untimed: 1 unit, its minutes not counted.
        ("Jane Doe", "2026-11-05", None): [("97124", 20, 2), ("97140", 20, 1), ("97010", 10, 1)],
        ("Jane Doe", "2026-10-20", None): [("97124", 5, 0)],  # under 8 minutes
        # AMA: each code on its own.
        ("Ann Lee", "2026-11-10", "09:00"): [("97140", 7, 0), ("97124", 7, 0)],
        ("Ann Lee", "2026-11-12", None): [("97124", 23, 2)],
        ("Ann Lee", "2026-11-14", None): [("97124", 30, 2)],
        ("Bob Ray", "2026-11-20", None): [("97140", 25, 2)],
    }
    assert {key: r["cpt"] for key, r in got.items()} == expected
    flags = {
        key: (r["logged_rx_flag"], r["logged_over_authorized"], r["override_reason"])
        for key, r in got.items()
    }
    assert flags[("Jane Doe", "2026-10-20", None)] == ("not-yet-valid", 0, None)
    assert flags[("Ann Lee", "2026-11-14", None)] == (None, 1, None)  # visit 3 of 2
    assert flags[("Bob Ray", "2026-11-20", None)] == (
        "expired",
        0,
        "Renewal faxed 11/14, awaiting reply",
    )
    assert sum(1 for f in flags.values() if f == (None, 0, None)) == 4
    jane = got[("Jane Doe", "2026-11-03", "10:00")]
    assert (jane["pain_pre"], jane["pain_post"], jane["minutes"]) == (7, 4, 40)
    assert jane["regions"] == '["neck", "upper-back"]'
    assert jane["subjective"] == "Neck tight, 7/10"
    assert got[("Ann Lee", "2026-11-12", None)]["minutes"] == 30
    assert {r["status"] for r in query(db_path, "SELECT status FROM session")} == {"draft"}
    audit = query(db_path, "SELECT count(*) AS n FROM audit WHERE action = 'import'")
    assert audit[0]["n"] == 7


def test_visit_numbers_and_authorization_continue_after_sessions_on_record(
    clinic, db_path, tmp_path
):
    clinic("session", "log", "Jane", "--pre", "7", "--post", "5", "--technique", "swedish=30",
           "--region", "neck", "--date", "2026-11-02")  # fmt: skip
    clinic("session", "log", "Jane", "--pre", "6", "--post", "4", "--technique", "swedish=30",
           "--region", "neck", "--date", "2026-11-04")  # fmt: skip
    clinic("session", "log", "Ann Lee", "--pre", "5", "--post", "3", "--technique",
           "swedish=30", "--region", "neck", "--date", "2026-11-11")  # fmt: skip
    path = write_csv(
        tmp_path,
        f"{HEADER}\n"
        "Jane Doe,2026-11-09,5,3,swedish=30,neck\n"
        "Jane Doe,2026-11-06,5,4,swedish=30,neck\n"
        "Ann Lee,2026-11-13,4,2,swedish=30,neck\n"
        "Ann Lee,2026-11-12,4,3,swedish=30,neck\n",
    )
    result = import_file(clinic, path)
    assert "Imported 4 sessions for 2 clients" in result.stderr

    visits = {}
    for r in query(db_path, "SELECT id, date FROM session WHERE case_id = 1"):
        shown = clinic("session", "show", str(r["id"]), "-f", "json").stdout
        visits[r["date"]] = json.loads(shown)["visit"]
    assert visits == {"2026-11-02": 1, "2026-11-04": 2, "2026-11-06": 3, "2026-11-09": 4}
    # Ann's case authorizes 2 visits: one on record, so the file's second (by date) is over.
    over = query(db_path, "SELECT date, logged_over_authorized FROM session WHERE case_id = 3")
    assert {r["date"]: r["logged_over_authorized"] for r in over} == {
        "2026-11-11": 0,
        "2026-11-12": 0,
        "2026-11-13": 1,
    }


def test_dry_run_reports_what_would_be_imported_and_writes_nothing(clinic, db_path, tmp_path):
    before = count_rows(db_path)
    result = import_file(clinic, write_csv(tmp_path, GOOD_FILE), "--dry-run")
    assert count_rows(db_path) == before
    assert result.stdout.splitlines() == [
        "3 Ann Lee, case 3: 3 sessions, 2026-11-10 to 2026-11-14",
        "2 Bob Ray, case 2: 1 session, 2026-11-20",
        "1 Jane Doe, case 1: 3 sessions, 2026-10-20 to 2026-11-05",
    ]
    assert result.stderr.splitlines()[-1] == (
        "Would import 7 sessions for 3 clients (dry run: nothing was written)"
    )
    assert "warning: 1 session: beyond the visits authorized (flagged)" in result.stderr


def test_sign_signs_every_imported_session(clinic, db_path, tmp_path):
    result = import_file(clinic, write_csv(tmp_path, GOOD_FILE), "--sign")
    assert result.stderr.splitlines()[-1] == "Imported 7 sessions for 3 clients, signed"
    rows = query(db_path, "SELECT status, signed_at FROM session")
    assert len(rows) == 7
    assert all(r["status"] == "signed" and r["signed_at"] for r in rows)
    signs = query(db_path, "SELECT count(*) AS n FROM audit WHERE action = 'sign'")
    assert signs[0]["n"] == 7
    # Locked like any signed note.
    with pytest.raises(sqlite3.IntegrityError, match="locked"):
        conn = sqlite3.connect(db_path)
        try:
            conn.execute("UPDATE session SET pain_pre = 0")
        finally:
            conn.close()


def test_the_file_format_is_forgiving_where_it_is_safe(clinic, db_path, tmp_path):
    """UTF-8 BOM, CRLF, header case and order, `allow-expired`, quoted notes with commas,
    quotes and line breaks, blank lines, `T` times with seconds."""
    content = (
        "\ufeffRegions,CLIENT,Date,Pre,POST,Techniques,Subjective,Allow-Expired\r\n"
        'neck,Jane Doe,2026-11-20 10:00,6,3,swedish=30,"Line one\r\nline two, with ""quotes""",'
        "\r\n"
        "\r\n"
        ",,,,,,,\r\n"
        "neck ; upper-back,Jane Doe,2026-11-21T09:30:00,5,2, Swedish = 20 ; trigger-point=10,,\r\n"
    )
    result = import_file(clinic, write_csv(tmp_path, content))
    assert "Imported 2 sessions for 1 client" in result.stderr
    rows = sessions(db_path)
    assert rows[0]["subjective"] == 'Line one\nline two, with "quotes"'
    assert (rows[1]["date"], rows[1]["start_time"]) == ("2026-11-21", "09:30")
    assert rows[1]["regions"] == '["neck", "upper-back"]'
    assert rows[1]["techniques"] == [("swedish", "97124", 20), ("trigger-point", "97140", 10)]


def test_line_numbers_count_the_lines_of_the_file(clinic, db_path, tmp_path):
    content = (
        "client,date,pre,post,techniques,regions,subjective\n"
        'Jane Doe,2026-11-20,6,3,swedish=30,neck,"two\nlines"\n'
        "\n"
        "Jane Doe,2026-11-21,12,3,swedish=30,neck,\n"
    )
    before = count_rows(db_path)
    result = import_file(clinic, write_csv(tmp_path, content), ok=False)
    assert result.exit_code == 2
    assert one_line_error(result).startswith("error: line 5: pre: '12' — ")
    assert count_rows(db_path) == before


# --- bad input: one line, exit 2, nothing written -------------------------------------------------

BOB_AFTER_RX = "Bob Ray,2026-11-20,6,4,trigger-point=25,neck"
# Seven visits of Bob's workers' comp case (6 authorized), the latest first: rows are booked by
# date, so the seventh visit is line 2.
BOB_SEVEN = "\n".join(f"Bob Ray,2026-11-{day:02d},6,4,swedish=30,neck" for day in range(8, 1, -1))

BAD_FILES = [
    pytest.param(
        f"{HEADER}\n{GOOD}\nJane Doe,2026-11-21,11,3,swedish=30,neck\n",
        ["line 3: pre: '11' — pain is a whole number from 0 to 10"],
        id="pain-11-on-line-3",
    ),
    pytest.param(
        f"{HEADER}\nJane Doe,2026-11-21,6,3,swedish=30,nekc\n",
        ["line 2: regions: 'nekc' — unknown region", "neck"],
        id="unknown-region",
    ),
    pytest.param(
        f"{HEADER}\nJane Doe,2026-11-21,6,3,reiki=30,neck\n",
        ["line 2: techniques: 'reiki' — unknown technique"],
        id="unknown-technique",
    ),
    pytest.param(
        f"{HEADER}\nJane Doe,2026-11-21,6,3,swedish=abc,neck\n",
        ["line 2: techniques: 'swedish=abc' — minutes are a whole number"],
        id="technique-minutes",
    ),
    pytest.param(
        f"{HEADER}\nJane Doe,2026-11-21,6,3,,neck\n",
        ["line 2: techniques: (missing) — required"],
        id="no-techniques",
    ),
    pytest.param(
        f"{HEADER}\nJane Doe,2026-11-28,6,3,swedish=30,neck\n",
        ["line 2: date: '2026-11-28' — is in the future (today is 2026-11-27)"],
        id="future-date",
    ),
    pytest.param(
        f"{HEADER}\nJane Doe,11/20/2026,6,3,swedish=30,neck\n",
        ["line 2: date: '11/20/2026' — expected an ISO date"],
        id="not-iso-date",
    ),
    pytest.param(
        f"{HEADER}\nJane Doe,2026-11-20 25:00,6,3,swedish=30,neck\n",
        ["line 2: date: '2026-11-20 25:00' — expected an ISO date"],
        id="impossible-time",
    ),
    pytest.param(
        f"{HEADER}\nJane Doe,2026-02-30,6,3,swedish=30,neck\n",
        ["line 2: date: '2026-02-30' — not a date in the calendar"],
        id="impossible-date",
    ),
    pytest.param(
        f"{HEADER},minutes\nJane Doe,2026-11-20,6,3,swedish=30,neck,20\n",
        ["line 2: minutes: '20' — the session cannot be shorter than its techniques (30 min)"],
        id="minutes-under-techniques",
    ),
    pytest.param(
        "client,date,post,techniques,regions\nJane Doe,2026-11-20,3,swedish=30,neck\n",
        ["line 1: column: 'pre' — required column missing", "missing: pre"],
        id="missing-column",
    ),
    pytest.param(
        f"{HEADER},colour\n{GOOD},blue\n",
        ["line 1: column: 'colour' — unknown column"],
        id="unknown-column",
    ),
    pytest.param(
        f"{HEADER},Pre\n{GOOD},5\n",
        ["line 1: column: 'Pre' — appears twice"],
        id="column-twice",
    ),
    pytest.param(
        f"{HEADER}\nJane Doe,2026-11-20,6,3,swedish=30\n",
        ["line 2: values: '5' — the header has 6 columns"],
        id="missing-value",
    ),
    pytest.param(
        f"{HEADER}\n"
        "Jane Doe,2026-11-20 10:00,6,3,swedish=20;trigger-point=10,neck\n"
        "jane doe,2026-11-20 10:00,6,3,trigger-point=10;swedish=20,upper-back\n",
        ["line 3: row: 'jane doe, 2026-11-20 10:00' — repeats line 2"],
        id="duplicate-within-file",
    ),
    pytest.param(
        f"{HEADER}\nZed Zulu,2026-11-20,6,3,swedish=30,neck\n{GOOD}\n"
        "Amy Poe,2026-11-20,6,3,swedish=30,neck\nZed Zulu,2026-11-21,6,3,swedish=30,neck\n",
        [
            "line 2: client: 'Zed Zulu' — no such client; 2 clients in the file are not on record",
            "Zed Zulu (lines 2, 5); Amy Poe (line 4)",
            "--create-clients",
        ],
        id="unknown-clients-listed",
    ),
    pytest.param(
        f"{HEADER}\nZed Zulu,2026-11-20,6,3,swedish=30,neck\nJane Doe,2026-11-21,66,3,"
        "swedish=30,neck\nAmy Poe,2026-11-20,6,3,swedish=30,neck\n",
        ["line 2: client: 'Zed Zulu' — no such client", "Amy Poe (line 4)"],
        id="unknown-client-before-a-bad-row",
    ),
    pytest.param(
        f"{HEADER}\n99,2026-11-20,6,3,swedish=30,neck\n",
        ["line 2: client: '99' — no such client"],
        id="unknown-client-id",
    ),
    pytest.param(
        f"{HEADER}\nAnn,2026-11-20,6,3,swedish=30,neck\n",
        ["line 2: client: 'Ann' — matches 2 clients (ids 3, 4)"],
        id="ambiguous-client",
    ),
    pytest.param(
        f"{HEADER}\nAnna Smith,2026-11-20,6,3,swedish=30,neck\n",
        ["line 2: case: (missing) — client 4 has no open case"],
        id="client-without-case",
    ),
    pytest.param(
        f"{HEADER},case\n{GOOD},2\n",
        ["line 2: case: '2' — belongs to another client, not client 1"],
        id="case-of-another-client",
    ),
    pytest.param(
        f"{HEADER}\n{BOB_AFTER_RX}\n",
        [
            "line 2: date: '2026-11-20' — is after the prescription's valid-until date 2026-11-15",
            "workers' comp",
            "allow_expired column",
        ],
        id="workers-comp-after-rx",
    ),
    pytest.param(
        f"{HEADER}\n{BOB_SEVEN}\n",
        ["line 2: visits: '7' — is beyond the 6 visits authorized", "workers' comp"],
        id="workers-comp-over-authorized",
    ),
    pytest.param(
        f"{HEADER},allow_expired\n{BOB_AFTER_RX},   \n",
        ["line 2: date: '2026-11-20' — is after"],
        id="workers-comp-blank-reason",
    ),
    pytest.param(
        (f"{HEADER}\n{GOOD}\nJos\xe9 Ruiz,2026-11-20,6,3,swedish=30,neck\n").encode("latin-1"),
        ["file: ", "line 3 is not UTF-8 text (byte 0xE9)", "UTF-8"],
        id="not-utf8",
    ),
    pytest.param(b"", ["file: ", "is empty"], id="empty-file"),
    pytest.param(b"\n\n", ["file: ", "is empty"], id="blank-file"),
    pytest.param(f"{HEADER}\n", ["file: ", "has a header but no sessions"], id="header-only"),
    pytest.param(
        f"{HEADER}\n,,,,,\n", ["file: ", "has a header but no sessions"], id="only-empty-rows"
    ),
]


@pytest.mark.parametrize(("content", "expected"), BAD_FILES)
def test_bad_file_is_refused_in_one_line_and_writes_nothing(
    clinic, db_path, tmp_path, content, expected
):
    path = write_csv(tmp_path, content)
    before = count_rows(db_path)
    result = import_file(clinic, path, ok=False)
    line = one_line_error(result)
    assert result.exit_code == 2, line
    for text in expected:
        assert text in line
    assert count_rows(db_path) == before


def test_a_bad_row_after_good_ones_rolls_back_everything(clinic, db_path, tmp_path):
    rows = [f"Jane Doe,2026-11-{d:02d},6,3,swedish=30,neck" for d in range(2, 26)]
    rows.append("Bob Ray,2026-11-26,6,4,trigger-point=25,neck")  # workers' comp after the Rx
    before = count_rows(db_path)
    result = import_file(clinic, write_csv(tmp_path, "\n".join([HEADER, *rows])), ok=False)
    assert result.exit_code == 2
    assert one_line_error(result).startswith("error: line 26: date: '2026-11-26'")
    assert count_rows(db_path) == before


def test_a_row_that_repeats_a_session_on_record_is_refused(clinic, db_path, tmp_path):
    clinic(
        "session", "log", "Jane", "--pre", "6", "--post", "3", "--date", "2026-11-20 10:00",
        "--technique", "trigger-point=10", "--technique", "swedish=20", "--region", "neck",
    )  # fmt: skip
    content = (
        f"{HEADER}\nJane Doe,2026-11-19,6,3,swedish=30,neck\n"
        "Jane Doe,2026-11-20 10:00,6,3,swedish=20;trigger-point=10,upper-back\n"
    )
    before = count_rows(db_path)
    result = import_file(clinic, write_csv(tmp_path, content), ok=False)
    assert result.exit_code == 2
    line = one_line_error(result)
    assert line == (
        "error: line 3: row: 'Jane Doe, 2026-11-20 10:00' — repeats session 1, already on record "
        "(same client, date, time, pain and techniques)"
    )
    assert count_rows(db_path) == before
    # A different time, pain or technique minutes is a different session; so is a void one.
    clinic("session", "void", "1", "--reason", "entered in error")
    result = import_file(clinic, write_csv(tmp_path, content))
    assert "Imported 2 sessions for 1 client" in result.stderr


def test_workers_comp_after_the_rx_imports_with_a_reason(clinic, db_path, tmp_path):
    content = f"{HEADER},allow_expired\n{BOB_AFTER_RX},Renewal requested 11/14\n"
    result = import_file(clinic, write_csv(tmp_path, content))
    assert "warning: 1 session: after the prescription's valid-until date" in result.stderr
    row = query(db_path, "SELECT logged_rx_flag, override_reason FROM session")[0]
    assert tuple(row) == ("expired", "Renewal requested 11/14")


def test_missing_file_is_a_one_line_error(clinic, tmp_path):
    result = import_file(clinic, tmp_path / "nope.csv", ok=False)
    assert result.exit_code == 2
    assert "No such file" in one_line_error(result)


# --- unknown clients with --create-clients ------------------------------------------------------


def test_create_clients_adds_them_then_the_import_runs_once_they_have_a_case(
    clinic, db_path, tmp_path
):
    content = (
        f"{HEADER}\n{GOOD}\nZed Zulu,2026-11-20,6,3,swedish=30,neck\n"
        "zed zulu,2026-11-21,5,3,swedish=30,neck\n"
    )
    path = write_csv(tmp_path, content)
    before = count_rows(db_path)

    dry = import_file(clinic, path, "--create-clients", "--dry-run", ok=False)
    assert dry.exit_code == 1
    assert dry.stderr.startswith("Would add 1 client: Zed Zulu\n")
    assert "no sessions would be imported: 2 rows belong to new clients" in dry.stderr
    assert count_rows(db_path) == before

    done = import_file(clinic, path, "--create-clients", ok=False)
    assert done.exit_code == 1
    assert done.stderr.startswith("Added 1 client: 5 Zed Zulu\n")
    assert "open one for each (medmassage case open CLIENT …)" in done.stderr
    after = count_rows(db_path)
    assert after["client"] == before["client"] + 1
    assert after["session"] == before["session"]

    refused = import_file(clinic, path, ok=False)
    assert refused.exit_code == 2
    assert "line 3: case: (missing) — client 5 has no open case" in one_line_error(refused)

    clinic(
        "case", "open", "Zed", "--payer", "self-pay", "--dx", "M54.2", "--referrer", "Dr Who",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "10",
    )  # fmt: skip
    result = import_file(clinic, path)
    assert "Imported 3 sessions for 2 clients" in result.stderr


def test_create_clients_still_checks_every_row_first(clinic, db_path, tmp_path):
    content = (
        f"{HEADER}\nZed Zulu,2026-11-20,6,3,swedish=30,neck\nZed Zulu,2026-11-21,6,3,x=1,neck\n"
    )
    before = count_rows(db_path)
    result = import_file(clinic, write_csv(tmp_path, content), "--create-clients", ok=False)
    assert result.exit_code == 2
    assert "line 3: techniques: 'x' — unknown technique" in one_line_error(result)
    assert count_rows(db_path) == before


# --- round trip ----------------------------------------------------------------------------------


def set_up_practice(cli: Cli) -> None:
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02")
    cli(
        "case", "open", "Jane", "--payer", "health", "--dx", "M54.2", "--referrer", "Alan Brooks",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "3",
        "--frequency", "2x/week", "--area", "neck",
    )  # fmt: skip
    open_cases(cli)


def test_round_trip_sessions_logged_exported_and_imported_into_a_fresh_database(
    cli, db_path, tmp_path
):
    set_up_practice(cli)
    logs = [
        ["Jane", "--date", "2026-11-03 09:30", "--pre", "7", "--post", "4",
         "--technique", "myofascial-release=25", "--technique", "swedish=20",
         "--technique", "hot-cold-pack=10", "--region", "neck", "--region", "upper-back",
         "--minutes", "60", "--subjective", 'Neck 7/10, "worse at the desk"\nHeadache daily',
         "--objective", "Upper trapezius hypertonic; rotation L 45°", "--plan", "2x/week"],
        ["Jane", "--date", "2026-11-05", "--pre", "6", "--post", "3", "--technique",
         "trigger-point=33", "--technique", "swedish=7", "--region", "neck", "--sign"],
        ["Jane", "--date", "2026-11-06", "--pre", "5", "--post", "5", "--technique", "swedish=5",
         "--region", "neck", "--assessment", "Plateau"],
        ["Jane", "--date", "2026-11-07", "--pre", "5", "--post", "6", "--technique",
         "stretching=15", "--region", "jaw-left"],  # over 3 visits, pain up, region not ordered
        ["Ann Lee", "--date", "2026-11-10 14:00", "--pre", "5", "--post", "2", "--technique",
         "deep-tissue=23", "--technique", "stretching=8", "--region", "lower-back",
         "--homecare", "Cat-cow 2x10 daily", "--feedback", "Felt lighter"],
        ["Bob", "--date", "2026-11-20", "--pre", "6", "--post", "4", "--technique",
         "neuromuscular-reeducation=20", "--region", "shoulder-both",
         "--allow-expired", "Renewal requested, adjuster notified"],
    ]  # fmt: skip
    for args in logs:
        cli("session", "log", *args)
    cli("session", "log", "Jane", "--date", "2026-11-04", "--pre", "9", "--post", "9",
        "--technique", "swedish=30", "--region", "neck")  # fmt: skip
    cli("session", "void", "7", "--reason", "wrong client")
    original = sessions(db_path)
    assert len(original) == 6

    # `export all -f csv` carries the sessions in the import format too.
    cli("export", "all", "-f", "csv", "-o", str(tmp_path / "export"))
    path = tmp_path / "export" / "sessions-import.csv"
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["import_sessions"] == {"file": "sessions-import.csv", "rows": 6}

    fresh = Cli(tmp_path / "fresh" / "practice.db")
    set_up_practice(fresh)
    result = import_file(fresh, path)
    assert "Imported 6 sessions for 3 clients" in result.stderr
    assert sessions(fresh.db) == original

    # Back into the database it came from: every row is already on record.
    again = import_file(cli, path, ok=False)
    assert again.exit_code == 2
    assert "line 2: row: 'Jane Doe, 2026-11-03 09:30' — repeats session 1" in again.stderr


# --- generated files ----------------------------------------------------------------------------


def test_a_generated_file_imports(clinic, db_path, tmp_path):
    rows = list(sample_rows(["Jane Doe", "3"], 400, end=date(2026, 11, 27), seed=7))
    with (tmp_path / "big.csv").open("w", encoding="utf-8", newline="") as f:
        assert write_import_csv(rows, f) == 400
    result = import_file(clinic, tmp_path / "big.csv")
    assert "Imported 400 sessions for 2 clients" in result.stderr
    assert count_rows(db_path)["session"] == 400
    assert count_rows(db_path)["session_technique"] == sum(
        len(r["techniques"].split(";")) for r in rows
    )


def test_entry_point_exit_codes(clinic, db_path, tmp_path, sh):
    good = write_csv(tmp_path, f"{HEADER}\n{GOOD}\n", "good.csv")
    bad = write_csv(tmp_path, f"{HEADER}\n{GOOD}\nJane Doe,2026-11-21,6,3,swedish=30,neck,x\n")
    refused = sh("--db", str(db_path), "import", "sessions", str(bad))
    assert refused.returncode == 2
    assert refused.stderr == (
        "error: line 3: values: '7' — the header has 6 columns; a value holding a comma or a "
        "line break needs double quotes\n"
    )
    done = sh("--db", str(db_path), "import", "sessions", str(good))
    assert done.returncode == 0, done.stderr
    assert done.stderr == "Imported 1 session for 1 client\n"


# --- a big file: notes are read twice, never held all at once ---------------------------------


def _long_note(i: int) -> str:
    # ~2 KB, different in every row (no string can be shared between rows)
    return (
        f"Visit {i}: "
        + (
            "Hypertonic upper trapezius and levator scapulae L>R; trigger points at the "
            "suboccipitals; cervical rotation L 45°, R 55°; guarding on lateral flexion. "
        )
        * 13
    )


def _big_import_file(folder: Path, rows: int, name: str) -> Path:
    """`rows` sessions with two ~2 KB notes each, for the 200 clients of make_large_practice."""
    generated = sample_rows(
        [str(i) for i in range(1, 201)], rows, end=date(2026, 11, 27), seed=rows
    )
    path = folder / name
    with path.open("w", encoding="utf-8", newline="") as f:
        write_import_csv(
            (
                {**row, "case": row["client"], "objective": _long_note(i), "plan": _long_note(-i)}
                for i, row in enumerate(generated)
            ),
            f,
        )
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="resource module is POSIX-only")
def test_memory_stays_flat_importing_20000_sessions_with_long_notes(tmp_path: Path):
    from tests.test_export import make_large_practice

    small_db, big_db = tmp_path / "small.db", tmp_path / "big.db"
    for db in (small_db, big_db):  # 200 clients, a case each (Rx all 2026, 999 visits)
        make_large_practice(db, 200, per_client=1)
    small = _big_import_file(tmp_path, 100, "small.csv")
    big = _big_import_file(tmp_path, 20_000, "big.csv")
    assert big.stat().st_size > 80_000_000  # the notes alone are 80 MB …
    baseline = peak_rss("--db", str(small_db), "import", "sessions", str(small), "--sign")
    peak = peak_rss("--db", str(big_db), "import", "sessions", str(big), "--sign")
    # … but only one chunk of rows holds its notes at a time.
    assert peak - baseline < 30 * 2**20, f"{(peak - baseline) / 2**20:.0f} MB over baseline"
    assert count_rows(big_db)["session"] == 200 + 20_000
    last = query(big_db, "SELECT objective, plan, status FROM session ORDER BY id DESC LIMIT 1")[0]
    assert tuple(last) == (_long_note(19_999).strip(), _long_note(-19_999).strip(), "signed")


def test_ids_follow_the_file_and_visits_are_counted_in_date_order(clinic, db_path, tmp_path):
    # Ann Lee's case authorizes 2 visits: the third *by date* is over, whatever the file order.
    path = write_csv(
        tmp_path,
        f"{HEADER},subjective\n"
        "Ann Lee,2026-11-20,5,3,swedish=30,lower-back,third by date\n"
        "Ann Lee,2026-11-10,5,3,swedish=30,lower-back,first by date\n"
        "Ann Lee,2026-11-12,5,3,swedish=30,lower-back,second by date\n",
    )
    import_file(clinic, path)
    rows = query(
        db_path, "SELECT id, date, subjective, logged_over_authorized FROM session ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        (1, "2026-11-20", "third by date", 1),
        (2, "2026-11-10", "first by date", 0),
        (3, "2026-11-12", "second by date", 0),
    ]


def test_a_file_changed_during_the_import_is_refused_and_nothing_is_written(
    clinic, db_path, tmp_path, monkeypatch
):
    from medmassage.exchange import import_sessions as importing

    path = write_csv(tmp_path, f"{HEADER},subjective\n{GOOD},first note\n")
    book = importing._Run.book

    def book_then_edit(run):  # another program saves the file between the two readings
        booked = book(run)
        write_csv(tmp_path, f"{HEADER},subjective\n{GOOD},an edited note, longer\n")
        return booked

    monkeypatch.setattr(importing._Run, "book", book_then_edit)
    before = count_rows(db_path)
    result = import_file(clinic, path, ok=False)
    assert result.exit_code == 2
    assert one_line_error(result) == (
        f"error: file: '{path}' — changed while it was being imported; nothing was written: "
        "try again"
    )
    assert count_rows(db_path) == before


def test_a_pipe_or_stdin_imports_too_though_it_cannot_be_read_twice(clinic, db_path, tmp_path, sh):
    """Standard input (`-`), /dev/stdin and a named pipe are read into memory once."""
    first = f"{HEADER},subjective\n{GOOD},from stdin\n"
    done = sh("--db", str(db_path), "import", "sessions", "-", input=first)
    assert done.returncode == 0, done.stderr
    second = f"{HEADER}\nJane Doe,2026-11-21 10:00,5,3,swedish=30,neck\n"
    done = sh("--db", str(db_path), "import", "sessions", "/dev/stdin", input=second)
    assert done.returncode == 0, done.stderr
    fifo = tmp_path / "sessions.csv"
    os.mkfifo(fifo)
    writer = subprocess.Popen(
        [
            "sh",
            "-c",
            f"printf '%s\\n' '{HEADER}' 'Jane Doe,2026-11-22,4,2,swedish=30,neck' > {fifo}",
        ]
    )
    done = sh("--db", str(db_path), "import", "sessions", str(fifo), "--sign")
    writer.wait(timeout=30)
    assert done.returncode == 0, done.stderr
    rows = query(db_path, "SELECT date, subjective, status FROM session ORDER BY id")
    assert [tuple(r) for r in rows] == [
        ("2026-11-20", "from stdin", "draft"),
        ("2026-11-21", None, "draft"),
        ("2026-11-22", None, "signed"),
    ]
    bad = sh("--db", str(db_path), "import", "sessions", "-", input=f"{HEADER}\nJane Doe,x,1,1\n")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: line 2: values: '4' — the header has 6 columns")


def test_a_pipe_larger_than_the_memory_limit_is_refused(clinic, db_path, tmp_path, monkeypatch):
    from medmassage.exchange import import_sessions as importing

    monkeypatch.setattr(importing, "_PIPE_MAX", 100)
    fifo = tmp_path / "big.csv"
    os.mkfifo(fifo)
    content = f"{HEADER}\n" + f"{GOOD}\n" * 10  # over 100 bytes
    writer = subprocess.Popen(["sh", "-c", f"cat > {fifo}"], stdin=subprocess.PIPE)
    writer.stdin.write(content.encode())
    writer.stdin.close()
    before = count_rows(db_path)
    result = import_file(clinic, fifo, ok=False)
    writer.wait(timeout=30)
    assert result.exit_code == 2
    assert one_line_error(result) == (
        f"error: file: '{fifo}' — more than 0 MB through a pipe; save it as a file and import that"
    )
    assert count_rows(db_path) == before
