"""No client data in messages (SPEC §13, issue 12 item 7), and notes read with a cap.

Errors name the field and the rule. They never repeat note text (not even the note just typed:
messages end up in scrollback, logs and bug reports) nor a name the user did not type: a client
given by id, or an import row naming client `1`, is called "client 1". `--notes-file` and
`--edit` read at most 1 MB (1,048,576 bytes); more is refused in one line with nothing written,
and what was typed in the editor is kept in the owner-only recovery file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import count_rows, query

NAME = "Quintessa Zyxwarden"  # the name on record; the user types "1" or "Quin"
NOTE = "NOTEMARKER tender at C5"
REASON = "REASONMARKER moved to Ohio"
CAP = 1 << 20


def run(cli, *args, **kwargs):
    result = cli(*args, ok=False, **kwargs)
    everything = result.stdout + result.stderr
    assert "Traceback" not in everything
    return result


def one_line(result) -> str:
    line = result.stderr.rstrip("\n")
    assert line.startswith("error: "), result.stderr
    assert "\n" not in line, result.stderr
    return line


def assert_private(result, *markers: str) -> None:
    everything = result.stdout + result.stderr
    for marker in (NAME, "Zyxwarden", *markers):
        assert marker not in everything, (marker, everything)


@pytest.fixture
def clinic(cli):
    """Client 1 (NAME) with health case 1 and a draft session 1 holding NOTE; client 2 Bob Ray
    with case 2; client 3 Quincy Adams (so "Quin" is ambiguous)."""
    cli("profile", "set", "--name", "Dana W", "--credentials", "LMT", "--license-number", "MA1",
        "--npi", "1234567893")  # fmt: skip
    cli("client", "add", NAME)
    cli("case", "open", "1", "--payer", "health", "--dx", "M54.2", "--referrer", "Dr A",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "12")  # fmt: skip
    cli("session", "log", "1", "--pre", "6", "--post", "3", "--technique", "swedish=30",
        "--region", "neck", "--date", "2026-11-20 10:00", "--subjective", NOTE)  # fmt: skip
    cli("client", "add", "Bob Ray")
    cli("case", "open", "2", "--payer", "self-pay", "--dx", "M54.2", "--referrer", "Dr A",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "12")  # fmt: skip
    cli("client", "add", "Quincy Adams")
    return cli


def log(who: str, *extra: str) -> list[str]:
    return ["session", "log", who, "--pre", "5", "--post", "3", "--technique", "swedish=30",
            "--region", "neck", *extra]  # fmt: skip


# --- names the user did not type ----------------------------------------------------------------


def test_an_import_row_naming_client_1_never_prints_the_name(clinic, db_path, tmp_path):
    path = tmp_path / "again.csv"
    path.write_text(
        "client,date,pre,post,techniques,regions\n1,2026-11-20 10:00,6,3,swedish=30,neck\n",
        encoding="utf-8",
    )
    before = count_rows(db_path)
    result = run(clinic, "import", "sessions", str(path))
    assert result.exit_code == 2
    assert one_line(result) == (
        "error: line 2: row: '1, 2026-11-20 10:00' — repeats session 1, already on record "
        "(same client, date, time, pain and techniques)"
    )
    assert_private(result)
    assert count_rows(db_path) == before


@pytest.mark.parametrize(
    ("cell", "case", "expected"),
    [
        ("1", "2", "line 2: case: '2' — belongs to another client, not client 1"),
        ("3", "", "line 2: case: (missing) — client 3 has no open case"),
        ("Quin", "", "line 2: client: 'Quin' — matches 2 clients (ids 1, 3)"),
    ],
    ids=["case of another client", "no open case", "ambiguous"],
)
def test_import_errors_name_clients_by_id(clinic, db_path, tmp_path, cell, case, expected):
    path = tmp_path / "rows.csv"
    path.write_text(
        f"client,date,pre,post,techniques,regions,case\n{cell},2026-11-21,6,3,swedish=30,neck,"
        f"{case}\n",
        encoding="utf-8",
    )
    result = run(clinic, "import", "sessions", str(path))
    assert result.exit_code == 2
    assert expected in one_line(result)
    assert_private(result, "Quincy", "Adams", "Bob Ray")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (log("1", "--case", "2"), "case: '2' — belongs to another client, not client 1"),
        (log("3"), "case: (missing) — client 3 has no open case"),
        (log("Quin"), "client: 'Quin' — matches 2 clients (ids 1, 3); use the id"),
        (("progress", "Quin"), "matches 2 clients (ids 1, 3)"),
    ],
    ids=["case of another client", "no open case", "ambiguous log", "ambiguous progress"],
)
def test_command_errors_name_clients_by_id(clinic, db_path, args, expected):
    before = count_rows(db_path)
    result = run(clinic, *args)
    assert result.exit_code == 2
    assert expected in one_line(result)
    assert_private(result, "Quincy", "Adams", "Bob Ray")
    assert count_rows(db_path) == before


def test_a_second_open_case_warns_by_id(clinic):
    result = clinic("case", "open", "1", "--payer", "self-pay", "--dx", "M54.2", "--referrer",
                    "Dr A", "--rx-date", "2026-11-01", "--rx-until", "2026-12-31",
                    "--visits", "5")  # fmt: skip
    assert "warning: client 1 already has case 1 open (health)" in result.stderr


def test_closed_case_and_void_session_errors_leave_the_reasons_out(clinic, db_path):
    clinic("session", "void", "1", "--reason", REASON)
    again = run(clinic, "session", "void", "1", "--reason", "twice")
    assert again.exit_code == 2
    assert one_line(again) == "error: session: 1 — is already void (since 2026-11-27)"
    clinic("case", "close", "1", "--reason", REASON)
    closed = run(clinic, *log("1", "--case", "1"))
    assert closed.exit_code == 2
    assert "case: 1 — is closed (since 2026-11-27); open a new case to treat" in one_line(closed)
    for result in (again, closed):
        assert_private(result, "REASONMARKER", "Ohio")


# --- note text -------------------------------------------------------------------------------


def test_a_refused_note_is_named_by_section_and_position_not_repeated(clinic, db_path):
    before = count_rows(db_path)
    bad = run(clinic, *log("1", "--subjective", f"{NOTE}\x1b[2J more"))
    assert bad.exit_code == 2
    assert one_line(bad) == (
        "error: subjective: (text not shown, 32 characters) — control characters are not "
        "allowed (U+001B at character 24)"
    )
    long = run(clinic, *log("1", "--plan", NOTE + "x" * 20_000))
    assert long.exit_code == 2
    assert "plan: (text not shown, 20,023 characters) — at most 20,000 characters" in one_line(long)
    addendum = run(clinic, "session", "amend", "1", "--text", f"{NOTE}\x00")
    assert addendum.exit_code == 2
    for result in (bad, long, addendum):
        assert_private(result, "NOTEMARKER", "tender")
    assert count_rows(db_path) == before


def test_an_import_note_cell_is_not_repeated(clinic, db_path, tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text(
        "client,date,pre,post,techniques,regions,subjective\n"
        f'1,2026-11-22,6,3,swedish=30,neck,"{NOTE}\x07"\n',
        encoding="utf-8",
    )
    result = run(clinic, "import", "sessions", str(path))
    assert result.exit_code == 2
    assert one_line(result).startswith(
        "error: line 2: subjective: (text not shown, 24 characters) — control characters"
    )
    assert_private(result, "NOTEMARKER")


def test_notes_file_errors_do_not_repeat_the_note(clinic, tmp_path):
    both = tmp_path / "both.md"
    both.write_text("# Subjective\nfrom the file\n", encoding="utf-8")
    twice = run(clinic, *log("1", "--subjective", NOTE, "--notes-file", str(both)))
    assert twice.exit_code == 2
    assert one_line(twice).startswith(
        "error: subjective: (text not shown, 23 characters) — given both as an option and in "
        "the notes file"
    )
    hashed = tmp_path / "hash.md"
    hashed.write_text(f"# Subjective\nok\n#3 {NOTE}\n", encoding="utf-8")
    line = run(clinic, *log("1", "--notes-file", str(hashed)))
    assert line.exit_code == 2
    assert "line 3 starts with '#' but is not a heading" in one_line(line)
    misspelt = tmp_path / "typo.md"
    misspelt.write_text("# Subjective\nok\n# Assesment\nbetter\n", encoding="utf-8")
    typo = run(clinic, *log("1", "--notes-file", str(misspelt)))
    assert "notes: '# Assesment' — unknown heading; use # Subjective" in one_line(typo)
    assert "(line 3: did you mean # Assessment?)" in typo.stderr
    for result in (twice, line, typo):
        assert_private(result, "NOTEMARKER", "from the file", "better")


# --- the 1 MB cap on --notes-file and --edit --------------------------------------------------


def test_a_notes_file_over_1_mb_is_refused_and_writes_nothing(clinic, db_path, tmp_path):
    big = tmp_path / "big.md"
    big.write_bytes(b"# Subjective\n" + b"x" * CAP)
    before = count_rows(db_path)
    result = run(clinic, *log("1", "--notes-file", str(big)))
    assert result.exit_code == 2
    assert one_line(result) == (
        f"error: notes-file: '{big}' — holds more than 1 MB (1,048,576 bytes), the most a notes "
        "file may hold (each section takes at most 20,000 characters); nothing was saved"
    )
    assert count_rows(db_path) == before
    # At the cap exactly, the file is read, and the section's own limit speaks.
    big.write_bytes(b"# Subjective\n" + b"x" * (CAP - 13))
    at_cap = run(clinic, *log("1", "--notes-file", str(big)))
    assert at_cap.exit_code == 2
    assert "subjective: (text not shown, 1,048,563 characters) — at most 20,000" in at_cap.stderr
    assert count_rows(db_path) == before


def test_session_edit_notes_file_over_1_mb_leaves_the_draft(clinic, db_path, tmp_path):
    big = tmp_path / "big.md"
    big.write_bytes(b"y" * (CAP + 1))
    draft = query(db_path, "SELECT * FROM session WHERE id = 1")[0]
    result = run(clinic, "session", "edit", "1", "--notes-file", str(big))
    assert result.exit_code == 2
    assert "holds more than 1 MB" in one_line(result)
    assert query(db_path, "SELECT * FROM session WHERE id = 1")[0] == draft


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_notes_file_dev_zero_is_refused_without_reading_on(clinic, db_path, sh):
    before = count_rows(db_path)
    done = sh("--db", str(db_path), *log("1", "--notes-file", "/dev/zero"))
    assert done.returncode == 2, done.stderr
    assert "notes-file: '/dev/zero' — holds more than 1 MB" in done.stderr
    assert count_rows(db_path) == before


@pytest.mark.skipif(shutil.which("yes") is None, reason="needs yes(1)")
def test_notes_from_a_pipe_that_never_ends_are_refused(clinic, db_path):
    """`yes | medmassage session log … --notes-file -`: stops after 1 MB, exit 2."""
    before = count_rows(db_path)
    producer = subprocess.Popen(["yes", "tender"], stdout=subprocess.PIPE)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "medmassage", "--db", str(db_path),
             *log("1", "--notes-file", "-")],
            stdin=producer.stdout,
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
    finally:
        producer.kill()
        producer.wait()
        producer.stdout.close()
    assert done.returncode == 2, done.stderr
    assert "notes-file: '-' — holds more than 1 MB" in done.stderr
    assert count_rows(db_path) == before


def test_notes_from_stdin_under_the_cap_are_read(clinic, db_path):
    clinic(*log("1", "--date", "2026-11-23", "--notes-file", "-"),
           input="\ufeff# Subjective\nfrom stdin\n# Plan\ncontinue\n")  # fmt: skip
    row = query(db_path, "SELECT subjective, plan FROM session ORDER BY id DESC LIMIT 1")[0]
    assert tuple(row) == ("from stdin", "continue")  # the byte-order mark is not the note


def editor_writing(tmp_path: Path, data: bytes) -> str:
    """An $EDITOR (a Python script run by this Python) that saves `data` as the note."""
    typed = tmp_path / "typed.bin"
    typed.write_bytes(data)
    script = tmp_path / "ed.py"
    script.write_text(f"import shutil, sys\nshutil.copyfile({str(typed)!r}, sys.argv[1])\n")
    return f"{sys.executable} {script}"


def recovered(db_path: Path) -> list[Path]:
    folder = db_path.parent / "recovered-notes"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"# Subjective\n" + b"z" * (2 * CAP), "is more than 1 MB (1,048,576 bytes)"),
        (b"# Subjective\ncaf\xe9 au lait\n", "is not UTF-8 text (save it as UTF-8)"),
    ],
    ids=["2 MB", "Latin-1"],
)
def test_a_note_the_editor_cannot_hand_over_is_kept_not_lost(
    clinic, db_path, tmp_path, monkeypatch, data, problem
):
    monkeypatch.setenv("EDITOR", editor_writing(tmp_path, data))
    before = count_rows(db_path)
    result = run(clinic, *log("1", "--date", "2026-11-24", "--edit"))
    assert result.exit_code == 2
    [kept] = recovered(db_path)
    assert kept.read_bytes() == data  # every byte typed, even past the cap
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    assert oct(kept.parent.stat().st_mode & 0o777) == "0o700"
    line = one_line(result)
    assert line.startswith(f"error: note: (text not shown, {len(data):,} bytes) — {problem}")
    assert f"What you wrote is kept in {kept}" in line
    assert "zzzz" not in line and "caf" not in line
    assert count_rows(db_path) == before
