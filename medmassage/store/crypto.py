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

import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from medmassage.errors import MedmassageError, RuntimeProblem

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
