"""Encryption at rest (SPEC §8, issue 5; notes-storage-and-security §4): `db encrypt | decrypt |
rekey`, and every command on an encrypted database.

Keys reach the CLI as they would for a user: from the OS keyring (here an in-memory backend set
in-process, so no test ever touches a real keyring) or typed at a prompt on a pseudo-terminal.
There is no option or environment variable for a key.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

dbapi2 = pytest.importorskip("sqlcipher3.dbapi2")
keyring = pytest.importorskip("keyring")

from keyring.backend import KeyringBackend  # noqa: E402

from medmassage.store import crypto, db, encryption, migrations  # noqa: E402
from tests.conftest import run_subprocess  # noqa: E402

MARKER = "ZQX-MARKER-7f3a"  # in every note: must never appear in the files on disk
KEY = "correct horse battery staple"


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in this test process only."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.secrets[(service, username)]


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch):
    # Subprocesses get a keyring that stores nothing; this process, the in-memory one.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def account(path: Path) -> str:
    return str(path.resolve())


def store(path: Path, key: str = KEY) -> None:
    keyring.set_password("medmassage", account(path), key)


def files_beside(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.parent.iterdir()) if p.is_file()}


def digest(path: Path) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files_beside(path).items()}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def open_raw(path: Path, key: str = KEY):
    """sqlcipher3 directly: no medmassage code between the test and the file."""
    conn = dbapi2.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(f"PRAGMA key = '{key}'")
    return conn


def log_session(cli, day: str, note: str) -> int:
    result = cli(
        "session", "log", "Jane", "--pre", "7", "--post", "4", "--date", day,
        "--technique", "myofascial-release=25", "--region", "neck",
        "--subjective", note, "--assessment", f"{note} assessed", "-f", "json",
    )  # fmt: skip
    return json.loads(result.stdout)["session_id"]


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


@pytest.fixture
def notes(practice, db_path) -> list[int]:
    """Jane's practice with two sessions whose notes carry MARKER."""
    ids = [
        log_session(practice, "2026-11-20", f"{MARKER} neck stiff"),
        log_session(practice, "2026-11-24", f"{MARKER} better"),
    ]
    assert MARKER.encode() in b"".join(files_beside(db_path).values())  # plaintext to begin
    return ids


@pytest.fixture
def encrypted(notes, practice, db_path) -> Path:
    """The practice above, encrypted with KEY (kept in the in-memory keyring)."""
    store(db_path)
    result = practice("db", "encrypt", "--keyring")
    assert "encrypted" in result.stderr
    return db_path


# --- db encrypt -----------------------------------------------------------------------------------


def test_encrypted_database_hides_the_notes_and_every_command_still_reads_them(
    encrypted, practice, notes
):
    db_path = encrypted
    assert db_path.read_bytes()[:16] != crypto.SQLITE_HEADER
    assert set(files_beside(db_path)) == {"practice.db"}  # no temp, no plaintext left beside it
    assert MARKER.encode() not in db_path.read_bytes()

    shown = practice("session", "show", str(notes[0]))
    assert f"{MARKER} neck stiff" in shown.stdout
    listed = practice("session", "list", "Jane")
    assert "2026-11-20" in listed.stdout and "2026-11-24" in listed.stdout
    progress = practice("progress", "Jane")
    assert "2026-11-24" in progress.stdout

    # A write while another connection keeps the WAL alive: the WAL is encrypted too.
    holder, _ = db.connect(db_path, key=KEY)
    try:
        new_id = log_session(practice, "2026-11-26", f"{MARKER} third")
        wal = Path(f"{db_path}-wal")
        assert wal.stat().st_size > 0
        for name, data in files_beside(db_path).items():
            assert MARKER.encode() not in data, name
        modes = {p.name: mode(p) for p in db_path.parent.iterdir()}
        assert modes == dict.fromkeys(["practice.db", "practice.db-wal", "practice.db-shm"], 0o600)
    finally:
        holder.close()
    assert mode(db_path.parent) == 0o700
    assert f"{MARKER} third" in practice("session", "show", str(new_id)).stdout


