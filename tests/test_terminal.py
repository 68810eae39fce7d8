"""Behaviour on a real terminal (SPEC §6, §7.1): prompts for missing intake answers, Rich tables.

Each test runs `python -m medmassage` with stdin, stdout and stderr on a pseudo-terminal.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

if os.name != "posix":  # pragma: no cover
    pytest.skip("pseudo-terminals need POSIX", allow_module_level=True)

import fcntl
import pty
import select
import struct
import termios

from tests.conftest import query

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


class Terminal:
    """A child process on a pseudo-terminal of a given size; read its screen, type answers."""

    def __init__(self, args: list[str], env: dict[str, str], columns: int = 200) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
        self.master = master
        self.buffer = b""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "medmassage", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
        os.close(slave)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the child closed the terminal
            return False
        if not data:
            return False
        self.buffer += data
        return True

    @property
    def text(self) -> str:
        return ANSI.sub("", self.buffer.decode("utf-8", errors="replace")).replace("\r\n", "\n")

    def expect(self, pattern: str, timeout: float = 20, start: int = 0) -> int:
        """Wait until `pattern` (a regex) shows after position `start`; return where it ends."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.compile(pattern).search(self.text, start)
            if found:
                return found.end()
            if time.monotonic() > deadline or not self._read(0.2):
                raise AssertionError(f"{pattern!r} not seen; screen so far:\n{self.text}")

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def finish(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        while self._read(0.1):  # drain what is left
            pass
        os.close(self.master)
        if self.proc.poll() is None:
            self.proc.kill()
            raise AssertionError(f"still running after {timeout}s:\n{self.text}")
        return self.proc.returncode


def terminal_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES"):
        env.pop(name, None)
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env


@pytest.fixture
def case_without_intake(cli, db_path):
    cli("client", "add", "Sam Lee")
    cli(
        "case", "open", "Sam", "--payer", "health", "--dx", "M54.2",
        "--referrer", "Alan Brooks, DC", "--rx-date", "2026-11-01",
        "--rx-until", "2026-12-31", "--visits", "12",
    )  # fmt: skip
    return db_path


def test_intake_asks_for_missing_answers_on_a_terminal(case_without_intake):
    db_path = case_without_intake
    term = Terminal(["--db", str(db_path), "intake", "Sam", "--date", "2026-11-02"], terminal_env())
    at = term.expect(r"Chief complaint[^\n]*: ")
    term.type("Neck pain at the desk")
    at = term.expect(r"Pain today, 0–10: ", start=at)
    term.type("11")  # out of range: must be asked again
    at = term.expect(r"pain is a whole number from 0 to 10", start=at)
    at = term.expect(r"Pain today, 0–10: ", start=at)
    term.type("6")
    at = term.expect(r"Pain regions[^\n]*: ", start=at)
    term.type("neck, shoulder-left")
    assert term.finish() == 0, term.text
    assert "Intake recorded for Sam Lee, case 1" in term.text
    assert term.text.count("Pain today, 0–10:") == 2

    [row] = query(db_path, "SELECT * FROM intake")
    assert (row["case_id"], row["date"], row["complaint"], row["pain"]) == (
        1,
        "2026-11-02",
        "Neck pain at the desk",
        6,
    )
    assert row["regions"] == '["neck", "shoulder-left"]'
    [baseline] = query(db_path, "SELECT kind, score FROM measure")
    assert tuple(baseline) == ("nprs", 6.0)


def test_intake_asks_only_for_what_is_missing(case_without_intake):
    db_path = case_without_intake
    term = Terminal(
        ["--db", str(db_path), "intake", "Sam", "--complaint", "Low back pain", "--pain", "5"],
        terminal_env(),
    )
    term.expect(r"Pain regions[^\n]*: ")
    term.type("lower-back")
    assert term.finish() == 0, term.text
    assert "Chief complaint" not in term.text
    assert "Pain today" not in term.text
    [row] = query(db_path, "SELECT complaint, pain, regions FROM intake")
    assert tuple(row) == ("Low back pain", 5, '["lower-back"]')


def test_intake_in_a_script_does_not_ask(sh, case_without_intake):
    """The contrast: stdin is not a terminal, so a missing answer is an error; nothing saved."""
    db_path = case_without_intake
    done = sh("--db", str(db_path), "intake", "Sam", "--pain", "5", input="")
    assert done.returncode == 2
    assert "Chief complaint" not in done.stdout + done.stderr
    assert "complaint" in done.stderr
    assert query(db_path, "SELECT count(*) AS n FROM intake")[0]["n"] == 0


@pytest.fixture
def treated(practice):
    for day, pre, post in (("2026-11-03", "7", "5"), ("2026-11-10", "6", "3")):
        practice(
            "session", "log", "Jane", "--pre", pre, "--post", post, "--date", day,
            "--technique", "myofascial-release=25", "--technique", "swedish=20", "--region", "neck",
        )  # fmt: skip
    return practice


def assert_progress_values(text: str) -> None:
    assert "Jane Doe — case 1" in text
    assert "2026-11-03" in text and "2026-11-10" in text
    assert "7 → 5" in text and "6 → 3" in text
    assert "97140×2" in text and "97124×1" in text
    assert re.search(r"Baseline pain\s+7/10 \(intake\)", text)
    assert re.search(r"Visits\s+2 of 12 authorized", text)
    assert re.search(r"Change\s+−1 point \(−14\.3 %\) — MCID not met", text)


def test_progress_on_a_terminal_draws_a_rich_table(treated, db_path):
    term = Terminal(["--db", str(db_path), "progress", "Jane"], terminal_env(), columns=200)
    assert term.finish() == 0, term.text
    text = term.text
    assert "┃" in text and "━" in text
    assert_progress_values(text)


def test_progress_with_force_color_draws_a_rich_table(treated, db_path, sh):
    done = sh(
        "--db", str(db_path), "progress", "Jane", env=terminal_env(FORCE_COLOR="1", COLUMNS="200")
    )
    assert done.returncode == 0, done.stderr
    text = ANSI.sub("", done.stdout)
    assert "┃" in text and "━" in text
    assert_progress_values(text)


def test_progress_on_an_80_column_terminal_keeps_dates_and_codes_whole(treated, db_path):
    """80×24 is the default window of macOS Terminal and many others: the table may wrap,
    but it must not cut visit dates or CPT codes down to '2026-1…' and '97140×…'."""
    term = Terminal(["--db", str(db_path), "progress", "Jane"], terminal_env(), columns=80)
    assert term.finish() == 0, term.text
    text = term.text
    assert "┃" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "2026-11-03" in text and "2026-11-10" in text, text
    assert "97140×2" in text and "97124×1" in text, text


def test_a_renewed_claim_on_an_80_column_terminal_keeps_dates_codes_and_places_whole(
    treated, db_path
):
    """After a renewal the table gains an Auth column; on 80 columns it drops the cell borders
    for the room, and still never cuts a date, a CPT code or an "#2 1/6"."""
    treated("case", "renew", "1", "--rx-date", "2026-11-12", "--from", "2026-11-08",
            "--rx-until", "2026-12-31", "--visits", "6")  # fmt: skip
    term = Terminal(["--db", str(db_path), "progress", "Jane"], terminal_env(), columns=80)
    assert term.finish() == 0, term.text
    text = term.text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "┃" not in text  # compact: rules under the header only
    assert "2026-11-03" in text and "2026-11-10" in text, text
    assert "97140×2" in text and "97124×1" in text, text
    assert "#1 1/12" in text and "#2 1/6" in text, text
