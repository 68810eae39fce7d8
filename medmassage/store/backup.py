"""Backups and restores of the practice database, verified before they are reported done.

Both directions go through SQLite's online backup API (`Connection.backup`), never a file
copy: a copied file misses what is still in the -wal file, and a copy taken while another
command writes can be torn (notes-storage-and-security §1.3, §5.3: 18 of 20 `cp` copies missed
committed rows, one was corrupt; the backup API: 20 of 20 whole).

Backup (`db backup FILE`):
  1. one read transaction on the practice database: the schema and the row count of every
     table, then the copy, both from the same snapshot (WAL: other commands keep writing);
  2. the copy goes into a temporary file beside FILE, created owner-only (0600, O_EXCL), and
     is made standalone (journal_mode DELETE: one file, no -wal, safe to move);
  3. verified: `PRAGMA integrity_check`, application_id, schema version, schema, row counts;
  4. fsync'd, renamed over FILE, and the folder fsync'd. A failure leaves no temporary file
     and FILE as it was.

Restore (`db restore FILE`):
  1. FILE is read (read-only) through the backup API into a staging file beside the practice
     database, and the staged copy is checked: integrity, a medmassage database (application_id),
     a schema this version knows, foreign keys, protective triggers. An older schema is
     migrated there. Until now the practice database has not been touched;
  2. the practice database is locked for this process alone (`locking_mode=EXCLUSIVE`, then
     `BEGIN EXCLUSIVE`). In WAL mode every open connection holds a shared lock on the file, so
     any other program with it open (a command still running, a database viewer) keeps the
     lock from being granted: after the busy timeout the restore is refused, nothing changed;
  3. under the lock, the current database (with whatever its -wal held) is copied aside
     through the backup API to `practice.db.before-restore-YYYYMMDD-HHMMSS` (owner-only),
     verified and fsync'd. A damaged current database is copied page for page as it is;
  4. still under the lock, the staged copy is written into the practice database through the
     backup API: one SQLite transaction, so a crash leaves the old or the new database, never
     half of one. The file keeps its inode, mode and WAL mode, so no other process can be left
     holding the old file or pairing it with the wrong -wal. The result is checked against the
     staged copy (the copy kept aside is written back if it does not match), checkpointed, and
     opened with `db.connect` as every command opens it.
  A practice file that SQLite cannot read at all (overwritten, zeroed) cannot be locked or used
  by anyone: its bytes are copied aside and the staged copy is renamed into its place.

Encrypted databases (SQLCipher, medmassage/store/crypto.py). A backup of an encrypted database is
encrypted with the same key. A restore keeps the practice database's kind and key:
  - the practice database is opened as every command opens it (OS keyring, else a prompt); a
    wrong key stops the restore before anything is read or written (exit 2);
  - an encrypted FILE is tried with the practice database's key, then a key the OS keyring holds
    for FILE, then one typed at a prompt (a terminal only: in a script, exit 2). It is staged
    encrypted with its own key, checked, and re-keyed there (PRAGMA rekey on the staged copy)
    when its key differs: the practice database keeps its current key. A wrong key: exit 2,
    nothing changed. The staged copy, the copy kept aside and the result are all encrypted
    (every connection to them is keyed; no plaintext page is ever written);
  - a plaintext FILE over an encrypted practice database, or an encrypted FILE over a plaintext
    (or missing) one, is refused (exit 2, nothing changed): make both match first with
    `db decrypt` or `db encrypt`. The restore never changes whether the practice database is
    encrypted.

Every connection to a file other than through `db.connect` is opened by `open_file`: the one
place that knows how to open copies of an encrypted practice database (crypto.open_like, or
crypto.open_with_key for a restore's staged and aside copies).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from medmassage.errors import InputError, MedmassageError, RuntimeProblem
from medmassage.rules.dates import now_stamp
from medmassage.store import audit, db
from medmassage.store.files import USER_PATH_ERRORS, fsync_folder
from medmassage.store.fingerprint import Facts, differences, read_facts
from medmassage.store.manifest import (
    manifest_path,
    manifest_problems,
    read_manifest,
    write_manifest,
)
from medmassage.store.migrations import APPLICATION_ID, LATEST_VERSION

SQLITE_HEADER = b"SQLite format 3\x00"

# How long a restore waits for other connections to the practice database to close.
LOCK_WAIT_S = db.BUSY_TIMEOUT_S


class Cancelled(MedmassageError):
    """The user answered no. Exit code 1."""

    exit_code = 1


@dataclass(frozen=True)
class BackupDone:
    path: Path
    sessions: int
    size: int  # bytes
    seconds: float
    notes: list[str] = field(default_factory=list)  # warnings from opening the database


@dataclass(frozen=True)
class RestoreDone:
    source: Path
    database: Path
    sessions: int
    version: int  # schema version of the file restored, before any migration
    aside: Path | None  # where the previous database was kept (None: there was none)
    aside_sessions: int | None  # None when it was damaged or unreadable (kept as it was)
    seconds: float
    notes: list[str] = field(default_factory=list)


# --- opening files --------------------------------------------------------------------------


def open_file(
    path: Path, *, read_only: bool = False, like: Any = None, key: str | None = None
) -> Any:
    """A connection to a database file other than through `db.connect`: backup copies, files
    to restore, staged and aside copies, and the restore's exclusive lock.

    `like`: the practice database's connection, when its copies are made. An encrypted one
    (sqlcipher3) gets copies through the same driver with the same key: `Connection.backup`
    works only between connections of one SQLite library. `key`: a restore's staged or aside
    copy of an encrypted database (a new, empty file is created encrypted with it).
    """
    if key is not None:
        from medmassage.store import crypto

        return crypto.open_with_key(path, key, db.BUSY_TIMEOUT_S, read_only=read_only)
    if like is not None and not isinstance(like, sqlite3.Connection):
        from medmassage.store import crypto

        return crypto.open_like(like, path, db.BUSY_TIMEOUT_S, read_only=read_only)
    if read_only:
        # mode=ro: a restore never writes to the user's backup file (it may be on read-only
        # media, and a hot journal in it must not be rolled back into it).
        target = f"{Path(path).resolve().as_uri()}?mode=ro"
        return sqlite3.connect(target, uri=True, timeout=db.BUSY_TIMEOUT_S, isolation_level=None)
    return sqlite3.connect(path, timeout=db.BUSY_TIMEOUT_S, isolation_level=None)


def _errors(base: str = "DatabaseError") -> tuple[type[BaseException], ...]:
    """sqlite3's error class `base`, and sqlcipher3's when it is loaded (they are unrelated)."""
    cipher = sys.modules.get("sqlcipher3.dbapi2")
    return (getattr(sqlite3, base), *((getattr(cipher, base),) if cipher else ()))


def _looks_encrypted(path: Path) -> bool:
    """Whether `path` is (taken for) an encrypted database. Loads medmassage.store.crypto only for a
    file without a plain SQLite header; a zeroed header is damage, not a cipher's salt."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    if head == SQLITE_HEADER or not head.strip(b"\x00"):
        return False
    from medmassage.store import crypto

    return crypto.is_encrypted(path)


