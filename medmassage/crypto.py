"""Encryption at rest: SQLCipher 4 (AES-256, PBKDF2-HMAC-SHA512) through the optional package
`sqlcipher3` (`pip install 'medmassage[encrypt]'`). notes-storage-and-security §4.

- A plaintext database never imports this module, sqlcipher3 or keyring (db.connect looks at
  the header first): an existing, non-empty file whose first 16 bytes are not
  "SQLite format 3\\0" and whose size is whole pages is taken as encrypted (`is_encrypted`).
  Everything else goes through the standard library as before.
- The key is a passphrase run through SQLCipher's KDF (256,000 iterations, a random salt per
  file). It comes from the OS keyring (`keyring`, optional, looked up only for an encrypted
  database) or from a prompt on a terminal (getpass, asked twice when set), never from the command
  line or the environment. Without a terminal and without a stored key the command stops.
- `convert` turns a database into a plaintext, encrypted or re-keyed copy beside it (a temp file,
  0600), checks the copy (opens with its key, integrity_check, cipher_integrity_check, the same
  schema, version and row counts), then renames it over the database. The database is held for
  this process alone throughout (locking_mode=EXCLUSIVE): no other command can write a change
  that the copy would miss. The old file's WAL and the file itself are overwritten with zeros
  before they go (best effort: see `scrub`).

Cost (measured, 74 MB practice of 100,000 sessions): the KDF makes every open of an encrypted
database about 80 ms slower (0.8 ms → 80 ms to the first row), the keyring lookup adds 50-70 ms
(importing keyring), and an encrypted command runs 110-160 ms slower in all. `db encrypt` of
that file: 1.4 s.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medmassage.errors import InputError, MedmassageError, RuntimeProblem
from medmassage.render import fsync_folder

if TYPE_CHECKING:
    from medmassage.facts import Facts

SQLITE_HEADER = b"SQLite format 3\x00"
KEYRING_SERVICE = "medmassage"
# Pinned, so a later sqlcipher3 wheel with new SQLCipher defaults still opens today's files.
CIPHER_COMPATIBILITY = 4
MIN_KEY_LENGTH = 8
INSTALL_HINT = "pip install 'medmassage[encrypt]'"
NO_TERMINAL = (
    "database: encrypted; run on a terminal to enter the key, or store it with: "
    "medmassage db encrypt --keyring"
)


class KeyProblem(MedmassageError):
    """No key available, a wrong key, two keys that differ: nothing was read or written.
    Exit code 2."""

    exit_code = 2


# --- detection and the driver ---------------------------------------------------------------


def is_encrypted(path: Path) -> bool:
    """An existing, non-empty file that is whole pages but has no plain SQLite header.

    (SQLCipher writes a random salt where SQLite writes its header.) A file that is neither is
    left to sqlite3, which says "file is not a database" as it always did.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(16)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return False
    # A salt is random: sixteen zero bytes there are a zeroed header, i.e. damage, and must be
    # reported as such (db.connect does), not met with a prompt for a key.
    return size > 0 and size % 512 == 0 and head != SQLITE_HEADER and bool(head.strip(b"\x00"))


def driver() -> Any:
    """`sqlcipher3.dbapi2`, or one line saying how to install it."""
    try:
        from sqlcipher3 import dbapi2
    except ImportError:
        raise RuntimeProblem(
            f"the database is encrypted and the encryption extra is not installed: {INSTALL_HINT}"
        ) from None
    return dbapi2


def database_errors(base: str = "Error") -> tuple[type[BaseException], ...]:
    """sqlite3's error class `base`, and sqlcipher3's once it is loaded: sqlcipher3's classes do
    not derive from sqlite3's (an `except sqlite3.Error` misses them)."""
    cipher = sys.modules.get("sqlcipher3.dbapi2")
    found: tuple[type[BaseException], ...] = (getattr(sqlite3, base),)
    if cipher is not None:
        found += (getattr(cipher, base),)
    return found