def test_stock_sqlite_cannot_read_the_encrypted_file(encrypted):
    conn = sqlite3.connect(encrypted)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="not a database"):
            conn.execute("SELECT count(*) FROM session").fetchone()
    finally:
        conn.close()


def test_encrypted_database_keeps_the_pragmas_and_the_schema(encrypted):
    conn, notes_ = db.connect(encrypted, key=KEY)
    try:
        assert notes_ == []

        def pragma(name: str):
            return conn.execute(f"PRAGMA {name}").fetchone()[0]

        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 2
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == 5000
        assert pragma("secure_delete") == 1
        assert pragma("user_version") == migrations.LATEST_VERSION
        assert pragma("application_id") == migrations.APPLICATION_ID
        assert db.missing_triggers(conn) == []
        assert conn.execute("PRAGMA cipher_integrity_check").fetchall() == []  # HMACs all good
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def test_encrypt_keeps_every_row(notes, practice, db_path):
    conn = sqlite3.connect(db_path)
    tables = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if r[0] not in migrations.SEARCH_TABLES  # the search index: derived, no rowid column
    ]
    before = {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}
    conn.close()
    store(db_path)
    practice("db", "encrypt", "--keyring")
    conn = open_raw(db_path)
    try:
        after = {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}
    finally:
        conn.close()
    assert after == before


def test_encrypt_says_what_became_of_the_plaintext(notes, practice, db_path):
    store(db_path)
    err = practice("db", "encrypt", "--keyring").stderr
    assert "the plaintext file was overwritten with zeros and removed" in err
    assert "make a new backup" in err
    assert "used the key already kept in the OS keyring" in err


def test_encrypt_removes_the_temp_copies_a_killed_command_left_and_names_plaintext_copies(
    notes, practice, db_path, tmp_path
):
    """Before encrypting, the tool's own temp copies left by a killed command (plaintext
    records) are removed; what it keeps on purpose in plaintext is named, never read out."""
    practice("db", "backup")  # a plaintext backup in backups/
    dead = 2**22 + 12345  # no such process
    left = [
        db_path.with_name(f".{db_path.name}.convert-tmp{dead}"),
        db_path.with_name(f".{db_path.name}.backup-tmp{dead}"),
    ]
    for path in left:
        path.write_bytes(MARKER.encode())
    store(db_path)
    err = practice("db", "encrypt", "--keyring").stderr
    assert not any(p.exists() for p in left)
    assert "older backup(s)" in err and "are not encrypted" in err
    assert MARKER not in err
    leftovers = {
        name: data
        for name, data in files_beside(db_path).items()
        if name.startswith(".") and MARKER.encode() in data
    }
    assert leftovers == {}


def test_keep_plaintext_keeps_the_old_file_owner_only(notes, practice, db_path):
    store(db_path)
    err = practice("db", "encrypt", "--keyring", "--keep-plaintext").stderr
    kept = db_path.with_name("practice.plaintext.db")
    assert f"kept as {kept}" in err and "NOT encrypted" in err
    assert mode(kept) == 0o600
    assert MARKER.encode() in kept.read_bytes()
    assert MARKER.encode() not in db_path.read_bytes()
    conn = sqlite3.connect(kept)
    assert conn.execute("SELECT count(*) FROM session").fetchone()[0] == 2
    conn.close()
    again = practice("db", "encrypt", "--keep-plaintext", ok=False)  # already encrypted
    assert again.exit_code == 0 and "already encrypted" in again.stderr


def test_encrypt_without_a_terminal_or_a_stored_key_changes_nothing(notes, practice, db_path):
    before = digest(db_path)
    result = practice("db", "encrypt", ok=False)
    assert result.exit_code == 2
    assert "typed on a terminal" in one_error_line(result)
    assert digest(db_path) == before