# --- reading facts --------------------------------------------------------------------------


def integrity_problems(conn: Any) -> list[str]:
    """`PRAGMA integrity_check`: [] when the file is sound, else SQLite's findings."""
    rows = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    return [] if rows == ["ok"] else rows


def _damage(conn: Any) -> list[str]:
    try:
        return integrity_problems(conn)
    except _errors() as e:
        return [str(e)]


def _differences(conn: Any, expected: Facts) -> list[str]:
    """How the database `conn` reads differs from `expected` (integrity first)."""
    try:
        problems = integrity_problems(conn)
        if problems:
            return [f"integrity check: {problems[0]}"]
        found = read_facts(conn)
    except _errors() as e:
        return [f"unreadable ({e})"]
    return differences(found, expected)


def _snapshot(conn: Any) -> None:
    """Start a read transaction on a backup's source. Once it holds a snapshot, the copy cannot
    meet a lock: CPython's `backup()` retries a busy source forever, this waits the busy
    timeout and fails."""
    conn.execute("BEGIN")
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()


def _end(conn: Any) -> None:
    """End a read transaction (an error may have ended it already)."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


# --- files ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _file_errors(path: Path, what: str) -> Iterator[None]:
    """OSError → one line: a path the user can fix exits 2, a disk failure exits 1."""
    try:
        yield
    except OSError as e:
        if e.errno in USER_PATH_ERRORS:
            raise InputError(what, str(path), f"cannot write there ({e.strerror})") from None
        raise RuntimeProblem(
            f"{what}: could not write {path} ({e.strerror}); nothing was changed"
        ) from None


def _create_owner_only(path: Path) -> None:
    """An empty file, mode 0600; O_EXCL refuses an existing file or a planted symlink."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def _remove(path: Path) -> None:
    """A database file and the side files SQLite may have left beside it."""
    for candidate in (path, *(Path(f"{path}{s}") for s in ("-journal", "-wal", "-shm"))):
        with contextlib.suppress(OSError):
            candidate.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_beside(target: Path, label: str) -> Path:
    return target.with_name(f".{target.name}.{label}-tmp{os.getpid()}")


