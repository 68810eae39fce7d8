"""`db backup` and `db restore` (SPEC §8): verified copies through SQLite's online backup API.

Everything runs through the real CLI on real SQLite files; the files are then read back with
plain sqlite3, so no medmassage code stands between a test and what is on disk.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medmassage.store import backup, db, migrations
from tests.conftest import Cli

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


# --- helpers --------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def dump(path: Path) -> list[str]:
    """A logical dump: the header fields a backup must keep, then every schema object and row."""
    assert path.exists(), path
    conn = sqlite3.connect(path)
    try:
        head = [
            f"application_id {conn.execute('PRAGMA application_id').fetchone()[0]}",
            f"user_version {conn.execute('PRAGMA user_version').fetchone()[0]}",
        ]
        return head + list(conn.iterdump())
    finally:
        conn.close()


def pragma(path: Path, name: str):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def listing(folder: Path) -> list[str]:
    """The files in a folder, without the -shm a reader may leave (it holds no data)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith("-shm"))


def log_session(cli, day: str = "2026-11-20") -> int:
    result = cli(
        "session", "log", "Jane", "--pre", "7", "--post", "4", "--date", day,
        "--technique", "myofascial-release=25", "--technique", "swedish=20",
        "--region", "neck", "-f", "json",
    )  # fmt: skip
    return json.loads(result.stdout)["session_id"]


@pytest.fixture
def busy(practice, db_path) -> Cli:
    """The practice with two sessions logged."""
    log_session(practice, "2026-11-19")
    log_session(practice, "2026-11-20")
    return practice


@pytest.fixture
def umask_022():
    """A typical user's umask, so owner-only modes come from medmassage, not from the test run."""
    old = os.umask(0o022)
    yield
    os.umask(old)


BACKED_UP = re.compile(r"^Backed up to (.+) \((\d+) sessions, (\d+\.\d) MB\), verified$")


# --- backup ---------------------------------------------------------------------------------


@posix_only
def test_backup_is_owner_only_standalone_verified_and_identical(umask_022, busy, db_path, tmp_path):
    target = tmp_path / "out" / "copy.db"
    target.parent.mkdir()
    result = busy("db", "backup", str(target))
    match = BACKED_UP.match(result.stderr.strip())
    assert match, result.stderr
    assert match.group(1) == str(target) and match.group(2) == "2"
    assert float(match.group(3)) == pytest.approx(target.stat().st_size / 1e6, abs=0.05)
    assert result.stdout == ""
    assert mode(target) == 0o600
    # One standalone file (no temp, no -wal) and its manifest.
    assert listing(target.parent) == ["copy.db", "copy.db.manifest.json"]
    assert mode(target.parent / "copy.db.manifest.json") == 0o600
    assert pragma(target, "journal_mode") == "delete"
    assert pragma(target, "integrity_check") == "ok"
    assert dump(target) == dump(db_path)
    assert pragma(target, "application_id") == migrations.APPLICATION_ID
    assert pragma(target, "user_version") == migrations.LATEST_VERSION


def test_backup_includes_what_is_still_in_the_wal(busy, db_path, tmp_path):
    """A reader keeps the -wal from being checkpointed: the copy must still hold its rows."""
    reader = sqlite3.connect(db_path)
    try:
        reader.execute("SELECT count(*) FROM session").fetchone()
        log_session(busy, "2026-11-21")
        assert Path(f"{db_path}-wal").stat().st_size > 0
        target = tmp_path / "copy.db"
        busy("db", "backup", str(target))
    finally:
        reader.close()
    assert pragma(target, "integrity_check") == "ok"
    conn = sqlite3.connect(target)
    try:
        assert conn.execute("SELECT count(*) FROM session").fetchone()[0] == 3
    finally:
        conn.close()


