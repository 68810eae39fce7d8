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

from medmassage.errors import InputError, RuntimeProblem
from medmassage.rules.dates import now_stamp
from medmassage.store.files import OPENED, special_kind
from medmassage.store.migrations import (
    APPLICATION_ID,
    LATEST_VERSION,
    MIGRATIONS,
    PROTECTIVE_TRIGGERS,
    REBUILDS,
    SEARCH_TRIGGERS,
    SEEDED,
)

MIN_SQLITE = (3, 37, 0)  # STRICT tables
BUSY_TIMEOUT_S = 5.0


def secure_file_modes() -> None:
    """Every file this process creates is owner-only: databases, -wal/-shm, exports, temp files."""
    os.umask(0o077)


def _prepare_file(path: Path) -> tuple[os.stat_result, bool]:
    """Create the folder (0700) and an empty database file (0600) when there is no file yet.

    Returns the file's stat() and whether this call created it. A file already there is left
    as it is: what it is must be known first (`_identify`), before anything chmods it.
    """
    try:
        return os.stat(path), False
    except FileNotFoundError:
        pass
    except OSError as e:
        raise RuntimeProblem(f"cannot open {path}: {e.strerror}") from None
    folder = path.parent
    if not folder.exists():
        try:
            folder.mkdir(mode=0o700, parents=True)
            folder.chmod(0o700)
        except OSError as e:
            raise RuntimeProblem(f"cannot create the data folder {folder}: {e.strerror}") from None
    created = False
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        created = True
    except FileExistsError:
        pass  # another process created it first (or a dangling symlink: stat() says below)
    except OSError as e:
        raise RuntimeProblem(f"cannot create {path}: {e.strerror}") from None
    try:
        return os.stat(path), created
    except OSError as e:
        raise RuntimeProblem(f"cannot open {path}: {e.strerror}") from None


def _tighten_modes(path: Path) -> list[str]:
    """Make the database and its -wal/-shm owner-only; a warning for each that was not."""
    notes: list[str] = []
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


# --- is it ours? --------------------------------------------------------------------------
# Decided from the file itself before anything changes it, so that a read command pointed at
# another program's database (or an empty file, or a FIFO) never chmods it, switches it to WAL
# (which creates -wal/-shm) or migrates it.

SQLITE_MAGIC = b"SQLite format 3\x00"
WAL_MAGICS = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")
# Tables every medmassage database has had since schema 1. A database without our
# application_id (built by hand, or copied with the sqlite3 shell's .dump, which drops it) is
# still ours by these, and is migrated as usual.
OUR_TABLES = frozenset({"profile", "client", "care_case", "session", "session_cpt", "audit"})

# (st_dev, st_ino) of the database files this process has opened. Such a file may still be
# open (a second command in-process, a backup, a check): its header is then read through
# SQLite, whose close never drops another connection's POSIX locks, not with os.open/os.close.
_SEEN: set[tuple[int, int]] = set()


def _not_ours(path: Path, why: str) -> InputError:
    return InputError(
        "database",
        str(path),
        f"{why}, not a medmassage database; nothing was changed (give --db, or MEDMASSAGE_DB, "
        "the practice file)",
    )


def _empty(path: Path, may_start: bool, what: str) -> str:
    """An empty file is no one's data: a command that can begin a practice starts one in it;
    any other command would need records it cannot hold, so it leaves the file alone."""
    if may_start:
        return "new"
    raise InputError(
        "database",
        str(path),
        f"is {what}, not a medmassage database yet; nothing was changed (`medmassage profile "
        "set` or `client add` starts a practice in it)",
    )