# The temporary copies `_temp_beside` names (a backup, a copy kept aside, a staged restore) and
# the side files SQLite may add to them. Each is a whole copy of the records: created 0600, but
# one a killed command left behind must not stay.
_TEMP_LABELS = ("backup", "copy-kept-aside", "restore")
# Where the owner process cannot be asked (Windows: os.kill(pid, 0) would end it), a temp copy
# this old is left over: no backup takes a day.
STALE_AFTER_S = 24 * 3600


def _temp_pid(name: str) -> int | None:
    """The pid in a name `_temp_beside` made (side files included), else None."""
    if not name.startswith("."):
        return None
    for suffix in ("-journal", "-wal", "-shm"):
        name = name.removesuffix(suffix)
    stem, dot, tail = name.rpartition(".")
    label, sep, pid = tail.rpartition("-tmp")
    if not (dot and sep and stem and label in _TEMP_LABELS and pid.isdigit()):
        return None
    return int(pid)


def _running(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it exists
        return True
    return True


def remove_stale_temps(folders: set[Path] | list[Path]) -> list[Path]:
    """Remove the temporary copies a killed `db backup` or `db restore` left in `folders`: those
    whose process is gone (or, where that cannot be asked, a day old). A copy another command
    is still writing is left alone. Returns what was removed."""
    removed: list[Path] = []
    now = time.time()
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            pid = _temp_pid(entry.name)
            if pid is None or not entry.is_file(follow_symlinks=False):
                continue
            try:
                old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S
                if _running(pid) and not old:
                    continue
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(Path(entry.path))
    return removed


def stale_temps_note(removed: list[Path]) -> list[str]:
    """The warning for what `remove_stale_temps` removed (file names only)."""
    if not removed:
        return []
    names = ", ".join(sorted(p.name for p in removed))
    return [f"removed {len(removed)} file(s) left by an interrupted backup or restore: {names}"]


def _is_database(candidate: Path, live: Path) -> bool:
    """Whether `candidate` is the practice database or one of its -wal/-shm files."""
    for target in (live, Path(f"{live}-wal"), Path(f"{live}-shm")):
        try:
            if candidate.resolve() == target.resolve():
                return True
            if candidate.exists() and target.exists() and os.path.samefile(candidate, target):
                return True
        except (OSError, RuntimeError):  # unreadable path, symlink loop
            continue
    return False


def _stamp(compact: bool) -> str:
    """The wall clock (not the pinned "today"): file names say when the copy was made."""
    return datetime.now().strftime("%Y%m%d-%H%M%S" if compact else "%Y-%m-%d-%H%M%S")


def _unused(path: Path) -> Path:
    """`path`, or `path` with -2, -3… added when it exists (two in one second)."""
    candidate, n = path, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        name = f"{path.stem}-{n}{path.suffix}" if path.suffix == ".db" else f"{path.name}-{n}"
        candidate = path.with_name(name)
    return candidate


def _aside_path(live: Path) -> Path:
    return _unused(live.with_name(f"{live.name}.before-restore-{_stamp(compact=True)}"))


def write_verified_copy(
    source: Any,
    target: Path,
    *,
    replace: bool,
    what: str = "backup",
    damaged: bool = False,
) -> Facts | None:
    """Copy the database `source` reads to `target`, whole and checked, or not at all.

    Call inside a read transaction on `source` (`_snapshot`): the expected facts and the copy
    then come from one snapshot while other connections keep writing. Returns the facts of the
    copy. `damaged`: the source fails its own integrity check (the restore's lock keeps everyone
    else out, no transaction needed). Its copy is kept page for page as it is, the best copy
    there is; there is nothing to check it against but the backup API's success. Returns None.
    """
    expected = None if damaged else read_facts(source)
    temp = _temp_beside(target, what.replace(" ", "-"))
    _remove(temp)  # left by a crashed run with the same pid
    try:
        with _file_errors(target, what):
            _create_owner_only(temp)
        copy = open_file(temp, like=source)
        try:
            source.backup(copy)  # pages=-1: one step, so a concurrent writer never restarts it
            problems: list[str] = []
            if expected is not None:
                # backup() leaves the copy in the source's WAL mode; DELETE makes it one file.
                copy.execute("PRAGMA journal_mode = DELETE")
                problems = _differences(copy, expected)
            else:
                with contextlib.suppress(*_errors()):  # a damaged schema refuses even this
                    copy.execute("PRAGMA journal_mode = DELETE")
        finally:
            copy.close()
        if problems:
            raise RuntimeProblem(
                f"the {what} did not verify ({'; '.join(problems[:3])}); nothing was written "
                f"at {target}. Run `medmassage db check` on the practice database"
            )
        with _file_errors(target, what):
            _fsync_file(temp)
            if not replace and (target.exists() or target.is_symlink()):
                raise InputError(what, str(target), "appeared while copying; nothing written")
            os.replace(temp, target)
    except BaseException:
        _remove(temp)
        raise
    fsync_folder(target.parent)
    return expected


# --- backup ---------------------------------------------------------------------------------


def default_backup_path(live: Path) -> Path:
    """`<data folder>/backups/practice-YYYY-MM-DD-HHMMSS.db`, the folder created owner-only."""
    folder = live.parent / "backups"
    with _file_errors(folder, "backup folder"):
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)
    return _unused(folder / f"{live.stem}-{_stamp(compact=False)}.db")


