"""`medmassage notes` and `session show ID -o visit.pdf`: the chart notes an adjuster asks for.

Through the real CLI and a real SQLite file. The PDF is read back with pypdf (every field: SOAP
text, techniques, CPT lines, pain, signature with name, license, NPI and time, addenda,
unsigned and void marks, page numbers); Markdown, JSON and HTML are checked for the same
facts. Bad input is one line on stderr, exit 2, nothing written. Writing the notes records
nothing.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import Cli, count_rows, query, run_subprocess
from tests.test_html_outline import check_outline

SUBJECTIVE = "Neck pain 7/10 after desk work; worse turning left."
OBJECTIVE = "Hypertonic upper trapezius L>R; trigger point levator scapulae."
ASSESSMENT = "Rotation improved 15 degrees after treatment."
PLAN = "Continue 2x/week for 4 weeks."
HOMECARE = "Chin tucks 10x daily."
FEEDBACK = "Felt looser right away."
ADDENDUM = "Client phoned next day: soreness resolved."
VOID_REASON = "Logged on the wrong client day"
TOP_KEYS = [
    "document", "written", "period", "time_zone", "therapist", "client", "case", "diagnoses",
    "visits", "totals", "regions_treated", "areas_ordered",
]  # fmt: skip
VISIT_KEYS = [
    "session_id", "visit", "date", "start_time", "status", "minutes", "regions", "techniques",
    "cpt", "units", "units_rule", "pain_pre", "pain_post", "relief", "notes", "addenda",
    "signature", "void", "flags",
]  # fmt: skip


def squash(text: str) -> str:
    """pypdf may split or merge words: compare without any whitespace."""
    return "".join(text.split())


def pdf_pages(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def local_time(stamp: str) -> str:
    """How the notes print a stored time: in this computer's zone (the profile names none)."""
    moment = datetime.fromisoformat(stamp).astimezone()
    offset = moment.strftime("%z").replace("-", "−")
    return f"{moment:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


@pytest.fixture
def chart(cli: Cli) -> Cli:
    """Jane Doe, a workers' comp claim: visit 1 signed with a full note (at 14:30), visit 2
    signed and amended, visit 3 an unsigned draft, session 4 void; another client's visit."""
    cli(
        "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
        "--license-number", "MA60512345", "--license-state", "WA", "--npi", "1234567893",
        "--address", "412 Cedar St, Olympia WA 98501",
    )  # fmt: skip
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02")
    cli("client", "add", "Other Person", "--dob", "1970-01-01")
    for who in ("Jane", "Other"):
        cli(
            "case", "open", who, "--payer", "workers-comp", "--payer-name", "WA L&I",
            "--claim", "BB12345", "--injury-date", "2026-10-20", "--dx", "M54.2",
            "--referrer", "Alan Brooks, DC", "--referrer-npi", "1987654328",
            "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "12",
            "--frequency", "2x/week", "--area", "neck",
        )  # fmt: skip
    cli(
        "session", "log", "Jane", "--date", "2026-11-03 14:30", "--pre", "7", "--post", "4",
        "--technique", "myofascial-release=30", "--technique", "swedish=15",
        "--region", "neck", "--region", "shoulder-left",
        "--subjective", SUBJECTIVE, "--objective", OBJECTIVE, "--assessment", ASSESSMENT,
        "--plan", PLAN, "--homecare", HOMECARE, "--feedback", FEEDBACK, "--sign",
    )  # fmt: skip
    cli(
        "session", "log", "Jane", "--date", "2026-11-06", "--pre", "6", "--post", "3",
        "--technique", "trigger-point=25", "--region", "neck", "--subjective", "Better.",
        "--sign",
    )  # fmt: skip
    cli("session", "amend", "2", "--text", ADDENDUM)
    cli(
        "session", "log", "Jane", "--date", "2026-11-10", "--pre", "5", "--post", "3",
        "--technique", "swedish=40", "--region", "upper-back", "--subjective", "Draft only.",
    )  # fmt: skip
    cli(
        "session", "log", "Jane", "--date", "2026-11-12", "--pre", "5", "--post", "2",
        "--technique", "swedish=40", "--region", "neck", "--subjective", "Voided note.",
    )  # fmt: skip
    cli("session", "void", "4", "--reason", VOID_REASON)
    cli(
        "session", "log", "Other", "--date", "2026-11-04", "--pre", "5", "--post", "2",
        "--technique", "swedish=30", "--region", "neck", "--subjective", "Not Jane's.", "--sign",
    )  # fmt: skip
    return cli