_CONNECTION_CLASS: Any = None


def _connection_class(dbapi2: Any) -> Any:
    """A sqlcipher3 connection that remembers its key, so copies (backups) get the same one."""
    global _CONNECTION_CLASS
    if _CONNECTION_CLASS is None:

        class EncryptedConnection(dbapi2.Connection):  # type: ignore[misc, name-defined]
            medmassage_key: str | None = None

        _CONNECTION_CLASS = EncryptedConnection
    return _CONNECTION_CLASS


def key_of(conn: object) -> str | None:
    """The key an encrypted connection was opened with; None for a plaintext one."""
    return getattr(conn, "medmassage_key", None)


def _quote(key: str) -> str:
    """A SQL string literal (PRAGMA key takes no bound parameters)."""
    return "'" + key.replace("'", "''") + "'"


def _raw_connect(dbapi2: Any, target: str, timeout: float, *, uri: bool = False) -> Any:
    conn = dbapi2.connect(
        target,
        timeout=timeout,
        isolation_level=None,
        uri=uri,
        factory=_connection_class(dbapi2),
    )
    # SQLCipher logs a failed HMAC (a wrong key) to stderr by default: one line is ours to say.
    conn.execute("PRAGMA cipher_log_level = NONE")
    return conn


def _apply_key(conn: Any, key: str, schema: str = "main") -> None:
    conn.execute(f"PRAGMA {schema}.key = {_quote(key)}")
    conn.execute(f"PRAGMA {schema}.cipher_compatibility = {CIPHER_COMPATIBILITY}")


def _opens(conn: Any) -> bool:
    """The first read runs the KDF and checks page 1's HMAC: a wrong key fails here."""
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except conn.DatabaseError as e:
        if "not a database" in str(e) or "encrypted" in str(e):
            return False
        raise
    return True


def try_key(path: Path, key: str, timeout: float, *, read_only: bool = False) -> Any | None:
    """A connection to the encrypted `path` opened with `key`, or None if the key is wrong."""
    dbapi2 = driver()
    if read_only:
        conn = _raw_connect(dbapi2, f"{Path(path).resolve().as_uri()}?mode=ro", timeout, uri=True)
    else:
        conn = _raw_connect(dbapi2, str(path), timeout)
    try:
        _apply_key(conn, key)
        if not _opens(conn):
            conn.close()
            return None
    except BaseException:
        conn.close()
        raise
    conn.medmassage_key = key
    conn.row_factory = dbapi2.Row
    return conn


def wrong_key(path: Path) -> KeyProblem:
    return KeyProblem(f"the key does not open {path}; nothing was read or changed")


def open_encrypted(path: Path, timeout: float, key: str | None = None) -> tuple[Any, list[str]]:
    """Open the encrypted database with `key`, else the OS keyring's key for it, else a prompt.

    Returns the connection (rows as `Row`, key remembered) and warnings for the user.
    """
    driver()  # before any prompt: without the extra there is nothing to type a key for
    notes: list[str] = []
    if key is not None:
        conn = try_key(path, key, timeout)
        if conn is None:
            raise wrong_key(path)
        return conn, notes
    stored = stored_key(path)
    if stored is not None:
        conn = try_key(path, stored, timeout)
        if conn is not None:
            return conn, notes
        if not interactive():
            raise KeyProblem(
                f"the key stored in the OS keyring does not open {path}; run on a terminal to "
                "enter the key"
            )
        notes.append("the key stored in the OS keyring does not open this database")
    if not interactive():
        raise KeyProblem(NO_TERMINAL)
    conn = try_key(path, ask(f"Key for {path.name}: "), timeout)
    if conn is None:
        raise wrong_key(path)
    return conn, notes