@posix_only
def test_backup_without_file_goes_to_the_backups_folder(umask_022, busy, db_path):
    result = busy("db", "backup")
    path = Path(BACKED_UP.match(result.stderr.strip()).group(1))
    folder = db_path.parent / "backups"
    assert path.parent == folder
    assert re.fullmatch(r"practice-\d{4}-\d{2}-\d{2}-\d{6}\.db", path.name)
    assert mode(folder) == 0o700 and mode(path) == 0o600
    assert dump(path) == dump(db_path)
    second = Path(BACKED_UP.match(busy("db", "backup").stderr.strip()).group(1))
    assert second != path and second.exists() and path.exists()  # never over an earlier one


def test_backup_force_replaces_an_existing_file(busy, db_path, tmp_path):
    target = tmp_path / "copy.db"
    target.write_text("an older backup")
    busy("db", "backup", str(target), "--force")
    assert dump(target) == dump(db_path)


def _refusal_cases(db_path: Path, tmp_path: Path) -> dict[str, Path]:
    existing = tmp_path / "existing.db"
    existing.write_text("keep me")
    (tmp_path / "a-folder").mkdir()
    return {
        "live-db": db_path,
        "live-db-by-another-name": db_path.parent / ".." / db_path.parent.name / db_path.name,
        "live-wal": Path(f"{db_path}-wal"),
        "existing-file": existing,
        "missing-folder": tmp_path / "no-such-folder" / "copy.db",
        "a-folder": tmp_path / "a-folder",
    }


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("live-db", "is the practice database itself"),
        ("live-db-by-another-name", "is the practice database itself"),
        ("live-wal", "is the practice database itself"),
        ("existing-file", "exists; add --force to replace it"),
        ("missing-folder", "does not exist"),
        ("a-folder", "is a folder"),
    ],
)
def test_backup_refusals_exit_2_with_one_line_and_change_nothing(
    busy, db_path, tmp_path, case, words
):
    target = _refusal_cases(db_path, tmp_path)[case]
    before = dump(db_path)
    files = {folder: listing(folder) for folder in (tmp_path, db_path.parent)}
    result = busy("db", "backup", str(target), ok=False)
    assert result.exit_code == 2
    assert words in one_error_line(result)
    assert dump(db_path) == before
    assert {folder: listing(folder) for folder in files} == files
    if case == "existing-file":
        assert target.read_text() == "keep me"


def test_backup_with_no_database_yet_is_refused(cli, db_path, tmp_path):
    result = cli("db", "backup", str(tmp_path / "copy.db"), ok=False)
    assert result.exit_code == 2
    assert "nothing to back up" in one_error_line(result)
    assert not db_path.exists()
    assert not (tmp_path / "copy.db").exists()


@pytest.mark.parametrize("where", ["verification", "disk"])
def test_failed_backup_leaves_no_temp_file_and_the_old_file(
    busy, db_path, tmp_path, monkeypatch, where
):
    if where == "verification":
        monkeypatch.setattr(backup, "_differences", lambda conn, expected: ["session: 1 rows"])
    else:

        def full_disk(path):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(backup, "_fsync_file", full_disk)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "copy.db"
    target.write_text("the previous backup")
    result = busy("db", "backup", str(target), "--force", ok=False)
    assert result.exit_code == 1
    line = one_error_line(result)
    assert "nothing was" in line and str(target) in line
    assert listing(out) == ["copy.db"]  # no temp file, no -journal
    assert target.read_text() == "the previous backup"


# --- backups while another process writes ---------------------------------------------------