def check_backup_target(live: Path, target: Path, *, force: bool) -> None:
    """Refuse, before reading anything: no name, the practice database itself, a missing
    folder, a folder as FILE, an existing FILE without --force."""
    if not target.name or target.name in (".", ".."):
        raise InputError("backup", str(target), "give a file name")
    if _is_database(target, live):
        raise InputError("backup", str(target), "is the practice database itself")
    folder = target.parent
    if not folder.is_dir():
        raise InputError("backup", str(target), f"folder {folder} does not exist")
    if target.is_dir():
        raise InputError("backup", str(target), "is a folder; give a file name")
    if (target.exists() or target.is_symlink()) and not force:
        raise InputError("backup", str(target), "exists; add --force to replace it")


def backup(live: Path, target: Path | None = None, *, force: bool = False) -> BackupDone:
    """Back the practice database up to `target` (default: the data folder's backups/)."""
    started = time.perf_counter()
    if not live.is_file():
        raise InputError("database", str(live), "does not exist yet; nothing to back up")
    if target is not None:
        check_backup_target(live, target, force=force)
    # Opened (and so known to be a medmassage database: another program's file is refused
    # here, untouched) before anything is created beside it.
    source, notes = db.connect(live)
    try:
        if target is None:
            target = default_backup_path(live)
        # What a killed backup left beside this one or in the data folder.
        folders = {target.parent, live.parent, live.parent / "backups"}
        notes = notes + stale_temps_note(remove_stale_temps(folders))
        _snapshot(source)  # WAL: writers carry on; the counts and the copy see this snapshot
        try:
            facts = write_verified_copy(source, target, replace=force)
            # From the same snapshot as the copy: the chain's head the backup holds.
            head = audit.head(source)
            practice = source.execute(
                "SELECT practice_uuid FROM practice_meta WHERE id = 1"
            ).fetchone()
        finally:
            _end(source)
    finally:
        source.close()
    assert facts is not None
    with _file_errors(manifest_path(target), "backup"):
        write_manifest(
            target,
            practice=practice[0] if practice else None,
            written=now_stamp(),
            schema=facts.version,
            sessions=facts.sessions,
            head=head,
        )
    return BackupDone(
        path=target,
        sessions=facts.sessions,
        size=target.stat().st_size,
        seconds=time.perf_counter() - started,
        notes=notes,
    )