def open_with_key(path: Path, key: str, timeout: float, *, read_only: bool = False) -> Any:
    """A connection to a file other than the practice database, with the practice database's
    key: a new or empty file is created encrypted with it (backup copies), an encrypted file
    must open with it, and a plaintext file is read as plaintext through the same driver (so
    `Connection.backup` works between the two)."""
    path = Path(path)
    if is_encrypted(path) or not path.exists() or path.stat().st_size == 0:
        conn = try_key(path, key, timeout, read_only=read_only)
        if conn is None:
            raise wrong_key(path)
        return conn
    dbapi2 = driver()
    if read_only:
        return _raw_connect(dbapi2, f"{path.resolve().as_uri()}?mode=ro", timeout, uri=True)
    return _raw_connect(dbapi2, str(path), timeout)


def connect_keyed(path: Path, key: str, timeout: float) -> Any:
    """A connection to the encrypted `path` with `key` applied and nothing read yet, so the
    caller can set locking pragmas before the first read (a restore's exclusive lock). The key
    must already be known to open the file. Copies made from it get the same key (`open_like`)."""
    conn = _raw_connect(driver(), str(path), timeout)
    try:
        _apply_key(conn, key)
    except BaseException:
        conn.close()
        raise
    conn.medmassage_key = key
    return conn


def rekey_file(path: Path, old: str, new: str, timeout: float) -> None:
    """Re-encrypt the file `path` (not in WAL mode: a staged copy) from `old` to `new` in place
    (PRAGMA rekey: one transaction), then check that `new` opens it."""
    conn = try_key(path, old, timeout)
    if conn is None:
        raise wrong_key(path)
    try:
        conn.execute(f"PRAGMA rekey = {_quote(new)}")
    finally:
        conn.close()
    check = try_key(path, new, timeout)
    if check is None:
        raise RuntimeProblem(f"re-keying {path} failed; nothing was changed")
    check.close()


def open_like(like: Any, path: Path, timeout: float, *, read_only: bool = False) -> Any:
    """A connection to `path` (a backup copy, a staged file) of the same kind as the encrypted
    connection `like`: sqlcipher3, with its key (see `open_with_key`)."""
    key = key_of(like)
    if key is None:
        dbapi2 = driver()
        target = f"{Path(path).resolve().as_uri()}?mode=ro" if read_only else str(path)
        return _raw_connect(dbapi2, target, timeout, uri=read_only)
    return open_with_key(path, key, timeout, read_only=read_only)


# --- where keys come from -------------------------------------------------------------------


def interactive() -> bool:
    """A prompt only on a terminal: getpass would otherwise read a key from piped input."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def ask(prompt: str) -> str:
    import getpass

    try:
        key = getpass.getpass(prompt)
    except EOFError:
        raise KeyProblem("no key was entered; nothing was read or changed") from None
    if not key:
        raise KeyProblem("no key was entered; nothing was read or changed")
    return key


def ask_new_key(path: Path) -> str:
    """A new key, typed twice on a terminal."""
    if not interactive():
        raise KeyProblem(
            "a new key is typed on a terminal (never given on the command line or in the "
            "environment); run this on a terminal. Nothing was changed"
        )
    print(
        f"Choose a key (passphrase) for {path.name}: at least {MIN_KEY_LENGTH} characters; "
        "several unrelated words are strong and easy to type. Without it the records cannot "
        "be read by anyone, you included: keep a copy somewhere safe, apart from the computer.",
        file=sys.stderr,
    )
    first = ask("New key: ")
    if len(first) < MIN_KEY_LENGTH or "\x00" in first:
        raise KeyProblem(
            f"the key has {len(first)} characters; use at least {MIN_KEY_LENGTH}. Nothing was "
            "changed"
        )
    if ask("The same key again: ") != first:
        raise KeyProblem("the two keys differ; nothing was changed")
    return first


def _keyring() -> Any:
    try:
        import keyring
    except ImportError:
        return None
    return keyring


def _account(path: Path) -> str:
    return str(Path(path).resolve())


def stored_key(path: Path) -> str | None:
    """The key kept in the OS keyring for this database file, if any."""
    keyring = _keyring()
    if keyring is None:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, _account(path))
    except Exception:  # no backend, a locked or unreachable keyring: the prompt remains
        return None


# Backends that would not keep a key safe: they drop it, refuse it, or write it in the clear.
_UNSAFE_BACKENDS = ("keyring.backends.fail.", "keyring.backends.null.", "keyrings.alt.file.Plain")


def keyring_ready() -> str:
    """The OS keyring backend that will keep the key, or one line saying why there is none."""
    keyring = _keyring()
    if keyring is None:
        raise RuntimeProblem(
            "--keyring needs the keyring package: pip install keyring. Nothing was changed"
        )
    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__qualname__}"
    if name.startswith(_UNSAFE_BACKENDS):
        raise RuntimeProblem(
            f"no OS keyring that keeps secrets safely is available here ({name}); run without "
            "--keyring and type the key when asked. Nothing was changed"
        )
    return name


def store_key(path: Path, key: str) -> str:
    """Keep `key` in the OS keyring for this database file; read it back to be sure."""
    name = keyring_ready()
    keyring = _keyring()
    try:
        keyring.set_password(KEYRING_SERVICE, _account(path), key)
        kept = keyring.get_password(KEYRING_SERVICE, _account(path))
    except Exception as e:
        raise RuntimeProblem(f"the OS keyring refused the key ({type(e).__name__})") from None
    if kept != key:
        raise RuntimeProblem(f"the OS keyring ({name}) did not keep the key")
    return name


def forget_key(path: Path) -> bool:
    """Remove this database's key from the OS keyring. True when there was one."""
    keyring = _keyring()
    if keyring is None or stored_key(path) is None:
        return False
    try:
        keyring.delete_password(KEYRING_SERVICE, _account(path))
    except Exception:
        return False
    return True


