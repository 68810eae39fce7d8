"""The tool never changes a file that is not its database (issue 12, item 5; SPEC §13).

`--db` pointing at another program's SQLite database (application_id 0 and tables that are not
ours, in rollback or WAL mode, idle or held open by its program), one with another application
id, an empty file (0 bytes, or a SQLite file with no tables) or a FIFO: read commands, and write
commands too, refuse it in one line, and the file keeps its bytes, mode and mtime; no -wal or
-shm appears. An empty file becomes a practice only for a command that can begin one (`profile
set`, `client add`, `catalog add-technique`, `import sessions`, the demo). A zeroed header is
reported as damage, not as encryption. Our own database is still recognised without its
application_id, and while another process that just created it still holds the header in its
WAL.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from medmassage.store import crypto, migrations
from tests.conftest import count_rows, query, run_subprocess


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def snapshot(path: Path) -> dict[str, tuple]:
    """Every file in the folder with its bytes' hash, mode and mtime (ns): all must stay."""
    found = {}
    for p in sorted(path.parent.iterdir()):
        st = p.lstat()
        data = hashlib.sha256(p.read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else None
        found[p.name] = (data, stat.S_IMODE(st.st_mode), st.st_mtime_ns, stat.S_IFMT(st.st_mode))
    return found


# --- the files ----------------------------------------------------------------------------------


def _sqlite(path: Path, *statements: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    for sql in statements:
        conn.execute(sql)
    conn.close()
    path.chmod(0o644)  # as other programs leave them: a chmod would show
    return path


NOTES = (
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)",
    "INSERT INTO notes (text) VALUES ('another program''s data')",
)


def make(kind: str, path: Path) -> Path:
    if kind == "foreign":
        return _sqlite(path, *NOTES)
    if kind == "foreign-wal":  # WAL mode: any read by SQLite would create -wal and -shm
        return _sqlite(path, "PRAGMA journal_mode = WAL", *NOTES)
    if kind == "other-application-id":  # even with a table named like ours
        return _sqlite(path, "PRAGMA application_id = 305419896", "CREATE TABLE client (x)")
    if kind == "empty":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        path.chmod(0o644)
        return path
    if kind == "no-tables":
        return _sqlite(path, "CREATE TABLE t (x)", "DROP TABLE t", "VACUUM")
    raise AssertionError(kind)


REFUSALS = {
    "foreign": "is another program's SQLite database (its tables are not medmassage's), not a "
    "medmassage database; nothing was changed (give --db, or MEDMASSAGE_DB, the practice file)",
    "foreign-wal": "is another program's SQLite database (its tables are not medmassage's), not "
    "a medmassage database; nothing was changed (give --db, or MEDMASSAGE_DB, the practice file)",
    "other-application-id": "is another program's SQLite database (application_id 0x12345678), "
    "not a medmassage database; nothing was changed (give --db, or MEDMASSAGE_DB, the practice "
    "file)",
    "empty": "is an empty file (0 bytes), not a medmassage database yet; nothing was changed "
    "(`medmassage profile set` or `client add` starts a practice in it)",
    "no-tables": "is an empty SQLite database (no tables), not a medmassage database yet; nothing "
    "was changed (`medmassage profile set` or `client add` starts a practice in it)",
}

READS = [
    ["client", "list"],
    ["session", "list"],
    ["report", "due", "-f", "json"],
    ["progress", "Jane"],
    ["export", "all"],
    ["export", "fhir", "Jane"],
    ["db", "check"],
    ["db", "backup"],
]
WRITES = [
    [
        "session",
        "log",
        "Jane",
        "--pre",
        "6",
        "--post",
        "3",
        "--technique",
        "swedish=30",
        "--region",
        "neck",
    ],
    ["case", "close", "1", "--reason", "goals met"],
    ["client", "edit", "1", "--phone", "360-555-0100"],
    ["db", "encrypt"],
]
STARTERS = [
    ["client", "add", "Jane Doe"],
    ["profile", "set", "--name", "Dana Whitfield"],
]


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_read_commands_refuse_a_file_that_is_not_ours_and_leave_it_as_it_was(cli, db_path, kind):
    make(kind, db_path)
    before = snapshot(db_path)
    for args in READS:
        result = cli(*args, ok=False)
        assert result.exit_code == 2, (args, result.stderr)
        assert one_error_line(result) == f"error: database: '{db_path}' — {REFUSALS[kind]}", args
        assert snapshot(db_path) == before, args  # bytes, mode, mtime; no -wal, -shm, backups/


@pytest.mark.parametrize("kind", ["foreign", "foreign-wal", "other-application-id"])
def test_write_commands_refuse_another_programs_database_too(cli, db_path, kind):
    make(kind, db_path)
    before = snapshot(db_path)
    for args in WRITES + STARTERS:
        result = cli(*args, ok=False)
        assert result.exit_code == 2, (args, result.stderr)
        assert one_error_line(result) == f"error: database: '{db_path}' — {REFUSALS[kind]}", args
        assert snapshot(db_path) == before, args


@pytest.mark.parametrize("kind", ["empty", "no-tables"])
def test_an_empty_file_is_refused_by_commands_that_need_records(cli, db_path, kind):
    make(kind, db_path)
    before = snapshot(db_path)
    for args in WRITES:
        result = cli(*args, ok=False)
        assert result.exit_code == 2, (args, result.stderr)
        assert one_error_line(result) == f"error: database: '{db_path}' — {REFUSALS[kind]}", args
        assert snapshot(db_path) == before, args


@pytest.mark.parametrize("kind", ["empty", "no-tables"])
@pytest.mark.parametrize("args", STARTERS, ids=" ".join)
def test_an_empty_file_becomes_a_practice_for_a_command_that_can_begin_one(
    cli, db_path, kind, args
):
    make(kind, db_path)
    result = cli(*args)
    assert f"warning: {db_path.name} was empty: started a new practice database in it" in (
        result.stderr
    )
    assert "made it owner-only (600)" in result.stderr  # it is ours now: tightened
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert query(db_path, "PRAGMA application_id")[0][0] == migrations.APPLICATION_ID
    assert query(db_path, "PRAGMA user_version")[0][0] == migrations.LATEST_VERSION
    assert cli("client", "list").exit_code == 0


def test_a_new_path_is_still_created(cli, db_path, sh):
    assert not db_path.exists()
    assert cli("client", "list").exit_code == 0  # as before: an empty practice
    assert query(db_path, "PRAGMA application_id")[0][0] == migrations.APPLICATION_ID
    other = db_path.parent / "second.db"
    assert sh("--db", str(other), "client", "add", "Jane Doe").returncode == 0
    assert stat.S_IMODE(other.stat().st_mode) == 0o600


def test_a_database_in_use_by_its_program_is_refused_without_touching_its_wal(
    cli, db_path, tmp_path
):
    """Another program holds its WAL database open, with changes not yet checkpointed: the
    refusal reads the header and the -wal, writes nothing, opens no -shm."""
    make("foreign-wal", db_path)
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("INSERT INTO notes (text) VALUES ('not checkpointed yet')")
        assert Path(f"{db_path}-wal").stat().st_size > 0
        before = snapshot(db_path)
        for args in (["client", "list"], ["client", "add", "Jane Doe"], ["db", "check"]):
            result = cli(*args, ok=False)
            assert result.exit_code == 2, result.stderr
            assert one_error_line(result).endswith(REFUSALS["foreign-wal"])
            assert snapshot(db_path) == before
        rows = holder.execute("SELECT count(*) FROM notes").fetchone()[0]
        assert rows == 2  # its program carries on
    finally:
        holder.close()


def test_a_fifo_as_the_database_is_refused_without_blocking(db_path):
    db_path.parent.mkdir(parents=True)
    os.mkfifo(db_path)
    result = run_subprocess("--db", str(db_path), "client", "list")  # a timeout would fail it
    assert result.returncode == 2
    assert one_error_line(result) == (
        f"error: database: '{db_path}' — is a FIFO (named pipe), not a medmassage database; "
        "nothing was changed (give --db, or MEDMASSAGE_DB, the practice file)"
    )
    assert stat.S_ISFIFO(os.lstat(db_path).st_mode)


def test_a_zeroed_header_is_reported_as_damage_not_as_encryption(practice, db_path):
    data = bytearray(db_path.read_bytes())
    data[:100] = bytes(100)
    db_path.write_bytes(bytes(data))
    assert not crypto.is_encrypted(db_path)
    before = snapshot(db_path)
    for args in (["client", "list"], ["client", "add", "John Roe"], ["db", "check"]):
        result = practice(*args, ok=False)
        assert result.exit_code == 1, result.stderr
        assert one_error_line(result) == (
            f"error: cannot open {db_path}: its header is all zeros, so the file is damaged "
            "(not encrypted); nothing was changed. Restore a backup: medmassage db restore FILE"
        )
        assert "key" not in result.stderr and "encrypted;" not in result.stderr
        assert snapshot(db_path) == before


def test_our_database_without_its_application_id_is_still_ours(practice, db_path):
    """A copy made with the sqlite3 shell's .dump (which drops the application_id) or by
    hand: recognised by its tables, opened and kept as it is."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA application_id = 0")
    conn.close()
    rows = count_rows(db_path)
    assert "Jane Doe" in practice("client", "list").stdout
    assert practice("client", "add", "John Roe").exit_code == 0
    assert count_rows(db_path)["client"] == rows["client"] + 1


HOLD_NEW_DATABASE = """
import sys, time
from medmassage.store import db
conn, _ = db.connect(sys.argv[1], may_start=True)
conn.execute("SELECT count(*) FROM client").fetchone()  # holds a read of it: no checkpoint yet
print("ready", flush=True)
sys.stdin.readline()
conn.close()
"""


def test_a_database_another_process_has_just_created_is_ours_from_its_wal(db_path):
    """Until the first checkpoint, the main file's header still says application_id 0: the
    newest page 1 in the -wal says it is ours."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_NEW_DATABASE, str(db_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        header = db_path.read_bytes()[:100]
        if int.from_bytes(header[68:72], "big") != 0:
            pytest.skip("SQLite checkpointed already: nothing stale to read past")
        for args in (["client", "list"], ["client", "add", "Jane Doe"], ["report", "due"]):
            result = run_subprocess("--db", str(db_path), *args)
            assert result.returncode == 0, (args, result.stderr)
    finally:
        holder.communicate("\n", timeout=60)
    assert [tuple(r) for r in query(db_path, "SELECT name FROM client")] == [("Jane Doe",)]