# A second program writing sessions as fast as it can, each with its technique and CPT lines in
# one transaction, until the stop file appears. Prints how many it committed.
WRITER = r"""
import os, sqlite3, sys
path, ready, stop = sys.argv[1:4]
conn = sqlite3.connect(path, timeout=30, isolation_level=None)
conn.execute("PRAGMA foreign_keys = ON")
conn.execute("PRAGMA synchronous = FULL")
done = 0
while not os.path.exists(stop):
    conn.execute("BEGIN IMMEDIATE")
    sid = conn.execute(
        "INSERT INTO session (case_id, date, minutes, pain_pre, pain_post, regions, units_rule, "
        "created) VALUES (1, '2026-11-20', 45, 7, 4, '[\"neck\"]', 'cms', "
        "'2026-11-20T10:00:00+00:00')"
    ).lastrowid
    for position, (technique, cpt, minutes, units) in enumerate(
        [("swedish", "97124", 25, 2), ("myofascial-release", "97140", 20, 1)], start=1
    ):
        conn.execute(
            "INSERT INTO session_technique (session_id, position, technique, cpt, minutes) "
            "VALUES (?, ?, ?, ?, ?)", (sid, position, technique, cpt, minutes))
        conn.execute(
            "INSERT INTO session_cpt (session_id, position, cpt, minutes, units) "
            "VALUES (?, ?, ?, ?, ?)", (sid, position, cpt, minutes, units))
    conn.execute("COMMIT")
    done += 1
    if done == 5:
        open(ready, "w").close()
conn.close()
print(done)
"""


