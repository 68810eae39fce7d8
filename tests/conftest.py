"""Shared fixtures: every test runs the real CLI against a real SQLite file in a temp folder.

- "today" is pinned to 2026-11-27 (MEDMASSAGE_TODAY) so dates and due rules are reproducible;
- HOME and XDG_DATA_HOME point into the temp folder, so no test can touch a real practice file;
- the ICD-10-CM index is built once per test run in a shared cache folder.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

TODAY = "2026-11-27"


@pytest.fixture(scope="session")
def icd_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("icd-cache")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, icd_cache: Path) -> None:
    monkeypatch.setenv("MEDMASSAGE_TODAY", TODAY)
    monkeypatch.setenv("MEDMASSAGE_CACHE_DIR", str(icd_cache))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / ".local" / "share"))
    # The audit-chain key lives in the config folder: never the real one.
    monkeypatch.setenv("MEDMASSAGE_CONFIG_DIR", str(tmp_path / "home" / ".config" / "medmassage"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("MEDMASSAGE_DB", "FORCE_COLOR", "MEDMASSAGE_DEBUG", "EDITOR", "VISUAL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "practice.db"


class Cli:
    """Runs `medmassage --db DB …` in-process through Typer's CliRunner."""

    def __init__(self, db: Path) -> None:
        from medmassage.cli import app

        self.app = app
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, ok: bool = True):
        result = self.runner.invoke(
            self.app, ["--db", str(self.db), *args], input=input, catch_exceptions=False
        )
        if ok and result.exit_code != 0:
            raise AssertionError(
                f"medmassage {' '.join(args)} exited {result.exit_code}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result


@pytest.fixture
def cli(db_path: Path) -> Cli:
    return Cli(db_path)


def run_subprocess(
    *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m medmassage …` in a fresh process: the real entry point, exit codes and all."""
    return subprocess.run(
        [sys.executable, "-m", "medmassage", *args],
        capture_output=True,
        text=True,
        input=input,
        env=env or dict(os.environ),
        timeout=120,
    )


@pytest.fixture
def sh() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_subprocess


def count_rows(db: Path) -> dict[str, int]:
    """Row counts of every table, read with sqlite-utils (proves bad input wrote nothing)."""
    import sqlite_utils

    database = sqlite_utils.Database(db)
    try:
        return {name: database[name].count for name in database.table_names()}
    finally:
        database.close()


def query(db: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
def practice(cli: Cli) -> Cli:
    """A profile, one client (Jane Doe, id 1) with an open health case (id 1) and an intake.

    Rx 2026-11-01 → 2026-12-31, 12 visits, 2x/week, CMS units, areas neck/upper-back.
    """
    cli(
        "profile", "set", "--name", "Dana Whitfield", "--credentials", "LMT",
        "--license-number", "MA60512345", "--license-state", "WA", "--npi", "1234567893",
    )  # fmt: skip
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02", "--phone", "360-555-0100")
    cli(
        "case", "open", "Jane", "--payer", "health", "--payer-name", "Regence",
        "--dx", "M54.2", "--referrer", "Alan Brooks, DC", "--referrer-npi", "1987654328",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "12",
        "--frequency", "2x/week", "--area", "neck", "--area", "upper-back",
    )  # fmt: skip
    cli(
        "intake", "Jane", "--complaint", "Neck pain at the desk", "--pain", "7",
        "--region", "neck", "--date", "2026-11-02", "--consent-date", "2026-11-02",
    )  # fmt: skip
    return cli


# Peak memory of the medmassage process itself. On Linux, getrusage's ru_maxrss survives
# exec: a child forked (or vforked) from the large pytest process reports pytest's size, not
# its own. VmHWM is the high-water mark of the process's current memory map, which exec resets;
# getrusage is the fallback elsewhere (macOS reports bytes, Linux kilobytes).
PEAK_RSS = """
import resource, sys
sys.argv = ["medmassage", *sys.argv[1:]]
from medmassage.cli import main
code = 0
try:
    main()
except SystemExit as e:
    code = e.code
try:
    with open("/proc/self/status") as f:
        peak = int(f.read().split("VmHWM:")[1].split()[0]) * 1024
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak *= 1 if sys.platform == "darwin" else 1024
print(peak, code, file=sys.stderr)
"""


def peak_rss(*args: str) -> int:
    """Peak resident memory (bytes) of a fresh `medmassage …` process."""
    result = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    peak, code = result.stderr.strip().splitlines()[-1].split()
    assert code in ("0", "None"), result.stderr
    return int(peak)


# The independent X12 validator (pyx12) for the 837P files tests write.
@pytest.fixture(scope="session")
def maps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pyx12's map folder, with the 837P A1 map registered for GS08 005010X222A2 as well
    (pyx12 4.0 ships the A1 rules only; see tests/test_claim_x12.py)."""
    import shutil

    import pyx12

    source = Path(pyx12.__file__).parent / "map"
    target = tmp_path_factory.mktemp("pyx12-maps") / "map"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    a1, a2 = "<code>005010X222A1</code>", "<code>005010X222A2</code>"

    professional = (source / "837.5010.X222.A1.xml").read_text()
    assert professional.count(a1) == 1  # GS08 only; ST03 is not a coded list in the map
    (target / "837.5010.X222.A2.xml").write_text(professional.replace(a1, a2))

    control = (target / "x12.control.00501.xml").read_text()
    assert control.count(a1) == 1
    (target / "x12.control.00501.xml").write_text(control.replace(a1, f"{a1}{a2}"))

    index = (target / "maps.xml").read_text()
    entry = '<map vriic="005010X222A1" fic="HC" abbr="837P">837.5010.X222.A1.xml</map>'
    assert index.count(entry) == 1
    extra = entry.replace("X222A1", "X222A2").replace("X222.A1", "X222.A2")
    (target / "maps.xml").write_text(index.replace(entry, entry + extra))
    return target