# --- restore: the file to restore -----------------------------------------------------------


def _refuse(source: Path, why: str) -> InputError:
    return InputError("restore", str(source), f"{why}; nothing was changed")


def _open_source(source: Path, live_key: str | None) -> tuple[Any, str | None]:
    """The file to restore, read-only, and the key that opens it (None: plaintext).

    An encrypted backup is tried with the practice database's key (the normal case: `db backup`
    keeps it), then with a key the OS keyring holds for that file, then with one typed at a
    prompt (a backup made before `db rekey`). Never a key from the command line or environment.
    """
    if live_key is None:
        return open_file(source, read_only=True), None
    from medmassage.store import crypto

    reader = crypto.try_key(source, live_key, db.BUSY_TIMEOUT_S, read_only=True)
    if reader is not None:
        return reader, live_key
    stored = crypto.stored_key(source)
    if stored is not None:
        reader = crypto.try_key(source, stored, db.BUSY_TIMEOUT_S, read_only=True)
        if reader is not None:
            return reader, stored
    if not crypto.interactive():
        raise crypto.KeyProblem(
            f"{source} is encrypted with another key than the practice database; run on a "
            "terminal to enter its key. Nothing was changed"
        )
    key = crypto.ask(f"Key for {source.name} (the backup): ")
    reader = crypto.try_key(source, key, db.BUSY_TIMEOUT_S, read_only=True)
    if reader is None:
        raise crypto.KeyProblem(f"the key does not open {source}; nothing was changed")
    return reader, key


def _read_into(source: Path, staged: Path, live_key: str | None = None) -> str | None:
    """Copy the file to restore into `staged` through the backup API, reading it read-only.

    An encrypted one is staged encrypted with its own key (`Connection.backup` between two
    sqlcipher3 connections needs both keyed alike). Returns that key (None: plaintext)."""
    side_files = [Path(f"{source}-wal"), Path(f"{source}-shm")]
    existed = {p: p.exists() for p in side_files}
    try:
        try:
            reader, key = _open_source(source, live_key)
        except _errors("Error") as e:
            raise _refuse(source, f"cannot be opened ({e})") from None
    except BaseException:
        _drop_side_files(side_files, existed)
        raise
    try:
        copy = open_file(staged, key=key)
        try:
            _snapshot(reader)
            reader.backup(copy)
        except _errors() as e:
            if _busy(e):
                raise RuntimeProblem(f"{source} is in use by another program; try again") from None
            raise _refuse(source, f"is not a readable SQLite database ({e})") from None
        finally:
            copy.close()
    finally:
        reader.close()
        _drop_side_files(side_files, existed)
    return key


def _drop_side_files(side_files: list[Path], existed: dict[Path, bool]) -> None:
    """A WAL-mode file opened read-only gets an empty -wal/-shm pair it cannot remove."""
    wal = side_files[0]
    if not existed[wal] and wal.exists() and wal.stat().st_size == 0:
        for p in side_files:
            if not existed[p]:
                with contextlib.suppress(OSError):
                    p.unlink()


def check_restore_file(conn: Any, source: Path) -> Facts:
    """A sound medmassage database this version can open, or InputError saying why not."""
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        problems = integrity_problems(conn)
        if problems:
            raise _refuse(source, f"fails the integrity check ({problems[0]})")
        facts = read_facts(conn)
        if facts.application_id != APPLICATION_ID or facts.version < 1:
            raise _refuse(source, "is not a medmassage database")
        if facts.version > LATEST_VERSION:
            raise _refuse(
                source,
                f"was written by a newer medmassage (schema {facts.version}, this one knows "
                f"{LATEST_VERSION}); upgrade medmassage first",
            )
        broken = conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            n = len(broken)
            raise _refuse(source, f"has {n} record{'s' * (n != 1)} pointing at missing ones")
        missing = db.missing_triggers(conn, facts.version)
        if missing:
            raise _refuse(source, f"lacks protective triggers ({', '.join(missing[:3])})")
        _check_manifest(conn, source, facts)
    except _errors() as e:
        raise _refuse(source, f"is not a readable SQLite database ({e})") from None
    return facts