def test_encrypt_without_the_extra_is_one_line(notes, practice, db_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sqlcipher3", None)  # `import sqlcipher3` fails
    monkeypatch.delitem(sys.modules, "sqlcipher3.dbapi2")
    before = digest(db_path)
    store(db_path)
    result = practice("db", "encrypt", "--keyring", ok=False)
    assert result.exit_code == 1
    assert "pip install 'medmassage[encrypt]'" in one_error_line(result)
    assert digest(db_path) == before


def test_encrypt_waits_for_no_one_and_changes_nothing_while_another_program_has_it_open(
    notes, practice, db_path, monkeypatch
):
    monkeypatch.setattr(db, "BUSY_TIMEOUT_S", 0.5)
    holder = subprocess.Popen(
        [
            sys.executable, "-c",
            "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('SELECT count(*) FROM session').fetchone(); print('open', flush=True); "
            "time.sleep(30)",
            str(db_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "open"
        store(db_path)
        result = practice("db", "encrypt", "--keyring", ok=False)
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1
    assert "another program has the practice database open" in one_error_line(result)
    assert db_path.read_bytes()[:16] == crypto.SQLITE_HEADER
    assert [p.name for p in db_path.parent.iterdir() if "tmp" in p.name] == []
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT count(*) FROM session").fetchone()[0] == 2
    conn.close()


def test_a_copy_that_does_not_verify_is_never_swapped_in(notes, practice, db_path, monkeypatch):
    monkeypatch.setattr(encryption, "_differences", lambda *a, **k: ["session: 1 rows, not 2"])
    store(db_path)
    result = practice("db", "encrypt", "--keyring", ok=False)
    assert result.exit_code == 1
    assert "did not verify (session: 1 rows, not 2); nothing was changed" in one_error_line(result)
    assert set(files_beside(db_path)) <= {"practice.db", "practice.db-wal", "practice.db-shm"}
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # as it was
        assert conn.execute("SELECT count(*) FROM session").fetchone()[0] == 2
    finally:
        conn.close()


def test_a_crash_just_before_the_swap_leaves_the_plaintext_database_whole(notes, cli, db_path):
    # A separate process dies (no cleanup at all) at the moment it would rename the copy in.
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from medmassage.store import encryption\n"
        "encryption.os.replace = lambda *a: os._exit(9)\n"
        f"encryption.convert(Path({str(db_path)!r}), source_key=None, target_key={KEY!r})\n"
    )
    died = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert died.returncode == 9, died.stderr
    assert db_path.read_bytes()[:16] == crypto.SQLITE_HEADER
    for name, data in files_beside(db_path).items():  # the leftover copy is encrypted
        if name != "practice.db":
            assert MARKER.encode() not in data, name
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # as the lock left it
    conn.close()
    assert "2026-11-24" in cli("session", "list", "Jane").stdout  # opens, and WAL is back
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM session").fetchone()[0] == 2
    finally:
        conn.close()


def test_an_old_schema_encrypted_database_is_migrated_on_open(cli, db_path):
    from tests.test_migrations import _database_at

    _database_at(db_path, 1)
    encryption.convert(db_path, source_key=None, target_key=KEY)
    store(db_path)
    cli("client", "list")
    conn = open_raw(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST_VERSION
    finally:
        conn.close()


# --- opening an encrypted database ----------------------------------------------------------------


def test_no_terminal_and_no_stored_key_exits_2_with_one_line(encrypted, practice, memory_keyring):
    memory_keyring.secrets.clear()
    before = digest(encrypted)
    result = practice("session", "list", "Jane", ok=False)
    assert result.exit_code == 2
    assert one_error_line(result) == (
        "error: database: encrypted; run on a terminal to enter the key, or store it with: "
        "medmassage db encrypt --keyring"
    )
    assert digest(encrypted) == before


def test_wrong_key_exits_2_with_one_line_and_writes_nothing(encrypted, practice):
    store(encrypted, "not the right key")
    before = digest(encrypted)
    result = practice(
        "session", "log", "Jane", "--pre", "5", "--post", "2", "--date", "2026-11-26",
        "--technique", "swedish=30", "--region", "neck", ok=False,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "does not open" in one_error_line(result)
    assert str(encrypted) in result.stderr
    assert digest(encrypted) == before  # nothing written, no -wal or -shm made


def test_without_the_extra_an_encrypted_database_is_one_line(encrypted, practice, monkeypatch):
    monkeypatch.setitem(sys.modules, "sqlcipher3", None)
    monkeypatch.delitem(sys.modules, "sqlcipher3.dbapi2")
    result = practice("client", "list", ok=False)
    assert result.exit_code == 1
    assert one_error_line(result) == (
        "error: the database is encrypted and the encryption extra is not installed: "
        "pip install 'medmassage[encrypt]'"
    )


def test_a_plaintext_database_never_loads_the_encryption_code(practice, db_path):
    code = (
        "import sys\n"
        "from medmassage.cli import main\n"
        f"sys.argv = ['medmassage', '--db', {str(db_path)!r}, 'client', 'list']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "loaded = ('sqlcipher3', 'keyring', 'medmassage.store.crypto')\n"
        "print(sorted(m for m in sys.modules if m.startswith(loaded)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_file_that_is_no_database_is_still_reported_as_before(cli, db_path):
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"not a database at all\n" * 3)
    result = cli("client", "list", ok=False)
    assert result.exit_code == 1
    assert "file is not a database" in one_error_line(result)


def test_sqlcipher_errors_are_mapped_like_sqlite_errors(capsys):
    from medmassage.cli.common import guarded

    cases = [
        (dbapi2.IntegrityError("CHECK constraint failed: pain_pre"), 2, "refused the change"),
        (dbapi2.OperationalError("database is locked"), 1, "the database is busy"),
        (dbapi2.DatabaseError("disk I/O error"), 1, "database error: disk I/O error"),
    ]
    for error, code, text in cases:
        with pytest.raises(typer.Exit) as exited, guarded():
            raise error
        assert exited.value.exit_code == code, error
        err = capsys.readouterr().err
        assert text in err and "Traceback" not in err


# --- db decrypt / keyring -------------------------------------------------------------------------


def test_decrypt_writes_plaintext_back_and_forgets_the_key(encrypted, practice, notes):
    result = practice("db", "decrypt", "--yes")
    assert "decrypted" in result.stderr
    assert encrypted.read_bytes()[:16] == crypto.SQLITE_HEADER
    conn = sqlite3.connect(encrypted)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        subjective = conn.execute("SELECT group_concat(subjective) FROM session").fetchone()[0]
        assert MARKER in subjective
    finally:
        conn.close()
    assert keyring.get_password("medmassage", account(encrypted)) is None
    assert mode(encrypted) == 0o600


def test_decrypt_without_a_terminal_needs_yes(encrypted, practice):
    before = digest(encrypted)
    result = practice("db", "decrypt", ok=False)
    assert result.exit_code == 2 and "--yes" in one_error_line(result)
    assert digest(encrypted) == before


def test_encrypt_keyring_on_an_encrypted_database_with_its_key_already_stored(encrypted, practice):
    result = practice("db", "encrypt", "--keyring")
    assert "already in the OS keyring; nothing was changed" in result.stderr


def test_encrypt_keyring_without_a_terminal_or_a_stored_key_says_where_to_run_it(
    encrypted, practice, memory_keyring
):
    memory_keyring.secrets.clear()
    result = practice("db", "encrypt", "--keyring", ok=False)
    assert result.exit_code == 2
    assert "run it on a terminal to enter the key once" in one_error_line(result)


def test_rekey_needs_a_terminal_for_the_new_key(encrypted, practice):
    before = digest(encrypted)
    result = practice("db", "rekey", ok=False)
    assert result.exit_code == 2 and "typed on a terminal" in one_error_line(result)
    assert digest(encrypted) == before


def test_decrypt_and_rekey_on_a_plaintext_database(notes, practice, db_path):
    before = digest(db_path)
    assert "is not encrypted; nothing was changed" in practice("db", "decrypt", "--yes").stderr
    result = practice("db", "rekey", ok=False)
    assert result.exit_code == 2 and "medmassage db encrypt" in one_error_line(result)
    assert digest(db_path) == before


def test_keyring_that_would_not_keep_the_key_is_refused(notes, practice, db_path):
    from keyring.backends import null

    keyring.set_keyring(null.Keyring())
    before = digest(db_path)
    result = practice("db", "encrypt", "--keyring", ok=False)
    assert result.exit_code == 1
    assert "no OS keyring that keeps secrets safely" in one_error_line(result)
    assert digest(db_path) == before


# --- backups of an encrypted database -------------------------------------------------------------


def test_backup_of_an_encrypted_database_is_encrypted_with_the_same_key(
    encrypted, practice, tmp_path
):
    target = tmp_path / "copy.db"
    practice("db", "backup", str(target))
    data = target.read_bytes()
    assert data[:16] != crypto.SQLITE_HEADER
    assert MARKER.encode() not in data
    assert mode(target) == 0o600
    conn = open_raw(target)
    try:
        assert conn.execute("SELECT count(*) FROM session").fetchone()[0] == 2
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(target).execute("SELECT count(*) FROM session").fetchone()


# --- on a terminal: typing the key ----------------------------------------------------------------


def _terminal():
    if os.name != "posix":  # pragma: no cover
        pytest.skip("pseudo-terminals need POSIX")
    from tests.test_terminal import Terminal, terminal_env

    return Terminal, terminal_env(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")


def test_keys_typed_on_a_terminal_encrypt_open_and_rekey(notes, db_path):
    Terminal, env = _terminal()
    db_arg = ["--db", str(db_path)]

    term = Terminal([*db_arg, "db", "encrypt"], env)
    at = term.expect(r"New key: ")
    term.type(KEY)
    at = term.expect(r"The same key again: ", start=at)
    term.type(KEY + "!")  # a typo: nothing happens
    assert term.finish() == 2, term.text
    assert "the two keys differ; nothing was changed" in term.text
    assert db_path.read_bytes()[:16] == crypto.SQLITE_HEADER

    term = Terminal([*db_arg, "db", "encrypt"], env)
    at = term.expect(r"New key: ")
    term.type(KEY)
    at = term.expect(r"The same key again: ", start=at)
    term.type(KEY)
    assert term.finish() == 0, term.text
    assert KEY not in term.text  # getpass does not echo
    assert MARKER.encode() not in db_path.read_bytes()

    started = time.perf_counter()
    term = Terminal([*db_arg, "session", "show", str(notes[0])], env)
    term.expect(r"Key for practice\.db: ")
    term.type(KEY)
    assert term.finish() == 0, term.text
    assert f"{MARKER} neck stiff" in term.text
    assert time.perf_counter() - started < 10

    term = Terminal([*db_arg, "client", "list"], env)
    term.expect(r"Key for practice\.db: ")
    term.type("a wrong key")
    assert term.finish() == 2, term.text
    assert f"error: the key does not open {db_path}" in term.text

    term = Terminal([*db_arg, "db", "rekey"], env)
    at = term.expect(r"Key for practice\.db: ")
    term.type(KEY)
    at = term.expect(r"New key: ", start=at)
    term.type("a brand new passphrase")
    at = term.expect(r"The same key again: ", start=at)
    term.type("a brand new passphrase")
    assert term.finish() == 0, term.text
    conn = open_raw(db_path, "a brand new passphrase")
    try:
        assert conn.execute("SELECT count(*) FROM session").fetchone()[0] == 2
    finally:
        conn.close()
    assert MARKER.encode() not in b"".join(files_beside(db_path).values())


def test_real_entry_point_without_a_key_exits_2_with_one_line(encrypted):
    result = run_subprocess("--db", str(encrypted), "report", "due")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {crypto.NO_TERMINAL}"]
    assert result.stdout == ""


# --- restoring an encrypted backup ----------------------------------------------------------------

NEW_KEY = "a brand new passphrase"


def every_file(*folders: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for f in folders for p in sorted(f.rglob("*")) if p.is_file()}


def sessions_in(path: Path, key: str) -> int:
    conn = open_raw(path, key)
    try:
        return conn.execute("SELECT count(*) FROM session").fetchone()[0]
    finally:
        conn.close()


def test_restore_of_an_encrypted_backup_round_trip(
    encrypted, practice, tmp_path, monkeypatch, memory_keyring
):
    from medmassage.store import backup

    copy = tmp_path / "copy.db"
    practice("db", "backup", str(copy))
    log_session(practice, "2026-11-26", f"{MARKER} after the backup")

    seen: dict[str, bytes] = {}  # every file beside the database while it is locked
    real_lock = backup.lock_exclusive

    def spy(live, key=None):
        conn = real_lock(live, key)
        seen.update(every_file(live.parent))
        return conn

    monkeypatch.setattr(backup, "lock_exclusive", spy)
    result = practice("db", "restore", str(copy), "--yes")
    assert "(2 sessions)" in result.stderr and "(3 sessions) is kept as" in result.stderr
    assert any(".restore-tmp" in name for name in seen), seen.keys()  # the staged copy was seen

    assert sessions_in(encrypted, KEY) == 2  # as at the backup, with the same key
    asides = list(encrypted.parent.glob("practice.db.before-restore-*"))
    assert len(asides) == 1
    aside = asides[0]
    assert mode(aside) == 0o600 and aside.read_bytes()[:16] != crypto.SQLITE_HEADER
    assert sessions_in(aside, KEY) == 3  # holds the session added after the backup
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(aside).execute("SELECT count(*) FROM session").fetchone()
    files = {**seen, **every_file(tmp_path)}
    for name, data in files.items():
        assert MARKER.encode() not in data, name
    assert not [p for p in encrypted.parent.iterdir() if "tmp" in p.name]
    # opens as every command opens it (key from the keyring), and takes new work
    assert "2026-11-24" in practice("session", "list", "Jane").stdout
    log_session(practice, "2026-11-27", f"{MARKER} after the restore")
    assert sessions_in(encrypted, KEY) == 3


def test_restore_of_a_backup_with_another_key_in_a_script_exits_2_and_changes_nothing(
    encrypted, practice, tmp_path
):
    copy = tmp_path / "copy.db"
    practice("db", "backup", str(copy))
    encryption.convert(encrypted, source_key=KEY, target_key=NEW_KEY)  # as `db rekey` does
    store(encrypted, NEW_KEY)
    before, copy_bytes = digest(encrypted), copy.read_bytes()
    result = practice("db", "restore", str(copy), "--yes", ok=False)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "encrypted with another key" in line and "terminal" in line, line
    assert digest(encrypted) == before
    assert copy.read_bytes() == copy_bytes


@pytest.mark.parametrize("make", ["plaintext-backup", "encrypted-backup"])
def test_restore_between_plaintext_and_encrypted_is_refused(
    make, notes, practice, db_path, tmp_path
):
    copy = tmp_path / "copy.db"
    store(db_path)
    if make == "plaintext-backup":
        practice("db", "backup", str(copy))
        practice("db", "encrypt", "--keyring")
        words = "medmassage db decrypt"
    else:
        practice("db", "encrypt", "--keyring")
        practice("db", "backup", str(copy))
        practice("db", "decrypt", "--yes")
        words = "medmassage db encrypt"
    before, copy_bytes = digest(db_path), copy.read_bytes()
    result = practice("db", "restore", str(copy), "--yes", ok=False)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert words in line and line.endswith("nothing was changed"), line
    assert digest(db_path) == before
    assert copy.read_bytes() == copy_bytes


def test_restore_with_a_wrong_key_for_the_database_changes_nothing(encrypted, practice, tmp_path):
    copy = tmp_path / "copy.db"
    practice("db", "backup", str(copy))
    log_session(practice, "2026-11-26", "after the backup")
    store(encrypted, "not the right key")
    before, copy_bytes = digest(encrypted), copy.read_bytes()
    result = practice("db", "restore", str(copy), "--yes", ok=False)
    assert result.exit_code == 2
    assert "does not open" in one_error_line(result)
    assert digest(encrypted) == before
    assert copy.read_bytes() == copy_bytes


def test_restore_of_a_backup_made_before_a_rekey_asks_for_its_key(encrypted, practice, tmp_path):
    Terminal, env = _terminal()
    copy = tmp_path / "copy.db"
    practice("db", "backup", str(copy))
    log_session(practice, "2026-11-26", f"{MARKER} after the backup")
    encryption.convert(encrypted, source_key=KEY, target_key=NEW_KEY)  # as `db rekey` does
    args = ["--db", str(encrypted), "db", "restore", str(copy), "--yes"]

    # A wrong key for the backup: exit 2, every file as it was.
    before, copy_bytes = digest(encrypted), copy.read_bytes()
    term = Terminal(args, env)
    at = term.expect(r"Key for practice\.db: ")
    term.type(NEW_KEY)
    term.expect(r"Key for copy\.db \(the backup\): ", start=at)
    term.type("a wrong key")
    assert term.finish() == 2, term.text
    assert f"error: the key does not open {copy}; nothing was changed" in term.text
    assert digest(encrypted) == before
    assert copy.read_bytes() == copy_bytes

    term = Terminal(args, env)
    at = term.expect(r"Key for practice\.db: ")
    term.type(NEW_KEY)
    term.expect(r"Key for copy\.db \(the backup\): ", start=at)
    term.type(KEY)
    assert term.finish() == 0, term.text
    assert NEW_KEY not in term.text and KEY not in term.text
    assert sessions_in(encrypted, NEW_KEY) == 2  # the backup's rows, the database's own key
    with pytest.raises(dbapi2.DatabaseError):
        sessions_in(encrypted, KEY)
    (aside,) = encrypted.parent.glob("practice.db.before-restore-*")
    assert sessions_in(aside, NEW_KEY) == 3
    for name, data in every_file(tmp_path).items():
        assert MARKER.encode() not in data, name
    assert copy.read_bytes() == copy_bytes


def test_restore_of_an_older_encrypted_backup_migrates_it(encrypted, practice, tmp_path):
    from tests.test_backup import _database_at  # with its application_id, as medmassage wrote it

    old = tmp_path / "old.db"
    _database_at(old, 1)
    encryption.convert(old, source_key=None, target_key=KEY)
    old_bytes = old.read_bytes()
    result = practice("db", "restore", str(old), "--yes")
    assert "schema 1 migrated" in result.stderr
    conn = open_raw(encrypted)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST_VERSION
    finally:
        conn.close()
    assert old.read_bytes() == old_bytes  # the file restored is read, never written


def test_db_check_of_a_large_encrypted_practice_reads_it_in_a_second_process_with_its_key(
    encrypted, practice, monkeypatch
):
    """check_worker.py: the worker opens the encrypted file with the key given on its stdin and
    gives the digests this process computes; an edit made with the key is still found."""
    from medmassage.store import check_worker
    from medmassage.store import digests as records

    conn, _ = db.connect(encrypted, key=KEY)
    try:
        conn.execute("BEGIN")
        marker = check_worker.newest_audit_id(conn)
        worker = check_worker.start(conn)
        assert worker is not None
        assert worker.digests(marker) == list(records.current_digests(conn))
        assert check_worker.IntegrityThread(conn).result() == (["ok"], [])
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    monkeypatch.setenv("MEDMASSAGE_CHECK_PARALLEL_FROM", "0")
    assert practice("db", "check").exit_code == 0
    raw = open_raw(encrypted)
    try:
        raw.execute("PRAGMA recursive_triggers = OFF")
        saved = raw.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for name, _ in saved:
            raw.execute(f"DROP TRIGGER {name}")
        raw.execute("UPDATE session SET pain_post = 0")
        for _, definition in saved:
            raw.execute(definition)
        raw.commit()
    finally:
        raw.close()
    result = practice("db", "check", ok=False)
    assert result.exit_code == 1
    assert "session" in result.stdout and "changed" in result.stdout