def test_pdf_carries_every_field_of_every_visit(chart, db_path, tmp_path):
    out = tmp_path / "notes.pdf"
    before = count_rows(db_path)
    result = chart("notes", "Jane", "-o", str(out))
    assert "Wrote" in result.stderr and "3 visit(s), 1 void session(s)" in result.stderr
    assert "1 visit(s) in these notes are unsigned drafts" in result.stderr
    assert count_rows(db_path) == before  # not a report sent, no audit row: nothing recorded
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    pages = pdf_pages(out)
    text = squash("".join(pages))
    n = len(pages)
    assert n >= 2
    for i, page in enumerate(pages, 1):
        assert f"Page {i} of {n}" in page  # the renderer's footer, on every page
        assert squash("Jane Doe · DOB 1980-04-02 · claim BB12345") in squash(page)
    # The cover: who and what.
    for fact in (
        "Chart Notes — Medical Massage Therapy", "Dana Whitfield, LMT", "Jane Doe",
        "1980-04-02", "Workers' compensation", "WA L&I", "BB12345", "2026-10-20", "M54.2",
        "Cervicalgia", "2026-11-03 to 2026-11-27", "3 visits (2 signed, 1 unsigned)",
        "Visits in these notes (3)",
    ):  # fmt: skip
        assert squash(fact) in text, fact
    # Every visit's full note, techniques, regions, minutes, CPT lines, pain.
    for fact in (SUBJECTIVE, OBJECTIVE, ASSESSMENT, PLAN, HOMECARE, FEEDBACK, "Better.",
                 "Draft only.", "Voided note."):  # fmt: skip
        assert squash(fact) in text, fact
    for fact in (
        "Visit 1 — 2026-11-03 14:30 — signed", "myofascial release 30 min, swedish 15 min",
        "neck, left shoulder", "Minutes45", "CPT 97140Manual therapy: 30 min, 2 units",
        "CPT 97124Massage: 15 min, 1 unit", "Units3 (CMS rule)",
        "before 7, after 4 (relief 3)", "trigger point 25 min", "before 6, after 3",
    ):  # fmt: skip
        assert squash(fact) in text, fact
    assert squash("Not Jane's.") not in text  # another client's visit
    # Signatures: name, credentials, license, NPI, and the time in the computer's zone.
    signed = query(db_path, "SELECT signed_at FROM session WHERE id IN (1, 2) ORDER BY id")
    for row in signed:
        assert (
            squash(
                f"Electronically signed by Dana Whitfield, LMT on {local_time(row['signed_at'])}"
            )
            in text
        )
    assert text.count(squash("License MA60512345 (WA) · NPI 1234567893")) == 4
    # The addendum, with its date and who recorded it.
    added = query(db_path, "SELECT created, author FROM addendum")[0]
    assert squash("Addenda — visit 2") in text
    assert squash(f"1{local_time(added['created'])}{added['author']}{ADDENDUM}") in text
    # Unsigned and void, marked.
    assert squash("Visit 3 — 2026-11-10 — UNSIGNED DRAFT") in text
    assert squash("UNSIGNED DRAFT: the therapist has not signed this note") in text
    assert squash("NOT SIGNED (draft). Therapist: Dana Whitfield, LMT") in text
    assert squash("Session 4 — 2026-11-12 — VOID") in text
    assert squash(f"Reason: {VOID_REASON}.") in text
    assert squash("1 visit not signed by the therapist (unsigned drafts): visit 3") in text
    assert squash("1 session void, shown marked VOID: session 4 (2026-11-12)") in text
    assert squash("the practice's time zone") in text  # the first `profile set` stored one