# --- converting -----------------------------------------------------------------------------


# A plain class, not a dataclass: building a dataclass costs about a millisecond at import, and
# every command imports this module (db.connect asks `is_encrypted`).
class Converted:
    """What `convert` did."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tables = 0
        self.rows = 0
        self.seconds = 0.0
        self.kept: Path | None = None
        self.scrubbed: list[str] = []  # the old file, then side files
        self.warnings: list[str] = []


def _side_files(path: Path) -> list[Path]:
    return [Path(f"{path}{suffix}") for suffix in ("-journal", "-wal", "-shm")]


def _remove_quietly(path: Path) -> None:
    for candidate in (path, *_side_files(path)):
        with contextlib.suppress(OSError):
            candidate.unlink(missing_ok=True)


def _overwrite(fd: int) -> None:
    """Zeros over the whole file, then fsync."""
    size = os.fstat(fd).st_size
    block = bytes(1 << 20)
    os.lseek(fd, 0, os.SEEK_SET)
    done = 0
    while done < size:
        done += os.write(fd, block[: min(len(block), size - done)])
    os.fsync(fd)


def scrub(path: Path) -> bool:
    """Overwrite a file with zeros, fsync, remove it. True when it existed.

    Best effort: on SSDs (wear levelling) and copy-on-write file systems (APFS, btrfs, ZFS) and
    in snapshots the old blocks can survive an overwrite. Only encryption from the start, or
    full-disk encryption, fully protects data at rest.
    """
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        _overwrite(fd)
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)
    return True


def _busy(e: BaseException) -> bool:
    return isinstance(e, database_errors("OperationalError")) and (
        "locked" in str(e) or "busy" in str(e)
    )


def _lock(path: Path, source_key: str | None, timeout: float) -> tuple[Any, bool]:
    """The database for this connection alone, with its WAL folded in and scrubbed.

    locking_mode=EXCLUSIVE before the first read: in WAL mode the first read then takes the
    file's exclusive lock (refused while any other connection has it open); a write (the
    version, rewritten as it is) keeps the lock in rollback mode too. Leaving WAL mode
    (journal_mode=DELETE) means that closing this connection later deletes no -wal by name:
    after the swap that name belongs to the new file. Returns the connection and whether a WAL
    was overwritten.
    """
    dbapi2 = driver()
    conn = _raw_connect(dbapi2, str(path), timeout)
    wal_scrubbed = False
    try:
        if source_key is not None:
            _apply_key(conn, source_key)
        conn.execute("PRAGMA main.locking_mode = EXCLUSIVE")
        conn.execute("PRAGMA synchronous = FULL")
        if source_key is not None and not _opens(conn):
            raise wrong_key(path)
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute(f"PRAGMA user_version = {int(version)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(FULL)").fetchone()
            wal = Path(f"{path}-wal")
            if busy == 0 and frames == copied and wal.exists():
                # Every frame is in the main file now (fsync'd): the WAL's copies can go.
                fd = os.open(wal, os.O_RDWR)
                try:
                    _overwrite(fd)
                    wal_scrubbed = True
                finally:
                    os.close(fd)
            conn.execute("PRAGMA journal_mode = DELETE")
    except BaseException as e:
        conn.close()
        if _busy(e):
            raise RuntimeProblem(
                "another program has the practice database open (a medmassage command still "
                "running, or a database viewer); close it and try again. Nothing was changed"
            ) from None
        raise
    return conn, wal_scrubbed


def _differences(copy: Any, expected: Facts, encrypted: bool) -> list[str]:
    from medmassage.facts import differences, read_facts

    problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        return [f"integrity check: {problems[0]}"]
    if encrypted:
        bad = copy.execute("PRAGMA cipher_integrity_check").fetchall()
        if bad:
            return [f"cipher integrity check: {bad[0][0]}"]
    return differences(read_facts(copy), expected)


def _open_copy(temp: Path, target_key: str | None, timeout: float) -> Any:
    if target_key is None:  # plaintext: the standard library must read it
        return sqlite3.connect(temp, timeout=timeout, isolation_level=None)
    conn = try_key(temp, target_key, timeout)
    if conn is None:
        raise RuntimeProblem("the encrypted copy does not open with its key; nothing was changed")
    return conn


def convert(
    path: Path,
    *,
    source_key: str | None,
    target_key: str | None,
    keep: Path | None = None,
    scrub_old: bool = True,
    timeout: float = 5.0,
) -> Converted:
    """Rewrite the database at `path` encrypted with `target_key` (None: plaintext).

    `source_key` opens it (None: it is plaintext). `keep`: a path where the old file stays
    (a hard link, so nothing is copied); else, with `scrub_old`, the old file is overwritten
    with zeros once the new one is in place.
    """
    from medmassage.facts import read_facts  # only convert needs it, not every command

    started = time.perf_counter()
    path = Path(path)
    temp = path.with_name(f".{path.name}.convert-tmp{os.getpid()}")
    _remove_quietly(temp)
    fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    result = Converted(path)
    old_fd: int | None = None
    source = None
    try:
        source, wal_scrubbed = _lock(path, source_key, timeout)
        if wal_scrubbed and scrub_old:
            result.scrubbed.append(f"{path.name}-wal")
        expected = read_facts(source)
        source.execute(
            "ATTACH DATABASE ? AS converted KEY ?",
            (str(temp), "" if target_key is None else target_key),
        )
        try:
            if target_key is not None:
                source.execute(f"PRAGMA converted.cipher_compatibility = {CIPHER_COMPATIBILITY}")
            source.execute("SELECT sqlcipher_export('converted')")
            # sqlcipher_export copies schema and rows, not the header fields.
            source.execute(f"PRAGMA converted.user_version = {int(expected.version)}")
            source.execute(f"PRAGMA converted.application_id = {int(expected.application_id)}")
        finally:
            source.execute("DETACH DATABASE converted")
        copy = _open_copy(temp, target_key, timeout)
        try:
            problems = _differences(copy, expected, encrypted=target_key is not None)
            if not problems:
                copy.execute("PRAGMA journal_mode = WAL")
        finally:
            copy.close()
        if problems:
            raise RuntimeProblem(
                f"the converted copy did not verify ({'; '.join(problems[:3])}); nothing was "
                "changed. Run `medmassage db check`"
            )
        fd = os.open(temp, os.O_RDWR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if keep is not None:
            os.link(path, keep)  # the old file itself stays under the new name
            result.kept = keep
        elif scrub_old:
            old_fd = os.open(path, os.O_RDWR)
        # Side files go while the lock is ours (no one else can be using them; after the swap
        # these names belong to the new file): the rollback journal our lock left (a copy of
        # page 1) and any -wal/-shm.
        for side in _side_files(path):
            if scrub(side) and scrub_old:
                result.scrubbed.append(side.name)
        os.replace(temp, path)
    except BaseException as e:
        if source is not None:
            # As it was (we still hold it); else connect() puts WAL back on the next open.
            with contextlib.suppress(Exception):
                source.execute("PRAGMA journal_mode = WAL")
            source.close()
            source = None
        _remove_quietly(temp)
        if old_fd is not None:
            os.close(old_fd)
        if isinstance(e, OSError):
            raise RuntimeProblem(
                f"could not write the converted copy ({e.strerror}); nothing was changed"
            ) from None
        if isinstance(e, database_errors()) and not _busy(e):
            raise RuntimeProblem(
                f"could not write the converted copy ({e}); nothing was changed"
            ) from None
        raise
    fsync_folder(path.parent)
    # The new file is in place. The old one, no longer under any name, is ours to overwrite.
    try:
        if old_fd is not None:
            try:
                _overwrite(old_fd)
                result.scrubbed.insert(0, path.name)
            finally:
                os.close(old_fd)
    except OSError as e:
        result.warnings.append(f"could not overwrite the old file ({e.strerror})")
    finally:
        source.close()
    result.tables = len(expected.counts)
    result.rows = expected.rows
    result.seconds = time.perf_counter() - started
    return result


# --- the commands' work ---------------------------------------------------------------------


class Outcome:
    """What a `db encrypt/decrypt/rekey` did, for the CLI to tell."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.warnings: list[str] = []
        self.converted: Converted | None = None


