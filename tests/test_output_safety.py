"""`-o FILE` can never destroy a record (issue 12, item 4; SPEC §13).

Every command with -o refuses, in one line (exit 2, nothing written), a target that is a SQLite
database, a WAL, journal or -shm file (by its first bytes, or by its name beside a database), an
encrypted- or damaged-looking database (whole pages, no text start), a folder, FIFO, socket or
device, or a symlink to any of these; a symlink to an ordinary file is written through (the link
stays a link). A command that fails after writing its file (`summary` whose record of the report
cannot be committed: refused, failing at COMMIT, or busy) removes it and puts back the file that
was there. A killed `db backup` leaves an owner-only temp copy, which the next `db backup` or
`db check` removes.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import count_rows, query, run_subprocess


def one_error_line(result) -> str:
    """The one error line, last on stderr (after what the command said before: "Nothing is
    due.", a summary's warnings); no traceback."""
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return errors[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Temp files a write left behind (render.write_file's and export's `.NAME.tmpPID`)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def billed(practice):
    """The practice fixture with a fee and one signed visit: every -o command has data."""
    practice("profile", "set", "--fee", "97124=38")
    practice(
        "session", "log", "Jane", "--date", "2026-11-20", "--pre", "6", "--post", "3",
        "--technique", "swedish=30", "--region", "neck", "--sign",
    )  # fmt: skip
    return practice


COMMANDS = {
    "client list": ["client", "list", "-f", "json"],
    "session list": ["session", "list", "-f", "json"],
    "progress": ["progress", "Jane", "-f", "json"],
    "report monthly": ["report", "monthly", "-f", "json"],
    "report due": ["report", "due", "-f", "json"],
    "summary": ["summary", "Jane", "-f", "json"],
    "superbill": ["superbill", "Jane", "-f", "json"],
    "export all": ["export", "all", "-f", "json"],
    "export fhir": ["export", "fhir", "Jane"],
}


def foreign_database(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.execute("INSERT INTO notes VALUES ('another program''s data')")
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def fifo(tmp_path):
    """A FIFO with its read end held open (non-blocking): a command that opened it to write
    would not hang the test, and what it wrote would be read back."""
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    yield path
    try:
        assert os.read(reader, 1 << 16) == b"", "something was written into the FIFO"
    finally:
        os.close(reader)


@pytest.mark.parametrize("command", list(COMMANDS), ids=str)
def test_every_output_command_refuses_a_sqlite_database(billed, db_path, tmp_path, command):
    target = foreign_database(tmp_path / "other.db")
    before = digest(target)
    rows = count_rows(db_path)
    result = billed(*COMMANDS[command], "-o", str(target), ok=False)
    assert result.exit_code == 2, result.stderr
    assert one_error_line(result) == (
        f"error: output: '{target}' — is a SQLite database; choose another file name"
    )
    assert digest(target) == before
    assert count_rows(db_path) == rows  # summary recorded no report either
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("command", list(COMMANDS), ids=str)
def test_every_output_command_refuses_a_fifo(billed, db_path, fifo, command):
    rows = count_rows(db_path)
    result = billed(*COMMANDS[command], "-o", str(fifo), ok=False)
    assert result.exit_code == 2, result.stderr
    assert one_error_line(result) == (
        f"error: output: '{fifo}' — is a FIFO (named pipe); -o writes regular files only"
    )
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert count_rows(db_path) == rows
    assert leftovers(fifo.parent) == []


def _wal_bytes(tmp_path: Path) -> tuple[bytes, bytes]:
    """The bytes of a real -wal and -shm file, read while their connection is open."""
    db = tmp_path / "walsource.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    data = Path(f"{db}-wal").read_bytes()
    shm = Path(f"{db}-shm").read_bytes()
    conn.close()
    return data, shm


def _make(kind: str, tmp_path: Path) -> tuple[Path, str]:
    """A target of `kind` and the words its refusal must end with."""
    if kind == "wal-by-content":
        wal, _ = _wal_bytes(tmp_path)
        path = tmp_path / "report.json"
        path.write_bytes(wal)
        return path, "is a SQLite WAL file; choose another file name"
    if kind == "shm-by-content":
        _, shm = _wal_bytes(tmp_path)
        path = tmp_path / "report.json"
        path.write_bytes(shm)
        return path, "is a SQLite shared-memory (-shm) file; choose another file name"
    if kind in ("wal-by-name", "shm-by-name", "journal-by-name"):
        base = foreign_database(tmp_path / "other.db")
        suffix = "-" + kind.split("-")[0]
        path = Path(f"{base}{suffix}")  # not there: its name alone would pair it with other.db
        return path, f"is named as a file of the database {base}; choose another file name"
    if kind == "encrypted-looking":
        path = tmp_path / "old.json"
        path.write_bytes(os.urandom(4096))
        return path, "is whole pages of binary data (an encrypted or damaged database?); " + (
            "choose another file name"
        )
    if kind == "zeroed-database":
        path = tmp_path / "old.json"
        path.write_bytes(bytes(8192))
        return path, "is whole pages of binary data (an encrypted or damaged database?); " + (
            "choose another file name"
        )
    if kind == "device":
        return Path(os.devnull), "is a device; -o writes regular files only"
    if kind == "socket":
        path = tmp_path / "sock.json"
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        _SOCKETS.append(server)
        return path, "is a socket; -o writes regular files only"
    if kind == "symlink-to-fifo":
        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
        path = tmp_path / "link.json"
        path.symlink_to(fifo)
        return path, f"links to {fifo}, which is a FIFO (named pipe); -o writes regular files only"
    if kind == "symlink-to-database":
        other = foreign_database(tmp_path / "other.db")
        path = tmp_path / "link.json"
        path.symlink_to(other)
        return path, f"links to {other}, which is a SQLite database; choose another file name"
    if kind == "symlink-to-device":
        path = tmp_path / "link.json"
        path.symlink_to(os.devnull)
        return path, f"links to {os.devnull}, which is a device; -o writes regular files only"
    raise AssertionError(kind)


_SOCKETS: list[socket.socket] = []

KINDS = [
    "wal-by-content",
    "shm-by-content",
    "wal-by-name",
    "shm-by-name",
    "journal-by-name",
    "encrypted-looking",
    "zeroed-database",
    "device",
    "socket",
    "symlink-to-fifo",
    "symlink-to-database",
    "symlink-to-device",
]


def _state(path: Path) -> tuple:
    """What a refusal must leave as it was: the link, the kind of file, the bytes."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ("absent",)
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(path), _state(Path(os.path.realpath(path))))
    if stat.S_ISREG(st.st_mode):
        return ("file", st.st_mode, digest(path))
    return ("special", stat.S_IFMT(st.st_mode), st.st_rdev)


@pytest.mark.parametrize("kind", KINDS)
def test_output_refuses_every_file_of_a_database_and_every_special_file(
    billed, db_path, tmp_path, kind
):
    target, words = _make(kind, tmp_path)
    before = _state(target)
    rows = count_rows(db_path)
    try:
        for command in ("client list", "summary"):
            result = billed(*COMMANDS[command], "-o", str(target), ok=False)
            assert result.exit_code == 2, result.stderr
            assert one_error_line(result) == f"error: output: '{target}' — {words}"
            assert _state(target) == before
    finally:
        for server in _SOCKETS:
            server.close()
        _SOCKETS.clear()
    assert count_rows(db_path) == rows
    assert leftovers(tmp_path) == []


def test_the_practice_database_and_all_its_files_are_refused(billed, db_path, tmp_path):
    rows, before = count_rows(db_path), digest(db_path)
    link = tmp_path / "link.json"
    link.symlink_to(db_path)
    for target in (db_path, f"{db_path}-wal", f"{db_path}-shm", f"{db_path}-journal", link):
        result = billed("client", "list", "-f", "json", "-o", str(target), ok=False)
        assert result.exit_code == 2, result.stderr
        assert one_error_line(result) == (
            f"error: output: '{target}' — is the practice database itself"
        )
    assert count_rows(db_path) == rows and digest(db_path) == before
    assert link.is_symlink()


def test_a_csv_export_refuses_a_database_inside_its_folder(billed, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    planted = foreign_database(folder / "client.csv")
    before = digest(planted)
    result = billed("export", "all", "-f", "csv", "-o", str(folder), ok=False)
    assert result.exit_code == 2
    assert one_error_line(result).endswith("is a SQLite database; choose another file name")
    assert digest(planted) == before
    assert sorted(p.name for p in folder.iterdir()) == ["client.csv"]  # nothing renamed in


def test_a_symlink_to_a_file_is_written_through_and_stays_a_link(billed, tmp_path):
    real = tmp_path / "reports" / "clients.json"
    real.parent.mkdir()
    real.write_text("an older listing\n" * 40)  # 680 bytes of text: replaced, not refused
    real.chmod(0o644)
    link = tmp_path / "clients.json"
    link.symlink_to(real)
    billed("client", "list", "-f", "json", "-o", str(link))
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert '"Jane Doe"' in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o600  # replaced by an owner-only file
    assert leftovers(tmp_path) == [] and leftovers(real.parent) == []


def test_a_dangling_symlink_creates_its_target(billed, tmp_path):
    real = tmp_path / "new.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    billed("client", "list", "-f", "json", "-o", str(link))
    assert link.is_symlink() and '"Jane Doe"' in real.read_text()


def test_a_pdf_or_text_file_of_whole_pages_is_still_replaced(billed, tmp_path):
    """The binary-pages rule does not catch the formats -o writes."""
    for name, data in (("old.json", b"[\n" + b" " * 1020 + b"]\n"), ("old.md", b"# x\n" * 256)):
        path = tmp_path / name
        path.write_bytes(data)
        assert path.stat().st_size % 512 == 0
        fmt = "json" if name.endswith(".json") else "md"
        billed("client", "list", "-f", fmt, "-o", str(path))
        assert "Jane Doe" in path.read_text()
    old_pdf = tmp_path / "old.pdf"
    old_pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(1024 - 15))
    billed("summary", "Jane", "--preview", "-o", str(old_pdf))
    assert old_pdf.read_bytes().startswith(b"%PDF-") and old_pdf.stat().st_size != 1024


# --- a command that fails after writing its file removes it -------------------------------------


def _reports(db: Path) -> int:
    return query(db, "SELECT count(*) FROM progress_report")[0][0]


def _raw(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(db, isolation_level=None)


def test_summary_whose_report_is_refused_leaves_no_file(billed, db_path, tmp_path):
    conn = _raw(db_path)
    conn.execute(
        "CREATE TRIGGER test_refuse BEFORE INSERT ON progress_report "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    )
    conn.close()
    target = tmp_path / "summary.json"
    result = billed("summary", "Jane", "-o", str(target), ok=False)
    assert result.exit_code == 2
    assert "refused by the test" in one_error_line(result)
    assert not target.exists() and leftovers(tmp_path) == []
    assert _reports(db_path) == 0


def _fail_at_commit(db: Path) -> None:
    """A deferred foreign key that the recorded report breaks: checked only at COMMIT."""
    conn = _raw(db)
    conn.execute("CREATE TABLE test_parent (id INTEGER PRIMARY KEY)")
    conn.execute(
        "CREATE TABLE test_child (parent INTEGER REFERENCES test_parent (id) "
        "DEFERRABLE INITIALLY DEFERRED)"
    )
    conn.execute(
        "CREATE TRIGGER test_at_commit AFTER INSERT ON progress_report "
        "BEGIN INSERT INTO test_child VALUES (999); END"
    )
    conn.close()


def test_summary_whose_commit_fails_removes_its_file_and_puts_the_old_one_back(
    billed, db_path, tmp_path
):
    _fail_at_commit(db_path)
    new = tmp_path / "new.json"
    result = billed("summary", "Jane", "-o", str(new), ok=False)
    assert result.exit_code == 2
    assert "FOREIGN KEY constraint failed" in one_error_line(result)
    assert not new.exists()
    old = tmp_path / "old.json"
    old.write_text('{"an": "older summary"}\n')
    old.chmod(0o600)
    before = (digest(old), os.stat(old).st_ino)
    result = billed("summary", "Jane", "-o", str(old), ok=False)
    assert result.exit_code == 2
    assert (digest(old), os.stat(old).st_ino) == before  # the very file that was there
    assert leftovers(tmp_path) == []
    assert _reports(db_path) == 0


def test_summary_on_a_busy_database_leaves_no_file(billed, db_path, tmp_path):
    """Another program holds the write lock for longer than the busy timeout (db.BUSY_TIMEOUT_S,
    5 s): the real entry point waits, gives up, and leaves neither a file nor a record."""
    holder = _raw(db_path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        target = tmp_path / "summary.json"
        started = time.monotonic()
        result = run_subprocess("--db", str(db_path), "summary", "Jane", "-o", str(target))
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1, result.stderr
    assert "the database is busy" in one_error_line(result)
    assert waited >= 4
    assert not target.exists() and leftovers(tmp_path) == []
    assert _reports(db_path) == 0
    billed("summary", "Jane", "-o", str(target))  # and once free, it works
    assert target.exists() and _reports(db_path) == 1


# --- backup temp files --------------------------------------------------------------------------


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def _plant(folder: Path, name: str, pid: int) -> list[Path]:
    """A temp copy as a killed backup leaves it (0600, with a -journal beside it)."""
    temp = folder / f".{name}.backup-tmp{pid}"
    planted = [temp, Path(f"{temp}-journal")]
    for path in planted:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.write(fd, b"a copy of the records")
        os.close(fd)
    return planted


def test_the_next_backup_and_db_check_remove_what_a_killed_backup_left(practice, db_path, tmp_path):
    backups = db_path.parent / "backups"
    backups.mkdir(mode=0o700)
    elsewhere = tmp_path / "usb"
    elsewhere.mkdir()
    dead = _dead_pid()
    stale = _plant(backups, "practice-2026-11-26-101010.db", dead)
    stale += _plant(elsewhere, "copy.db", dead)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        running = _plant(elsewhere, "other.db", alive.pid)  # a backup still copying: kept
        result = practice("db", "backup", str(elsewhere / "copy.db"))
        assert "removed 4 file(s) left by an interrupted backup or restore" in result.stderr
        assert not any(p.exists() for p in stale)
        assert all(p.exists() for p in running)
    finally:
        alive.kill()
        alive.wait()
    again = _plant(backups, "practice-2026-11-26-111111.db", dead)
    result = practice("db", "check", ok=False)  # exit code: the checks' own business
    assert "removed 2 file(s) left by an interrupted backup or restore" in result.stderr
    assert not any(p.exists() for p in again)


def test_a_killed_backup_leaves_an_owner_only_copy_that_the_next_backup_removes(
    practice, db_path, tmp_path
):
    # Large enough that the copy and its check take a while: 48 MB of filler.
    conn = _raw(db_path)
    conn.execute("CREATE TABLE test_filler (x BLOB)")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO test_filler VALUES (randomblob(?))", [(1 << 16,) for _ in range(768)]
    )
    conn.execute("COMMIT")
    conn.close()
    folder = tmp_path / "copies"
    folder.mkdir()
    for _attempt in range(5):
        child = subprocess.Popen(
            [sys.executable, "-m", "medmassage", "--db", str(db_path), "db", "backup",
             str(folder / "copy.db"), "--force"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        temps: list[Path] = []
        modes: list[int] = []
        while child.poll() is None and not temps:
            temps = [p for p in folder.iterdir() if ".backup-tmp" in p.name]
        if temps:
            os.kill(child.pid, 9)  # the child this test started
            modes = [stat.S_IMODE(p.stat().st_mode) for p in temps if p.exists()]
        child.wait()
        left = [p for p in folder.iterdir() if ".backup-tmp" in p.name]
        if left:
            break
    else:
        pytest.skip("every backup finished before it could be killed")
    assert modes and set(modes) == {0o600}, modes  # never readable by others, even mid-copy
    assert {stat.S_IMODE(p.stat().st_mode) for p in left} == {0o600}
    result = practice("db", "backup", str(folder / "copy.db"), "--force")
    assert "left by an interrupted backup or restore" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["copy.db", "copy.db.manifest.json"]


def test_a_name_ending_in_wal_beside_a_file_that_is_no_database_is_fine(billed, tmp_path):
    (tmp_path / "notes").write_text("a text file, not a database\n")
    target = tmp_path / "notes-journal"
    billed("client", "list", "-f", "json", "-o", str(target))
    assert '"Jane Doe"' in target.read_text()