def test_signed_time_is_shown_in_the_practice_zone_on_any_computer(chart, db_path, tmp_path):
    """The profile's zone (Pacific), daylight saving and all, whatever the computer's (Tokyo)."""
    chart("profile", "set", "--time-zone", "America/Los_Angeles")
    out = tmp_path / "pacific.pdf"
    env = {**os.environ, "TZ": "Asia/Tokyo"}
    done = run_subprocess("--db", str(db_path), "notes", "Jane", "-o", str(out), env=env)
    assert done.returncode == 0, done.stderr
    stamp = query(db_path, "SELECT signed_at FROM session WHERE id = 1")[0]["signed_at"]
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(stamp).astimezone(ZoneInfo("America/Los_Angeles"))
    text = squash("".join(pdf_pages(out)))
    assert squash(f"on {moment:%Y-%m-%d %H:%M} (UTC−08:00)") in text  # November: PST
    assert squash("the practice's time zone, America/Los_Angeles") in text


def test_without_a_profile_zone_the_computers_is_used_and_said(chart, db_path, tmp_path):
    """A profile from before the setting (no zone stored): the local zone (here made Pacific)."""
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("UPDATE profile SET time_zone = NULL")
    conn.close()
    out = tmp_path / "pacific.pdf"
    env = {**os.environ, "TZ": "America/Los_Angeles"}
    done = run_subprocess("--db", str(db_path), "notes", "Jane", "-o", str(out), env=env)
    assert done.returncode == 0, done.stderr
    stamp = query(db_path, "SELECT signed_at FROM session WHERE id = 1")[0]["signed_at"]
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(stamp).astimezone(ZoneInfo("America/Los_Angeles"))
    text = squash("".join(pdf_pages(out)))
    assert squash(f"on {moment:%Y-%m-%d %H:%M} (UTC−08:00)") in text  # November: PST
    assert squash("this computer's time zone (UTC−08:00 when written") in text


def test_markdown_and_json_carry_the_same_facts(chart):
    md = chart("notes", "Jane").stdout  # stdout: Markdown by default
    assert md.startswith("# Chart Notes — Medical Massage Therapy")
    for fact in ("## Visit 1 — 2026-11-03 14:30 — signed", "| Subjective | Neck pain 7/10",
                 "## Addenda — visit 2", "UNSIGNED DRAFT", "VOID", "CPT 97140",
                 "NPI 1234567893"):  # fmt: skip
        assert fact in md, fact
    data = json.loads(chart("notes", "Jane", "-f", "json").stdout)
    assert list(data) == TOP_KEYS
    assert data["document"] == "chart-notes"
    assert data["period"] == {"from": "2026-11-03", "to": "2026-11-27"}
    assert data["time_zone"]["source"] == "profile" and data["time_zone"]["name"]
    assert "time_zone" not in data["therapist"]  # the therapist block keeps its documented keys
    assert data["case"]["claim"] == "BB12345" and data["case"]["payer_type"] == "workers-comp"
    assert data["totals"] == {
        "visits": 3, "signed": 2, "unsigned": 1, "void": 1, "minutes": 110, "units": 8,
        "units_by_cpt": {"97124": 4, "97140": 4},
    }  # fmt: skip
    visits = data["visits"]
    assert [v["session_id"] for v in visits] == [1, 2, 3, 4]
    assert all(list(v) == VISIT_KEYS for v in visits)
    first = visits[0]
    assert first["notes"] == {
        "subjective": SUBJECTIVE, "objective": OBJECTIVE, "assessment": ASSESSMENT,
        "plan": PLAN, "homecare": HOMECARE, "feedback": FEEDBACK,
    }  # fmt: skip
    assert first["cpt"] == [
        {"code": "97140", "label": "Manual therapy", "minutes": 30, "units": 2},
        {"code": "97124", "label": "Massage", "minutes": 15, "units": 1},
    ]
    assert first["techniques"] == [
        {"technique": "myofascial-release", "minutes": 30},
        {"technique": "swedish", "minutes": 15},
    ]
    assert (first["start_time"], first["pain_pre"], first["pain_post"]) == ("14:30", 7, 4)
    signature = first["signature"]
    assert signature["signed"] is True and signature["npi"] == "1234567893"
    assert datetime.fromisoformat(signature["signed_at"]).utcoffset() is not None
    assert visits[1]["addenda"][0]["text"] == ADDENDUM
    assert visits[2]["status"] == "draft" and visits[2]["signature"]["signed_at"] is None
    assert visits[3]["visit"] is None and visits[3]["void"]["reason"] == VOID_REASON
    assert data["regions_treated"] == [
        {"region": "neck", "visits": 2},
        {"region": "shoulder-left", "visits": 1},
        {"region": "upper-back", "visits": 1},
    ]  # the void session's regions are not treatment