def _check_manifest(conn: Any, source: Path, facts: Facts) -> None:
    """A backup whose manifest (written by `db backup`) no longer matches it was changed since
    it was made: refused. One without a manifest (an older medmassage, or copied without it)
    is restored as before."""
    try:
        data = read_manifest(source)
    except ValueError as e:
        raise _refuse(source, str(e)) from None
    if data is None:
        return
    head = audit.head(conn) if facts.version >= 4 else None
    problems = manifest_problems(source, data, head)
    if problems:
        raise _refuse(
            source,
            f"differs from its manifest {manifest_path(source).name}: {'; '.join(problems)} — "
            "changed since `db backup` wrote it (to restore it anyway, move the manifest away)",
        )


def stage_restore(source: Path, staged: Path, live_key: str | None = None) -> tuple[Facts, int]:
    """Read, check and (if older) migrate the file to restore, in the new file `staged`.

    `live_key`: the practice database's key (None: it is plaintext or absent). The staged copy
    ends encrypted with it (re-keyed when the backup has another key) or plaintext, as the
    practice database is. Returns the staged copy's facts after migration, and the file's own
    schema version."""
    encrypted = _looks_encrypted(source)
    if encrypted and live_key is None:
        raise _refuse(
            source,
            "is encrypted and the practice database is not: encrypt the practice database first "
            "(medmassage db encrypt), then restore",
        )
    if not encrypted and live_key is not None:
        raise _refuse(
            source,
            "is not encrypted and the practice database is: decrypt the practice database "
            "first (medmassage db decrypt), restore, then encrypt it again (medmassage db "
            "encrypt)",
        )
    with _file_errors(staged, "restore"):
        _create_owner_only(staged)
    source_key = _read_into(source, staged, live_key)
    conn = open_file(staged, key=source_key)
    try:
        version = check_restore_file(conn, source).version
    finally:
        conn.close()
    if source_key is not None and live_key is not None and source_key != live_key:
        from medmassage.store import crypto

        # The practice database keeps its current key: the staged copy (journal_mode DELETE
        # since check_restore_file) is re-encrypted with it in one transaction.
        crypto.rekey_file(staged, source_key, live_key, db.BUSY_TIMEOUT_S)
    if version < LATEST_VERSION:
        # The same migrations as every open, in transactions.
        migrated, _ = db.connect(staged, key=live_key)
        migrated.close()
    conn = open_file(staged, key=live_key)
    try:
        facts = read_facts(conn)
    finally:
        conn.close()
    return facts, version


# --- restore: the practice database ---------------------------------------------------------

# What `restore` found at the practice database path: its facts, why it cannot be read
# (damaged, or not a database at all), or None when there is no file yet.
Current = Facts | str | None


def read_current(live: Path) -> tuple[Current, str | None, list[str]]:
    """What is at the practice database path, its key (None: plaintext or no file) and
    warnings. An encrypted one is opened as every command opens it (OS keyring, else a prompt):
    a wrong key stops here, before anything is read or written."""
    if not live.is_file():
        return None, None, []
    key: str | None = None
    notes: list[str] = []
    if _looks_encrypted(live):
        from medmassage.store import crypto

        conn, notes = crypto.open_encrypted(live, db.BUSY_TIMEOUT_S)
        key = crypto.key_of(conn)
    else:
        conn = open_file(live)
    try:
        conn.execute("BEGIN")
        try:
            return read_facts(conn), key, notes
        finally:
            _end(conn)
    except _errors() as e:
        if _busy(e):
            raise
        return str(e), key, notes
    finally:
        conn.close()


def _busy(e: BaseException) -> bool:
    return "locked" in str(e) or "busy" in str(e)


