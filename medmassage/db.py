"""The practice database: opening it safely, migrating it, one transaction per command, audit rows.

Settings (notes-storage-and-security §1.5): WAL, synchronous=FULL, foreign keys on, a 5 s busy
timeout, secure_delete, STRICT tables. Files are created owner-only (0600 in a 0700 folder) and
SQLite gives the -wal/-shm files the mode of the database file.

The hot path uses the standard library's sqlite3: importing sqlite-utils costs about 8x bare
Python start-up, more than the whole budget of an everyday command (SPEC §9).
"""

import functools
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from medmassage.dates import now_stamp
from medmassage.errors import RuntimeProblem
from medmassage.migrations import (
    APPLICATION_ID,
    LATEST_VERSION,
    MIGRATIONS,
    PROTECTIVE_TRIGGERS,
    REBUILDS,
)

MIN_SQLITE = (3, 37, 0)  # STRICT tables
BUSY_TIMEOUT_S = 5.0


def secure_file_modes() -> None:
    """Every file this process creates is owner-only: databases, -wal/-shm, exports, temp files."""
    os.umask(0o077)


def _prepare_file(path: Path) -> list[str]:
    """Create the folder (0700) and an empty database file (0600) if needed.

    Returns warnings for the user (e.g. permissions that had to be tightened).
    """
    notes: list[str] = []
    folder = path.parent
    if not folder.exists():
        try:
            folder.mkdir(mode=0o700, parents=True)
            folder.chmod(0o700)
        except OSError as e:
            raise RuntimeProblem(f"cannot create the data folder {folder}: {e.strerror}") from None
    if path.is_dir():
        raise RuntimeProblem(f"{path} is a folder; --db needs a file path")
    if not path.exists():
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
        except FileExistsError:
            pass  # another process created it first
        except OSError as e:
            raise RuntimeProblem(f"cannot create {path}: {e.strerror}") from None
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = stat.S_IMODE(candidate.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            candidate.chmod(0o600)
            notes.append(
                f"{candidate.name} was readable by other users (mode {mode:o}); "
                "made it owner-only (600)"
            )
    return notes


# Database files this process has opened. Code that must look at a file given by the user (an
# -o target) checks here first, with stat() only: open() and close() on a database this process
# has open would drop its locks (POSIX).
OPENED: set[Path] = set()


def is_open_database(target: Path) -> bool:
    """Is `target` a database this process opened, or its -wal/-shm/-journal? (by name and by
    stat() only, never by opening it)"""
    try:
        resolved = target.resolve()
    except (OSError, RuntimeError):
        resolved = target
    for base in OPENED:
        candidates = [Path(f"{base}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
        if resolved in candidates:  # by name too: a -wal may come and go with connections
            return True
        for candidate in candidates:
            try:
                if os.path.samefile(target, candidate):
                    return True
            except OSError:
                continue
    return False


def connect(path: Path | str, *, key: str | None = None) -> tuple[sqlite3.Connection, list[str]]:
    """Open (creating if needed) and migrate the database. Returns the connection and warnings.

    An encrypted database (SQLCipher, medmassage/crypto.py) is opened through sqlcipher3 with
    `key`, else the key in the OS keyring, else one typed at a prompt; its connection has the
    same API (rows are `sqlcipher3.dbapi2.Row`, errors `sqlcipher3.dbapi2.Error`). A plaintext
    database imports neither sqlcipher3 nor medmassage.crypto.
    """
    path = Path(path)
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise RuntimeProblem(
            f"SQLite {sqlite3.sqlite_version} is too old; medmassage needs 3.37 or newer"
        )
    secure_file_modes()
    notes = _prepare_file(path)
    # Open with the stdlib first and let SQLite read the header: Python must not open() and
    # close() the database file itself, because on POSIX closing any descriptor of a file drops
    # every lock this process holds on it, those of a connection already open included
    # (SQLite's "How To Corrupt", §2.2). Only a file SQLite calls "not a database" is tried as
    # an encrypted one.
    crypto = None
    conn = None
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA user_version").fetchone()
    except sqlite3.DatabaseError as e:
        if conn is not None:
            conn.close()
        if "file is not a database" not in str(e):
            raise RuntimeProblem(f"cannot open {path}: {e}") from None
        from medmassage import crypto

        if not crypto.is_encrypted(path):
            raise RuntimeProblem(f"cannot open {path}: {e}") from None
        try:
            conn, key_notes = crypto.open_encrypted(path, BUSY_TIMEOUT_S, key)
        except crypto.database_errors() as e2:
            raise RuntimeProblem(f"cannot open {path}: {e2}") from None
        notes += key_notes
    except sqlite3.Error as e:
        if conn is not None:
            conn.close()
        raise RuntimeProblem(f"cannot open {path}: {e}") from None
    # sqlcipher3's classes do not derive from sqlite3's.
    errors = crypto.database_errors("DatabaseError") if crypto else sqlite3.DatabaseError
    try:
        # foreign_keys is a no-op inside a transaction: set before any BEGIN.
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > LATEST_VERSION:
            raise RuntimeProblem(
                f"{path.name} was written by a newer medmassage (schema {version}, "
                f"this one knows {LATEST_VERSION}); upgrade medmassage"
            )
        # Persistent (stored in the file). Checked on every open: it also puts back WAL mode on
        # a database that an interrupted `db encrypt`/`decrypt` left in rollback mode.
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        if version < LATEST_VERSION:
            migrate(conn)
    except BaseException as e:
        conn.close()
        if isinstance(e, errors):
            raise RuntimeProblem(f"cannot open {path}: {e}") from None
        raise
    OPENED.add(path.resolve())
    return conn, notes


def _statements(script: str) -> Iterator[str]:
    """Split a schema script into whole statements (trigger bodies hold semicolons)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            buffer = ""
            if statement and not all(
                ln.strip().startswith("--") or not ln.strip() for ln in statement.splitlines()
            ):
                yield statement
    if buffer.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buffer.splitlines()
    ):
        raise ValueError("incomplete SQL statement at the end of a migration")


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply every pending migration, each in its own transaction with its version bump.

    executescript() would COMMIT first, so statements run one by one inside BEGIN IMMEDIATE.
    M004 also chains the audit rows already there, in its own transaction (medmassage/audit.py).
    Returns the names of the migrations applied.
    """
    applied: list[str] = []
    for version, name, script in MIGRATIONS:
        rebuild = version in REBUILDS
        if rebuild:  # a no-op inside a transaction: set before BEGIN
            conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current >= version:  # another process migrated while we waited
                conn.execute("ROLLBACK")
                continue
            broken = _foreign_key_problems(conn) if rebuild else set()
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {int(version)}")
            if version == 1:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            if version == 4:
                from medmassage import audit as audit_chain

                audit_chain.chain_existing_rows(conn)
            missing = missing_triggers(conn, version)
            if missing:
                raise RuntimeProblem(
                    f"migration {name} would drop protective triggers: {', '.join(missing)}"
                )
            if rebuild and _foreign_key_problems(conn) - broken:
                raise RuntimeProblem(f"migration {name} would break a foreign key; not applied")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            if rebuild:
                conn.execute("PRAGMA foreign_keys = ON")
        applied.append(name)
    return applied


def _foreign_key_problems(conn: sqlite3.Connection) -> set[tuple]:
    """Rows whose foreign key finds no parent. A rebuild must add none (one already there,
    left by another tool, is db check's to report, not a reason never to upgrade)."""
    return {tuple(row) for row in conn.execute("PRAGMA foreign_key_check")}


def missing_triggers(conn: sqlite3.Connection, version: int = LATEST_VERSION) -> list[str]:
    """Protective triggers a database at `version` should have but does not."""
    present = {
        row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    }
    return [t for t, since in PROTECTIVE_TRIGGERS.items() if since <= version and t not in present]


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction per command. BEGIN IMMEDIATE takes the write lock up front, so a
    read-then-write never fails with SQLITE_BUSY_SNAPSHOT and the busy timeout can wait.

    Inside a transaction already open (a bulk import calling log_session per row), it is a
    SAVEPOINT instead: the inner unit rolls back on its own error, and the outer transaction
    still decides whether anything is kept.
    """
    if conn.in_transaction:
        conn.execute("SAVEPOINT unit")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK TO unit")
            conn.execute("RELEASE unit")
            raise
        else:
            conn.execute("RELEASE unit")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


@contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One read transaction, so every query inside sees the database as it was at the start
    (WAL: writers carry on without blocking us, and none shows up half-done). Inside a
    transaction already open, that one is the snapshot."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts here
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


@functools.cache
def actor() -> str:
    """The OS user recorded in audit rows."""
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no user name available (some containers)
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def audit(conn: sqlite3.Connection, action: str, entity: str, entity_id: int | None) -> None:
    """Append one audit row and its link in the keyed hash chain (medmassage/audit.py), in the
    caller's transaction, or in one of its own. Only ids and verbs: never client data."""
    from medmassage import audit as audit_chain  # hmac: paid only by commands that write

    if conn.in_transaction:
        audit_chain.append(conn, now_stamp(), actor(), action, entity, entity_id)
    else:  # the chain reads the last link, then appends: never outside a transaction
        with transaction(conn):
            audit_chain.append(conn, now_stamp(), actor(), action, entity, entity_id)


def insert(conn: sqlite3.Connection, table: str, values: dict[str, object]) -> int:
    """INSERT a row from a dict (column names come from our code, never from the user)."""
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cursor = conn.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values())
    )
    return int(cursor.lastrowid or 0)


def update(conn: sqlite3.Connection, table: str, row_id: int, values: dict[str, object]) -> None:
    assignments = ", ".join(f"{column} = ?" for column in values)
    conn.execute(
        f"UPDATE {table} SET {assignments} WHERE id = ?", (*tuple(values.values()), row_id)
    )