def consistent_prefix(path: Path) -> int:
    """Checks a copy holds whole sessions only, numbered 1..N without a gap. Returns N."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        ids = [r[0] for r in conn.execute("SELECT id FROM session ORDER BY id")]
        assert ids == list(range(1, len(ids) + 1))
        for table in ("session_technique", "session_cpt"):
            lines = dict(
                conn.execute(f"SELECT session_id, count(*) FROM {table} GROUP BY session_id")
            )
            assert lines == dict.fromkeys(ids, 2), table
        return len(ids)
    finally:
        conn.close()


def test_backups_taken_while_another_process_writes_verify_and_restore(busy, db_path, tmp_path):
    ready, stop = tmp_path / "ready", tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db_path), str(ready), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    copies: list[Path] = []
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert writer.poll() is None, writer.stderr.read() if writer.stderr else ""
            assert time.monotonic() < deadline, "the writer did not start"
            time.sleep(0.01)
        for n in range(20):
            target = tmp_path / "copies" / f"copy-{n:02}.db"
            target.parent.mkdir(exist_ok=True)
            result = busy("db", "backup", str(target))
            assert BACKED_UP.match(result.stderr.strip()), result.stderr
            copies.append(target)
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    written = int(out)

    sessions = [consistent_prefix(copy) for copy in copies]
    assert sessions == sorted(sessions)  # each copy is a later snapshot
    assert len(set(sessions)) > 1, sessions  # the writer was writing while the copies were made
    assert sessions[-1] <= written + 2  # (+2: the sessions logged before the writer)
    assert listing(tmp_path / "copies") == sorted(
        [c.name for c in copies] + [f"{c.name}.manifest.json" for c in copies]
    )

    for n, copy in enumerate(copies):
        fresh = tmp_path / "fresh" / f"{n:02}" / "practice.db"
        result = Cli(fresh)("db", "restore", str(copy), "--yes")
        assert f"({sessions[n]} sessions" in result.stderr
        assert consistent_prefix(fresh) == sessions[n]
        assert pragma(fresh, "journal_mode") == "wal"
        assert sorted(p.name for p in fresh.parent.iterdir()) == ["practice.db"]  # no aside
    assert consistent_prefix(db_path) == written + 2
    print(
        f"{len(copies)}/20 backups taken while writing verified and restored; sessions in the "
        f"copies {sessions[0]}..{sessions[-1]} ({len(set(sessions))} distinct), "
        f"{written} sessions written"
    )


# --- restore --------------------------------------------------------------------------------


@posix_only
def test_restore_round_trip_keeps_the_current_database_aside(umask_022, busy, db_path, tmp_path):
    copy = tmp_path / "copy.db"
    busy("db", "backup", str(copy))
    at_backup = dump(copy)
    busy("client", "add", "John Roe", "--dob", "1975-01-01")
    log_session(busy, "2026-11-21")
    before_restore = dump(db_path)
    assert before_restore != at_backup

    result = busy("db", "restore", str(copy), "--yes")
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"Restored {copy} into {db_path} (2 sessions)"
    assert re.fullmatch(
        r"The previous database \(3 sessions\) is kept as .*/practice\.db\.before-restore-"
        r"\d{8}-\d{6}",
        lines[1],
    )
    assert len(lines) == 2
    aside = Path(lines[1].rsplit(" ", 1)[1])

    assert dump(db_path) == at_backup
    assert pragma(db_path, "journal_mode") == "wal"
    assert pragma(db_path, "integrity_check") == "ok"
    assert mode(db_path) == 0o600
    assert dump(aside) == before_restore
    assert mode(aside) == 0o600
    assert pragma(aside, "journal_mode") == "delete"  # one standalone file
    assert listing(db_path.parent) == ["practice.db", aside.name]
    assert dump(copy) == at_backup  # the backup itself is untouched

    # both open with medmassage: the restored database, and the one kept aside
    assert "John Roe" not in busy("client", "list", "-f", "json").stdout
    assert "John Roe" in Cli(aside)("client", "list", "-f", "json").stdout
    log_session(busy, "2026-11-22")  # and the restored one takes new work


def test_restore_in_a_script_needs_yes(busy, db_path, tmp_path):
    copy = tmp_path / "copy.db"
    busy("db", "backup", str(copy))
    busy("client", "add", "John Roe")
    before = dump(db_path)
    result = busy("db", "restore", str(copy), ok=False)
    assert result.exit_code == 2
    assert "add --yes" in one_error_line(result)
    assert dump(db_path) == before
    assert listing(db_path.parent) == ["practice.db"]


def test_restore_on_a_terminal_asks_first(busy, db_path, tmp_path, monkeypatch):
    import medmassage.cli.db_backup as command

    monkeypatch.setattr(command, "is_interactive", lambda: True)
    copy = tmp_path / "copy.db"
    busy("db", "backup", str(copy))
    busy("client", "add", "John Roe")
    before = dump(db_path)

    result = busy("db", "restore", str(copy), input="n\n", ok=False)
    assert result.exit_code == 1
    assert "Restore" in result.stderr and "(2 sessions)" in result.stderr
    assert "Replace the practice database? [y/N]" in result.stderr
    # (on a terminal the typed answer ends the prompt's line; CliRunner does not echo it)
    assert result.stderr.rstrip().endswith("error: restore cancelled; nothing was changed")
    assert dump(db_path) == before
    assert listing(db_path.parent) == ["practice.db"]

    result = busy("db", "restore", str(copy), input="y\n")
    assert f"Restored {copy}" in result.stderr
    assert dump(db_path) == dump(copy)


def _database_at(path: Path, version: int) -> None:
    """A database as an older medmassage left it: migrations 1..version, with one client."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    for number, _, script in migrations.MIGRATIONS[:version]:
        conn.execute("BEGIN")
        for statement in db._statements(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
        if number == 1:
            conn.execute(f"PRAGMA application_id = {migrations.APPLICATION_ID}")
        conn.execute("COMMIT")
    conn.execute(
        "INSERT INTO client (id, name, dob, created) "
        "VALUES (1, 'Jane Doe', '1980-04-02', '2026-11-01T09:00:00+00:00')"
    )
    conn.close()


def test_restore_of_an_older_backup_migrates_it(busy, db_path, tmp_path):
    old = tmp_path / "old.db"
    _database_at(old, 1)
    result = busy("db", "restore", str(old), "--yes")
    assert "(0 sessions, schema 1 migrated)" in result.stderr
    assert pragma(db_path, "user_version") == migrations.LATEST_VERSION
    assert db.missing_triggers(sqlite3.connect(db_path)) == []
    assert "Jane Doe" in busy("client", "list", "-f", "json").stdout
    assert pragma(old, "user_version") == 1  # the file restored is read, never written


def _bad_file(kind: str, good: Path, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.db"
    if kind == "not-a-database":
        path.write_text("client,date\nJane Doe,2026-11-20\n" * 300)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "other-sqlite-database":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.execute("INSERT INTO notes VALUES ('hello')")
        conn.commit()
        conn.close()
    elif kind in ("newer-schema", "trigger-dropped", "broken-links"):
        path.write_bytes(good.read_bytes())
        conn = sqlite3.connect(path, isolation_level=None)
        if kind == "newer-schema":
            conn.execute(f"PRAGMA user_version = {migrations.LATEST_VERSION + 1}")
        elif kind == "trigger-dropped":
            conn.execute("DROP TRIGGER audit_no_delete")
        else:
            conn.execute("PRAGMA foreign_keys = OFF")  # a measure of a case that is not there
            conn.execute(
                "INSERT INTO measure (case_id, date, kind, score, created) "
                "VALUES (999, '2026-11-20', 'nprs', 5, '2026-11-20T10:00:00+00:00')"
            )
        conn.close()
    elif kind == "missing":
        pass
    elif kind == "a-folder":
        path.mkdir()
    return path


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("not-a-database", "is not a readable SQLite database"),
        ("empty", "is not a medmassage database"),
        ("truncated", "SQLite database"),
        ("other-sqlite-database", "is not a medmassage database"),
        ("newer-schema", "was written by a newer medmassage"),
        ("trigger-dropped", "lacks protective triggers (audit_no_delete)"),
        ("broken-links", "has 1 record pointing at missing ones"),
        ("missing", "does not exist"),
        ("a-folder", "is a folder"),
    ],
)
def test_restore_of_a_bad_file_exits_2_with_one_line_and_changes_nothing(
    busy, db_path, tmp_path, kind, words
):
    good = tmp_path / "good.db"
    busy("db", "backup", str(good))
    bad = _bad_file(kind, good, tmp_path)
    content = bad.read_bytes() if bad.is_file() else None
    busy("client", "add", "John Roe")
    before = dump(db_path)
    files = listing(tmp_path)
    result = busy("db", "restore", str(bad), "--yes", ok=False)
    assert result.exit_code == 2, result.stderr
    line = one_error_line(result)
    assert words in line and line.endswith("nothing was changed"), line
    assert dump(db_path) == before
    assert listing(db_path.parent) == ["practice.db"]  # no aside, no staged copy
    assert listing(tmp_path) == files
    if content is not None:
        assert bad.read_bytes() == content