class _Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.cells = 0

    def handle_starttag(self, tag, attrs):
        self.cells += tag == "td"

    def handle_data(self, data):
        self.text.append(data)


def test_html_parses_with_a_correct_outline(chart, tmp_path):
    out = tmp_path / "notes.html"
    chart("notes", "Jane", "-o", str(out))
    page = out.read_text(encoding="utf-8")
    assert page == chart("notes", "Jane", "-f", "html").stdout
    parsed = _Parsed()
    parsed.feed(page)
    parsed.close()
    text = "".join(parsed.text)
    assert OBJECTIVE in text and ADDENDUM in text and VOID_REASON in text  # L>R escaped, read back
    assert "L>R" not in page  # escaped in the source
    headings = check_outline(page)
    assert headings[0] == (1, "Chart Notes — Medical Massage Therapy")
    assert (2, "Visit 1 — 2026-11-03 14:30 — signed") in headings


def test_period_and_case_choose_the_visits(chart):
    data = json.loads(
        chart("notes", "Jane", "--from", "2026-11-05", "--to", "2026-11-10", "-f", "json").stdout
    )
    assert [v["session_id"] for v in data["visits"]] == [2, 3]
    assert data["period"] == {"from": "2026-11-05", "to": "2026-11-10"}
    month = json.loads(chart("notes", "Jane", "--from", "2026-11", "-f", "json").stdout)
    assert len(month["visits"]) == 4
    other = json.loads(chart("notes", "Other", "--case", "2", "-f", "json").stdout)
    assert [v["session_id"] for v in other["visits"]] == [5]


def test_a_long_note_runs_onto_the_next_pages_whole(chart, tmp_path):
    long = " ".join(f"Finding {i:04d} palpated and treated." for i in range(400))  # ~14,000
    chart(
        "session", "log", "Jane", "--date", "2026-11-20", "--pre", "4", "--post", "2",
        "--technique", "swedish=30", "--region", "neck", "--objective", long, "--sign",
    )  # fmt: skip
    out = tmp_path / "long.pdf"
    chart("notes", "Jane", "--from", "2026-11-20", "-o", str(out))
    pages = pdf_pages(out)
    assert len(pages) >= 3
    assert all(f"Page {i} of {len(pages)}" in p for i, p in enumerate(pages, 1))
    # Cut into rows at spaces (a row may continue on the next page, under the repeated
    # heading row): every word is there, whole, in order, once the page footers and the
    # repeated heading rows between the pages are left out.
    between = re.compile(r"(Page \d+ of \d+|^Visit 4\s*2026-11-20\s*· session \d+)$")
    body = squash(
        "\n".join(line for page in pages for line in page.splitlines() if not between.search(line))
    )
    assert body.count("palpated") == 400 and body.count("treated.") == 400
    found = [body.index(squash(f"Finding {i:04d}")) for i in range(400)]
    assert found == sorted(found)


def test_session_show_writes_one_visits_chart_note(chart, db_path, tmp_path):
    out = tmp_path / "visit.pdf"
    before = count_rows(db_path)
    result = chart("session", "show", "2", "-o", str(out))
    assert "Wrote" in result.stderr and count_rows(db_path) == before
    pages = pdf_pages(out)
    text = squash("".join(pages))
    assert f"Page 1 of {len(pages)}" in pages[0]
    for fact in ("Chart Note — Medical Massage Therapy", "Visit 2 — 2026-11-06 — signed",
                 "Better.", ADDENDUM, "Electronically signed by Dana Whitfield, LMT",
                 "License MA60512345 (WA) · NPI 1234567893", "BB12345"):  # fmt: skip
        assert squash(fact) in text, fact
    assert squash(SUBJECTIVE) not in text and squash("Draft only.") not in text
    # Any format: html from the suffix, md and json with --chart-note; plain -f json unchanged.
    chart("session", "show", "4", "-o", str(tmp_path / "void.html"))
    assert VOID_REASON in (tmp_path / "void.html").read_text(encoding="utf-8")
    md = chart("session", "show", "3", "--chart-note").stdout
    assert md.startswith("# Chart Note") and "UNSIGNED DRAFT" in md
    note = json.loads(chart("session", "show", "1", "--chart-note", "-f", "json").stdout)
    assert note["document"] == "chart-note" and [v["session_id"] for v in note["visits"]] == [1]
    record = json.loads(chart("session", "show", "1", "-f", "json").stdout)
    assert record["id"] == 1 and "document" not in record