def _not_a_database(e: BaseException) -> bool:
    """SQLITE_NOTADB: page 1 is not a SQLite header, so no program can be using the file."""
    code = getattr(e, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_NOTADB or "not a database" in str(e)


class _Unreadable(Exception):
    """The practice file is not a database SQLite can lock and read."""


@dataclass(frozen=True)
class _Aside:
    path: Path | None  # where the previous database was kept, if anywhere
    facts: Facts | None  # its facts; None when it was damaged or unreadable


def lock_exclusive(live: Path, key: str | None = None) -> Any:
    """A connection holding the practice database for this process alone.

    locking_mode=EXCLUSIVE before the first read: that read then opens the WAL under an
    exclusive lock on the file, which SQLite keeps after COMMIT until the connection closes. No
    transaction is left open (a backup from a connection in a write transaction never starts).
    `key`: an encrypted practice database's key (applied, nothing read, before the pragmas).
    """
    if key is not None:
        from medmassage.store import crypto

        conn = crypto.connect_keyed(live, key, db.BUSY_TIMEOUT_S)
    else:
        conn = open_file(live)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(LOCK_WAIT_S * 1000)}")
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")  # reads page 1's header only: a damaged schema is fine
        conn.execute("COMMIT")
        with contextlib.suppress(*_errors()):  # needs the schema; FULL is SQLite's default
            conn.execute("PRAGMA synchronous = FULL")
    except _errors() as e:
        conn.close()
        if _busy(e):
            raise RuntimeProblem(
                "another program has the practice database open (a medmassage command still "
                "running, or a database viewer); close it and try again. Nothing was changed"
            ) from None
        if _not_a_database(e):
            raise _Unreadable(str(e)) from None
        raise
    except BaseException:
        conn.close()
        raise
    return conn


def _swap_in(
    staged: Path, live: Path, incoming: Facts, *, keep_aside: bool, key: str | None = None
) -> _Aside:
    """Under the exclusive lock: keep the current database aside (when asked), then write the
    staged copy into the practice database and check it. `key`: both are encrypted with it
    (the copy kept aside too, through `open_file(like=lock)`)."""
    kept = _Aside(None, None)
    lock = lock_exclusive(live, key)
    try:
        if key is not None:
            # SQLCipher's backup needs the same page size on both sides; the header that says
            # it is encrypted, so ask SQLite. Checked before anything is written.
            live_size = lock.execute("PRAGMA page_size").fetchone()[0]
            probe = open_file(staged, key=key)
            try:
                staged_size = probe.execute("PRAGMA page_size").fetchone()[0]
            finally:
                probe.close()
            if live_size != staged_size:
                raise RuntimeProblem(
                    f"the backup's page size ({staged_size}) differs from the practice "
                    f"database's ({live_size}); nothing was changed"
                )
        if keep_aside:
            path = _aside_path(live)
            if _damage(lock):
                write_verified_copy(lock, path, replace=False, what="copy kept aside", damaged=True)
                kept = _Aside(path, None)
            else:
                _snapshot(lock)
                try:
                    facts = write_verified_copy(lock, path, replace=False, what="copy kept aside")
                finally:
                    _end(lock)
                kept = _Aside(path, facts)
        if key is None:
            _match_page_size(staged, _page_size(live))
        reader = open_file(staged, key=key)
        try:
            reader.backup(lock)  # one transaction on the practice database
        finally:
            reader.close()
        problems = _differences(lock, incoming)
        if problems:
            if kept.path is not None:
                _put_back(kept.path, lock, key)
            raise RuntimeProblem(
                f"the restored database did not verify ({'; '.join(problems[:3])}); "
                + (
                    f"the previous one was put back (and is kept as {kept.path})"
                    if kept.path is not None
                    else "run the restore again"
                )
            )
        lock.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        lock.close()
    return kept


def _page_size(path: Path) -> int:
    """From the file header (offset 16, big-endian; 1 means 65536): no schema needed."""
    with open(path, "rb") as f:
        f.seek(16)
        size = int.from_bytes(f.read(2), "big")
    return 65536 if size == 1 else size