def kept_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.plaintext{path.suffix or '.db'}")


def encrypt(path: Path, *, use_keyring: bool, keep_plaintext: bool, timeout: float) -> Outcome:
    from medmassage import db

    outcome = Outcome()
    if is_encrypted(path):
        if not use_keyring:
            outcome.messages.append(
                f"{path} is already encrypted; nothing was changed (a new key: medmassage db "
                "rekey; the key in the OS keyring: medmassage db encrypt --keyring)"
            )
            return outcome
        keyring_ready()
        if stored_key(path) is None and not interactive():
            raise KeyProblem(
                "db encrypt --keyring: run it on a terminal to enter the key once; the OS "
                "keyring then keeps it. Nothing was changed"
            )
        conn, notes = open_encrypted(path, timeout)
        key = key_of(conn)
        conn.close()
        outcome.warnings += notes
        if stored_key(path) == key:
            outcome.messages.append("the key is already in the OS keyring; nothing was changed")
            return outcome
        backend = store_key(path, key or "")
        outcome.messages.append(f"the key is now kept in the OS keyring ({backend})")
        return outcome
    driver()
    if use_keyring:
        keyring_ready()
    keep = kept_path(path) if keep_plaintext else None
    if keep is not None and (keep.exists() or keep.is_symlink()):
        raise InputError("--keep-plaintext", str(keep), "exists; move it away first")
    conn, notes = db.connect(path)  # created and migrated as every command would
    conn.close()
    outcome.warnings += notes
    outcome.warnings += _remove_own_temps(path)
    key = stored_key(path) if use_keyring else None
    if key is not None:
        outcome.messages.append("used the key already kept in the OS keyring for this database")
    else:
        key = ask_new_key(path)
    outcome.converted = convert(
        path, source_key=None, target_key=key, keep=keep, scrub_old=keep is None, timeout=timeout
    )
    check, _ = db.connect(path, key=key)  # opens as every command will
    check.close()
    if use_keyring and stored_key(path) != key:
        try:
            outcome.messages.append(f"the key is kept in the OS keyring ({store_key(path, key)})")
        except MedmassageError as e:
            outcome.warnings.append(f"{e}: type the key when asked")
    outcome.warnings += plaintext_copies(path)
    return outcome