def test_restore_of_the_database_itself_is_refused(busy, db_path):
    before = dump(db_path)
    result = busy("db", "restore", str(db_path), "--yes", ok=False)
    assert result.exit_code == 2
    assert "is the practice database itself" in one_error_line(result)
    assert dump(db_path) == before


# Another program with the database open: a connection that has read, then waits.
HOLDER = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT count(*) FROM session").fetchone()
print("open", flush=True)
sys.stdin.read()
conn.close()
"""


def test_restore_is_refused_while_another_program_has_the_database_open(
    busy, db_path, tmp_path, monkeypatch
):
    monkeypatch.setattr(backup, "LOCK_WAIT_S", 0.3)
    copy = tmp_path / "copy.db"
    busy("db", "backup", str(copy))
    busy("client", "add", "John Roe")
    before = dump(db_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        result = busy("db", "restore", str(copy), "--yes", ok=False)
    finally:
        holder.communicate("", timeout=30)
    assert result.exit_code == 1
    line = one_error_line(result)
    assert "another program has the practice database open" in line
    assert line.endswith("Nothing was changed")
    assert dump(db_path) == before
    assert listing(db_path.parent) == ["practice.db"]
    busy("db", "restore", str(copy), "--yes")  # once it is closed, the restore goes ahead
    assert dump(db_path) == dump(copy)


def test_a_restore_that_does_not_verify_puts_the_previous_database_back(
    busy, db_path, tmp_path, monkeypatch
):
    copy = tmp_path / "copy.db"
    busy("db", "backup", str(copy))
    busy("client", "add", "John Roe")
    before = dump(db_path)
    real = backup._differences

    def wrong_after_the_swap(conn, expected):
        found = real(conn, expected)
        return (
            found
            if conn.execute("PRAGMA locking_mode").fetchone()[0] != "exclusive"
            else ["client: 1 rows, not 2"]
        )

    monkeypatch.setattr(backup, "_differences", wrong_after_the_swap)
    result = busy("db", "restore", str(copy), "--yes", ok=False)
    assert result.exit_code == 1
    assert "the previous one was put back" in one_error_line(result)
    assert dump(db_path) == before


def _corrupt_a_page(path: Path, table: str) -> None:
    """Garbage in a table's root page (the file header, page 1's first 100 bytes, stays)."""
    conn = sqlite3.connect(path)
    root, size = (
        conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        if table != "sqlite_master"
        else 1,
        conn.execute("PRAGMA page_size").fetchone()[0],
    )
    conn.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * size + (100 if root == 1 else 0) + 8)  # into the b-tree header
        f.write(b"\xff\x13" * 200)


@pytest.mark.parametrize(
    "damage", ["a-damaged-page", "a-damaged-schema", "zeroed", "overwritten-by-a-report"]
)
def test_restore_over_a_damaged_database_keeps_the_damaged_one_aside(
    busy, db_path, tmp_path, damage
):
    copy = tmp_path / "copy.db"
    busy("db", "backup", str(copy))
    if damage.startswith("a-damaged"):
        _corrupt_a_page(db_path, "session" if damage == "a-damaged-page" else "sqlite_master")
        conn = sqlite3.connect(db_path)
        assert backup._damage(conn)  # integrity_check findings, or "malformed"
        conn.close()
    elif damage == "zeroed":
        db_path.write_bytes(b"\x00" * db_path.stat().st_size)
    else:
        db_path.write_text("Monthly report\nvisits: 2\n")
    damaged = db_path.read_bytes()

    result = busy("db", "restore", str(copy), "--yes")
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"Restored {copy} into {db_path} (2 sessions)"
    assert lines[1].startswith("The previous database (damaged or unreadable) is kept as it was: ")
    aside = Path(lines[1].rsplit(" ", 1)[1])
    assert dump(db_path) == dump(copy)
    assert pragma(db_path, "journal_mode") == "wal"
    kept = aside.read_bytes()
    if damage.startswith("a-damaged"):  # copied page by page: the same pages after the header
        assert len(kept) == len(damaged) and kept[100:] == damaged[100:]
    else:  # not a database at all: its bytes as they were
        assert kept == damaged
    assert mode(aside) == 0o600
    assert listing(db_path.parent) == ["practice.db", aside.name]


def test_restore_of_a_backup_with_another_page_size(busy, db_path, tmp_path):
    """A WAL database takes a backup only of its own page size: the staged copy is rebuilt."""
    copy = tmp_path / "copy.db"
    busy("db", "backup", str(copy))
    conn = sqlite3.connect(copy, isolation_level=None)
    conn.execute("PRAGMA page_size = 1024")
    conn.execute("VACUUM")
    conn.close()
    assert pragma(copy, "page_size") == 1024
    # Changed on purpose after it was made: its manifest would refuse it, so it goes.
    (tmp_path / "copy.db.manifest.json").unlink()
    busy("client", "add", "John Roe")
    busy("db", "restore", str(copy), "--yes")
    assert dump(db_path) == dump(copy)
    assert pragma(db_path, "page_size") == 4096
    assert pragma(db_path, "integrity_check") == "ok"


def test_restore_of_a_wal_mode_file_leaves_nothing_beside_it(busy, db_path, tmp_path):
    """A closed practice.db copied elsewhere is a WAL-mode file: read read-only, it must not
    gain a -wal/-shm pair beside it."""
    other = tmp_path / "elsewhere" / "practice.db"
    other.parent.mkdir()
    other.write_bytes(db_path.read_bytes())  # closed: the -wal is folded in
    assert pragma(other, "journal_mode") == "wal"
    busy("client", "add", "John Roe")
    busy("db", "restore", str(other), "--yes")
    assert listing(other.parent) == ["practice.db"]
    assert not Path(f"{other}-shm").exists()
    assert "John Roe" not in busy("client", "list", "-f", "json").stdout