def test_the_output_file_rules_are_the_summarys(chart, db_path, tmp_path):
    result = chart("notes", "Jane", "-o", str(db_path), ok=False)  # the database itself
    assert result.exit_code == 2 and result.stderr.startswith("error: output:")
    assert result.stderr.count("\n") == 1
    result = chart("notes", "Jane", "-f", "pdf", ok=False)
    assert result.exit_code == 2 and "a PDF needs -o FILE" in result.stderr
    result = chart("session", "show", "1", "-f", "pdf", ok=False)
    assert result.exit_code == 2 and "a PDF needs -o FILE" in result.stderr


BAD = {
    "unknown client": (["notes", "Nobody"], "client:"),
    "bad date": (["notes", "Jane", "--from", "2026-13-45"], "from:"),
    "from after to": (["notes", "Jane", "--from", "2026-11-20", "--to", "2026-11-05"], "from:"),
    "future": (["notes", "Jane", "--to", "2027-01-05"], "is in the future"),
    "no visits": (["notes", "Jane", "--from", "2026-11-25"], "no visits of case 1"),
    "unknown case": (["notes", "Jane", "--case", "99"], "case"),
    "bad format": (["notes", "Jane", "-f", "docx"], "format:"),
    "unknown session": (["session", "show", "99", "-o", "visit.pdf"], "session:"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(chart, db_path, tmp_path, case):
    args, hint = BAD[case]
    out = tmp_path / "out"
    out.mkdir()
    target = str(out / "visit.pdf") if "visit.pdf" in args else str(out / "notes.md")
    args = [a if a != "visit.pdf" else target for a in args]
    if "-o" not in args:
        args = [*args, "-o", target]
    counts = count_rows(db_path)
    result = chart(*args, ok=False)
    assert result.exit_code == 2, result.stderr
    line = result.stderr.rstrip("\n")
    assert line.startswith("error: ") and "\n" not in line, result.stderr
    assert hint in line
    assert result.stdout == ""
    assert count_rows(db_path) == counts
    assert list(out.iterdir()) == []  # no file, no temp file left behind


def test_bad_input_through_the_entry_point_prints_no_traceback(chart, db_path):
    done = run_subprocess("--db", str(db_path), "notes", "Jane", "--from", "2026-11-20",
                          "--to", "2026-11-10")  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_notes_need_the_therapists_profile(cli):
    cli("client", "add", "Jane Doe")
    cli(
        "case", "open", "Jane", "--payer", "health", "--dx", "M54.2", "--referrer", "Dr Ames",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "12",
    )  # fmt: skip
    cli("session", "log", "Jane", "--date", "2026-11-03", "--pre", "5", "--post", "3",
        "--technique", "swedish=30", "--region", "neck")  # fmt: skip
    result = cli("notes", "Jane", ok=False)
    assert result.exit_code == 2 and result.stderr.startswith("error: profile:")
    assert "npi" in result.stderr and result.stderr.count("\n") == 1


def test_a_notes_lines_stay_lines_in_every_format(chart, tmp_path):
    """A note written in an editor keeps its lines: one table row each (Markdown and HTML
    cells would run them together)."""
    notes = tmp_path / "note.md"
    notes.write_text("# Subjective\nLeft neck pain.\n\n- worse at the desk\n# Plan\nRecheck.\n")
    chart(
        "session", "log", "Jane", "--date", "2026-11-21", "--pre", "4", "--post", "2",
        "--technique", "swedish=30", "--region", "neck", "--notes-file", str(notes),
    )  # fmt: skip
    md = chart("notes", "Jane", "--from", "2026-11-21").stdout
    assert "| Subjective | Left neck pain. |\n|  | - worse at the desk |\n" in md
    assert "| Plan | Recheck. |" in md
    html = chart("notes", "Jane", "--from", "2026-11-21", "-f", "html").stdout
    assert "<td>Subjective</td><td>Left neck pain.</td></tr>" in html
    assert "<td></td><td>- worse at the desk</td>" in html