def _remove_own_temps(path: Path) -> list[str]:
    """Before encrypting: the temporary copies a killed `db encrypt`/`decrypt`/`rekey`,
    `db backup` or `db restore` left beside the database are plaintext records; remove them
    (a copy a running command is writing is left alone)."""
    from medmassage.backup import _running, remove_stale_temps, stale_temps_note

    removed = remove_stale_temps({path.parent, path.parent / "backups"})
    prefix = f".{path.name}.convert-tmp"
    for entry in sorted(path.parent.glob(f"{prefix}*")):
        pid = entry.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            _remove_quietly(entry)
            removed.append(entry)
    return stale_temps_note(removed)


def plaintext_copies(path: Path) -> list[str]:
    """What medmassage made beside the database that stays in plaintext after `db encrypt`:
    older backups, copies kept aside by a restore, notes kept for recovery. Named (never read)
    so the user can decide; their content is theirs to delete or keep."""
    found: list[str] = []
    folder = path.parent
    backups = [
        p for p in sorted((folder / "backups").glob("*.db")) if p.is_file() and not is_encrypted(p)
    ]
    aside = sorted(folder.glob(f"{path.name}.before-restore-*"))
    notes = sorted((folder / "recovered-notes").glob("*.md"))
    if backups:
        found.append(
            f"{len(backups)} older backup(s) in {folder / 'backups'} are not encrypted: make a "
            "new backup (medmassage db backup) and delete them"
        )
    if aside:
        found.append(
            f"{len(aside)} copy(ies) kept aside by a restore ({aside[0].name}…) are not "
            "encrypted: delete them once you no longer need them"
        )
    if notes:
        found.append(
            f"{len(notes)} note(s) kept in {folder / 'recovered-notes'} are plain text: delete "
            "them once used"
        )
    return found