def _read_head(path: Path) -> bytes:
    """The first 112 bytes: the 100-byte header and page 1's b-tree header. Only for a file
    this process does not have open (see _SEEN)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        return os.read(fd, 112)
    finally:
        os.close(fd)


def _header_fields(page1: bytes) -> tuple[int, int, bool]:
    """application_id, user_version, and whether the schema is empty (page 1 a leaf table page
    with no cells), from the start of page 1."""
    blank = len(page1) >= 105 and page1[100] == 0x0D and page1[103:105] == b"\x00\x00"
    return int.from_bytes(page1[68:72], "big"), int.from_bytes(page1[60:64], "big"), blank


def _wal_page1(path: Path) -> bytes | None:
    """The start of page 1 as the newest committed transaction in `path`-wal left it (None: no
    WAL, or no committed copy of page 1 in it).

    The main file's header is stale until a checkpoint: a database another process has just
    created and still holds open reads application_id 0 there. Frames are read (never written)
    up to the first of an older WAL generation (other salts); page 1 counts once a commit frame
    follows it.
    """
    try:
        wal = open(f"{path}-wal", "rb")  # noqa: SIM115 (closed below)
    except OSError:
        return None
    with wal:
        head = wal.read(32)
        if len(head) < 32 or head[:4] not in WAL_MAGICS:
            return None
        frame_size = 24 + int.from_bytes(head[8:12], "big")
        salts = head[16:24]
        newest = pending = None
        offset = 32
        while True:
            wal.seek(offset)
            frame = wal.read(24 + 112)
            if len(frame) < 24 + 112 or frame[8:16] != salts:
                return newest
            if frame[:4] == b"\x00\x00\x00\x01":
                pending = frame[24:]
            if frame[4:8] != b"\x00\x00\x00\x00":  # a commit frame: its transaction is whole
                newest = pending if pending is not None else newest
                pending = None
            offset += frame_size


def _schema_facts(path: Path, attempts: int = 3) -> tuple[int, int, frozenset[str] | None]:
    """application_id, user_version and table names (_facts_of), read by SQLite from the main
    file alone: immutable=1 takes no lock, makes no -wal or -shm and writes nothing. Without a
    lock, a page that another process is checkpointing can read as malformed: tried again,
    then that error is raised (SQLITE_NOTADB when it is no SQLite database at all)."""
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    for attempt in range(1, attempts + 1):
        try:
            conn = sqlite3.connect(uri, uri=True)
            try:
                return _facts_of(conn)
            finally:
                conn.close()
        except sqlite3.DatabaseError as e:
            if attempt == attempts or _not_a_database(e):
                raise
            import time

            time.sleep(0.01)
    raise AssertionError("unreachable")


def _not_a_database(error: sqlite3.DatabaseError) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_NOTADB


def _facts_of(conn) -> tuple[int, int, frozenset[str] | None]:
    """From an open connection; the table names (None: not needed) only when the
    application_id is not ours, as reading them parses the whole schema (~1 ms)."""
    app = conn.execute("PRAGMA application_id").fetchone()[0] & 0xFFFFFFFF
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if app == APPLICATION_ID:
        return app, version, None
    tables = frozenset(
        row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    )
    return app, version, tables


def _verdict(path: Path, app: int, version: int, blank: bool, tables, may_start: bool) -> str:
    """Whether the file is "ours" or "new" (to be started), else the one-line refusal.
    `tables()` gives the table names, read only when the application_id cannot tell."""
    if app == APPLICATION_ID:
        return "ours"
    if app:
        raise _not_ours(path, f"is another program's SQLite database (application_id {app:#010x})")
    if blank and version == 0:
        return _empty(path, may_start, "an empty SQLite database (no tables)")
    names = tables()
    if names is None:
        raise RuntimeProblem(f"cannot open {path}: file is not a database")
    if version >= 1 and names >= OUR_TABLES:
        return "ours"
    raise _not_ours(path, "is another program's SQLite database (its tables are not medmassage's)")


def _identify(path: Path, st: os.stat_result, may_start: bool) -> str:
    """What is at `path`, before anything touches it: "ours", "new" (empty: to be started) or
    "other" (no plain SQLite header: encrypted, damaged, or not a database). Anything else is
    refused here, the file as it was. Costs one read of 112 bytes on the everyday path."""
    if stat.S_ISDIR(st.st_mode):
        raise RuntimeProblem(f"{path} is a folder; --db needs a file path")
    if not stat.S_ISREG(st.st_mode):
        raise _not_ours(path, f"is {special_kind(st.st_mode)}")
    if st.st_size == 0:
        return _empty(path, may_start, "an empty file (0 bytes)")
    try:
        if (st.st_dev, st.st_ino) in _SEEN:
            try:
                app, version, tables = _schema_facts(path, attempts=1)
            except sqlite3.DatabaseError as e:
                if _not_a_database(e):
                    return "other"  # encrypted, or damaged since
                return "ours"  # this process opened it as ours; a page read mid-checkpoint
            blank = not tables
        else:
            head = _read_head(path)
            if not head.startswith(SQLITE_MAGIC):
                return "other"
            app, version, blank = _header_fields(head)
            tables = None
        if app == 0:
            newer = _wal_page1(path)
            if newer is not None:
                app, version, blank = _header_fields(newer)
    except OSError as e:
        raise RuntimeProblem(f"cannot open {path}: {e.strerror}") from None

    def table_names() -> frozenset[str] | None:
        if tables is not None:
            return tables
        try:
            app_now, _, names = _schema_facts(path)
            return OUR_TABLES if app_now == APPLICATION_ID else names  # checkpointed meanwhile
        except sqlite3.DatabaseError as e:
            if _not_a_database(e):
                return None
            raise RuntimeProblem(f"cannot open {path}: {e}") from None

    return _verdict(path, app, version, blank, table_names, may_start)


def _open_other(path: Path, key: str | None, may_start: bool) -> tuple[object, list[str]]:
    """A file with no plain SQLite header: damaged (zeroed), encrypted (SQLCipher writes a random
    salt there), or not a database at all. Imports medmassage.store.crypto only here."""
    try:
        head = _read_head(path)  # not a plain SQLite file: no SQLite lock of ours is on it
    except OSError as e:
        raise RuntimeProblem(f"cannot open {path}: {e.strerror}") from None
    if not head[:16].strip(b"\x00"):
        raise RuntimeProblem(
            f"cannot open {path}: its header is all zeros, so the file is damaged (not "
            "encrypted); nothing was changed. Restore a backup: medmassage db restore FILE"
        )
    from medmassage.store import crypto

    if not crypto.is_encrypted(path):
        raise RuntimeProblem(f"cannot open {path}: file is not a database")
    try:
        conn, key_notes = crypto.open_encrypted(path, BUSY_TIMEOUT_S, key)
    except crypto.database_errors() as e:
        raise RuntimeProblem(f"cannot open {path}: {e}") from None
    try:
        app, version, tables = _facts_of(conn)
        _verdict(path, app, version, not tables, lambda: tables, may_start)
    except BaseException as e:
        conn.close()
        if isinstance(e, crypto.database_errors()):
            raise RuntimeProblem(f"cannot open {path}: {e}") from None
        raise
    return conn, key_notes


def connect(
    path: Path | str, *, key: str | None = None, may_start: bool = False
) -> tuple[sqlite3.Connection, list[str]]:
    """Open and migrate the database, creating it when there is no file. Returns the
    connection and warnings.

    A file already there is identified before anything changes it. A medmassage database (our
    application_id, or our tables) is opened: modes tightened, WAL, migrations. Anything else
    is refused in one line and left byte for byte as it was, no -wal/-shm made: another
    program's SQLite database (another application_id, or none and other tables), a FIFO or a
    device, a zeroed header (damage). An empty file (0 bytes, or a SQLite file with no tables)
    becomes a new practice only when `may_start` (commands that can begin one: `profile set`,
    `client add`…); every other command refuses it.

    An encrypted database (SQLCipher, medmassage/store/crypto.py) is opened through sqlcipher3 with
    `key`, else the key in the OS keyring, else one typed at a prompt; its connection has the
    same API (rows are `sqlcipher3.dbapi2.Row`, errors `sqlcipher3.dbapi2.Error`). A plaintext
    database imports neither sqlcipher3 nor medmassage.store.crypto.
    """
    path = Path(path)
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise RuntimeProblem(
            f"SQLite {sqlite3.sqlite_version} is too old; medmassage needs 3.37 or newer"
        )
    secure_file_modes()
    st, created = _prepare_file(path)
    found = _identify(path, st, may_start or created)
    notes: list[str] = []
    if found == "new" and not created:
        notes.append(f"{path.name} was empty: started a new practice database in it")
    crypto = None
    if found == "other":
        conn, key_notes = _open_other(path, key, may_start or created)
        from medmassage.store import crypto

        notes += _tighten_modes(path) + key_notes
    else:
        notes += _tighten_modes(path)
        conn = None
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA user_version").fetchone()
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
    try:
        st = os.stat(path)
        _SEEN.add((st.st_dev, st.st_ino))
    except OSError:
        pass
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
    M004 also chains the audit rows already there, in its own transaction
    (medmassage/store/audit.py).
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
                from medmassage.store import audit as audit_chain

                audit_chain.chain_existing_rows(conn)
            if version == 7:
                from medmassage.store import digests

                digests.record_all(conn, now_stamp(), actor())
            if version == 9:
                _chain_profile_digest(conn)
            if version == 12:  # new columns on care_case and profile change their digests
                from medmassage.store import digests

                digests.chain_entities(conn, ("case",), now_stamp(), actor(), "baseline")
                _chain_profile_digest(conn)
            if version in SEEDED:  # the rows it inserted (shipped defaults): chain their digests
                from medmassage.store import digests

                digests.chain_entities(conn, SEEDED[version], now_stamp(), actor())
            problems = trigger_problems(conn, version)
            if problems:
                raise RuntimeProblem(
                    f"migration {name} would leave protective triggers {'; '.join(problems)}"
                )
            problems = trigger_problems(conn, version, SEARCH_TRIGGERS)
            if problems:
                raise RuntimeProblem(
                    f"migration {name} would leave the search triggers {'; '.join(problems)}"
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
        if version in (4, 7, 9, 12) or version in SEEDED:  # they chain rows: keep the new head
            _anchor(conn)
    return applied


def _chain_profile_digest(conn: sqlite3.Connection) -> None:
    """M009 adds a profile column, which changes the profile's content digest (digests.py):
    chain the digest as it now stands, in the migration's transaction, so `db check` still finds
    the profile as medmassage wrote it. Nothing to chain when there is no profile, fee or rule."""
    from medmassage.store import audit as audit_chain
    from medmassage.store import digests

    digest = digests.digests_of(conn, [("profile", 1)])[("profile", 1)]
    if digest != digests.GONE:
        audit_chain.append_many(conn, [(now_stamp(), actor(), "baseline", "profile", 1, digest)])


def _foreign_key_problems(conn: sqlite3.Connection) -> set[tuple]:
    """Rows whose foreign key finds no parent. A rebuild must add none (one already there,
    left by another tool, is db check's to report, not a reason never to upgrade)."""
    return {tuple(row) for row in conn.execute("PRAGMA foreign_key_check")}


def _normalised(sql: str) -> str:
    """A statement with its comments and runs of white space gone: what is compared."""
    lines = [line.split("--", 1)[0] for line in sql.strip().rstrip(";").splitlines()]
    return " ".join(" ".join(lines).split())


@functools.cache
def expected_triggers(version: int = LATEST_VERSION) -> dict[str, str]:
    """Each protective or search trigger's SQL (normalised) as the migrations up to `version`
    create it: the last CREATE TRIGGER of that name wins, a DROP TRIGGER removes it."""
    found: dict[str, str] = {}
    for number, _, script in MIGRATIONS:
        if number > version:
            break
        for statement in _statements(script):
            words = statement.split(None, 3)
            if len(words) < 3 or words[1].upper() != "TRIGGER":
                continue
            if words[0].upper() == "CREATE":
                found[words[2]] = _normalised(statement)
            elif words[0].upper() == "DROP":
                found.pop(words[2], None)
    return {
        name: sql
        for name, sql in found.items()
        if name in PROTECTIVE_TRIGGERS or name in SEARCH_TRIGGERS
    }


def trigger_problems(
    conn: sqlite3.Connection,
    version: int = LATEST_VERSION,
    triggers: dict[str, int] = PROTECTIVE_TRIGGERS,
) -> list[str]:
    """Protective triggers (or those of `triggers`: SEARCH_TRIGGERS) a database at `version`
    lacks, or holds with other SQL than medmassage's (a no-op put in place of a lock under the
    same name): compared by their normalised SQL text, not their names."""
    present = {
        row[0]: row[1]
        for row in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    }
    problems = []
    for name, sql in expected_triggers(version).items():
        if name not in triggers or triggers[name] > version:
            continue
        if name not in present:
            problems.append(f"{name} missing")
        elif _normalised(present[name] or "") != sql:
            problems.append(f"{name} altered")
    return problems


def missing_triggers(conn: sqlite3.Connection, version: int = LATEST_VERSION) -> list[str]:
    """Protective triggers a database at `version` should have but does not, or has altered."""
    return [p.rsplit(" ", 1)[0] for p in trigger_problems(conn, version)]


# Audit rows of the transaction in progress on each connection, chained when it commits (their
# content digests must be taken once every row of the change is written: `case open` audits the
# case before it adds its diagnoses), and how deep db.transaction is nested on it.
_pending: dict[int, list[tuple[str, str, str, str, int | None]]] = {}
_depth: dict[int, int] = {}


# Connections whose transaction in progress has chained rows already (chain_pending): their
# commit must still anchor the new head.
_chained: set[int] = set()


def chain_pending(conn: sqlite3.Connection) -> None:
    """Chain the audit rows recorded so far in this transaction now, their records being final:
    a bulk import calls it after each chunk, so its memory does not grow with the file."""
    if _flush(conn):
        _chained.add(id(conn))


def _flush(conn: sqlite3.Connection) -> bool:
    """Append the pending audit rows with their records' content digests. True if any."""
    rows = _pending.pop(id(conn), None)
    if not rows:
        return False
    from medmassage.store import audit as audit_chain
    from medmassage.store import digests

    digests = digests.digests_of(conn, [(r[3], r[4]) for r in rows])
    audit_chain.append_many(conn, [(*r, digests[(r[3], r[4])]) for r in rows])
    return True


def _anchor(conn: sqlite3.Connection) -> None:
    """Keep the chain's head beside the key (audit.keep_anchor), after a commit."""
    from medmassage.store import audit as audit_chain

    audit_chain.keep_anchor(conn)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction per command. BEGIN IMMEDIATE takes the write lock up front, so a
    read-then-write never fails with SQLITE_BUSY_SNAPSHOT and the busy timeout can wait.

    Inside a transaction already open (a bulk import calling log_session per row), it is a
    SAVEPOINT instead: the inner unit rolls back on its own error, and the outer transaction
    still decides whether anything is kept.

    The audit rows of the change are chained just before COMMIT, with the content digest of
    each record as it then stands (medmassage/store/digests.py); after it, the chain's new head is
    kept outside the database (audit.keep_anchor).
    """
    key = id(conn)
    if conn.in_transaction:
        pending = _pending.get(key)
        mark = len(pending) if pending else 0
        ours = _depth.get(key, 0) > 0  # else a transaction begun elsewhere: chain on release
        _depth[key] = _depth.get(key, 0) + 1
        conn.execute("SAVEPOINT unit")
        try:
            yield conn
            if not ours:
                _flush(conn)
        except BaseException:
            conn.execute("ROLLBACK TO unit")
            conn.execute("RELEASE unit")
            if key in _pending:
                del _pending[key][mark:]
            raise
        else:
            conn.execute("RELEASE unit")
        finally:
            _depth[key] -= 1
            if not _depth[key]:
                del _depth[key]
        return
    conn.execute("BEGIN IMMEDIATE")
    _depth[key] = 1
    try:
        yield conn
        chained = _flush(conn) or key in _chained
    except BaseException:
        _pending.pop(key, None)
        _depth.pop(key, None)
        _chained.discard(key)
        conn.execute("ROLLBACK")
        raise
    _depth.pop(key, None)
    _chained.discard(key)
    conn.execute("COMMIT")
    if chained:
        _anchor(conn)


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
    """Record one audit row about a record (medmassage/store/audit.py, digests.py). Inside
    db.transaction it is chained when the transaction commits, with the record's content digest
    as the change left it; outside one, in a transaction of its own. Only ids and verbs: never
    client data."""
    row = (now_stamp(), actor(), action, entity, entity_id)
    if _depth.get(id(conn)):
        _pending.setdefault(id(conn), []).append(row)
    elif conn.in_transaction:  # a transaction db.transaction did not open: chain it now
        _pending[id(conn)] = [row]
        _flush(conn)
    else:
        with transaction(conn):
            _pending.setdefault(id(conn), []).append(row)


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