def _match_page_size(staged: Path, page_size: int) -> None:
    """A WAL database accepts a backup only of its own page size: rebuild the staged copy."""
    conn = open_file(staged)
    try:
        if conn.execute("PRAGMA page_size").fetchone()[0] != page_size:
            conn.execute("PRAGMA journal_mode = DELETE")  # page_size cannot change in WAL mode
            conn.execute(f"PRAGMA page_size = {int(page_size)}")
            conn.execute("VACUUM")
    finally:
        conn.close()


def _put_back(aside: Path, lock: Any, key: str | None = None) -> None:
    reader = open_file(aside, read_only=True, key=key)
    try:
        _snapshot(reader)
        reader.backup(lock)
    finally:
        reader.close()


def _replace_unreadable(staged: Path, live: Path, key: str | None = None) -> Path:
    """The practice file is not a database SQLite can read (overwritten, zeroed): nothing can
    lock or use it, so no command has it open. Its bytes (and any -wal or -journal beside it,
    under the matching names) are copied aside, then the staged copy is renamed into place.
    Returns the aside path."""
    aside = _aside_path(live)
    with _file_errors(aside, "copy kept aside"):
        for suffix in ("", "-wal", "-journal"):
            old = Path(f"{live}{suffix}")
            if old.exists():
                _copy_bytes(old, Path(f"{aside}{suffix}"))
        fsync_folder(aside.parent)
    conn = open_file(staged, key=key)
    try:
        conn.execute("PRAGMA journal_mode = WAL")  # the practice database's mode (persistent)
    finally:
        conn.close()
    with _file_errors(live, "restore"):
        _fsync_file(staged)
        # A -wal or -journal left beside the new file would be replayed into it.
        for suffix in ("-wal", "-journal", "-shm"):
            Path(f"{live}{suffix}").unlink(missing_ok=True)
        os.replace(staged, live)
    return aside


def _copy_bytes(source: Path, target: Path) -> None:
    """Only for a file SQLite cannot read: there is no database to take a snapshot of."""
    fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with open(source, "rb") as f:
            while chunk := f.read(1 << 20):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def restore(
    live: Path,
    source: Path,
    *,
    confirm: Callable[[Facts, Current], bool] = lambda incoming, current: True,
) -> RestoreDone:
    """Replace the practice database with the backup `source`, keeping the current one aside.

    `confirm(incoming, current)` is asked once `source` has been checked, before anything
    changes (see `Current`).
    """
    started = time.perf_counter()
    if not source.is_file():
        raise _refuse(source, "is a folder" if source.is_dir() else "does not exist")
    if _is_database(source, live):
        raise _refuse(source, "is the practice database itself")
    folder = live.parent
    if not folder.is_dir():
        with _file_errors(folder, "database folder"):
            folder.mkdir(mode=0o700, parents=True)
            folder.chmod(0o700)
    current, key, notes = read_current(live)
    staged = _temp_beside(live, "restore")
    _remove(staged)
    try:
        incoming, version = stage_restore(source, staged, key)
        if not confirm(incoming, current):
            raise Cancelled("restore cancelled; nothing was changed")
        if current is None:
            created, notes = db.connect(live)  # 0600 in a 0700 folder, WAL, latest schema
            created.close()
        try:
            aside = _swap_in(staged, live, incoming, keep_aside=current is not None, key=key)
        except _Unreadable:
            aside = _Aside(_replace_unreadable(staged, live, key), None)
    finally:
        _remove(staged)
    fsync_folder(folder)
    conn, more_notes = db.connect(live, key=key)  # opens as every command will
    try:
        # The restored chain is the backup's, shorter than what this computer anchored for
        # this path: the user chose it (the database it replaced is kept aside), so its head
        # becomes the anchor, and `db check` does not report the restore as rows deleted.
        audit.keep_anchor(conn, force=True)
        sessions = read_facts(conn).sessions
    finally:
        conn.close()
    return RestoreDone(
        source=source,
        database=live,
        sessions=sessions,
        version=version,
        aside=aside.path,
        aside_sessions=aside.facts.sessions if aside.facts else None,
        seconds=time.perf_counter() - started,
        notes=notes + more_notes,
    )