def decrypt(path: Path, *, confirm: Callable[[], bool], timeout: float) -> Outcome:
    from medmassage import db

    outcome = Outcome()
    if not is_encrypted(path):
        outcome.messages.append(f"{path} is not encrypted; nothing was changed")
        return outcome
    conn, notes = db.connect(path)
    key = key_of(conn)
    conn.close()
    outcome.warnings += notes
    if not confirm():
        raise KeyProblem("decryption cancelled; nothing was changed")
    outcome.converted = convert(
        path, source_key=key, target_key=None, scrub_old=False, timeout=timeout
    )
    check, _ = db.connect(path)
    check.close()
    if forget_key(path):
        outcome.messages.append("the key was removed from the OS keyring")
    return outcome


def rekey(path: Path, *, use_keyring: bool, timeout: float) -> Outcome:
    from medmassage import db

    outcome = Outcome()
    if not is_encrypted(path):
        raise KeyProblem(f"{path} is not encrypted; to encrypt it: medmassage db encrypt")
    if use_keyring:
        keyring_ready()
    conn, notes = db.connect(path)
    old = key_of(conn)
    conn.close()
    outcome.warnings += notes
    had_stored = stored_key(path) is not None
    new = ask_new_key(path)
    if new == old:
        raise KeyProblem("the new key is the current key; nothing was changed")
    outcome.converted = convert(path, source_key=old, target_key=new, timeout=timeout)
    check, _ = db.connect(path, key=new)
    check.close()
    if use_keyring or had_stored:
        try:
            backend = store_key(path, new)
            outcome.messages.append(f"the new key is kept in the OS keyring ({backend})")
        except MedmassageError as e:
            forget_key(path)
            outcome.warnings.append(f"{e}: type the new key when asked")
    return outcome
