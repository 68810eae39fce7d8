"""Encrypting, decrypting and re-keying a database file (`db encrypt/decrypt/rekey`): a
verified copy under the new key swapped in for the old file, with the plaintext scrubbed. The key
handling and opening of encrypted files is store/crypto.py; this module builds on it, on db.py
and backup.py.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medmassage.errors import InputError, MedmassageError, RuntimeProblem
from medmassage.store.crypto import (
    CIPHER_COMPATIBILITY,
    KeyProblem,
    _apply_key,
    _opens,
    _raw_connect,
    ask_new_key,
    database_errors,
    driver,
    forget_key,
    interactive,
    is_encrypted,
    key_of,
    keyring_ready,
    open_encrypted,
    store_key,
    stored_key,
    try_key,
    wrong_key,
)
from medmassage.store.files import fsync_folder

if TYPE_CHECKING:
    from medmassage.store.fingerprint import Facts


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
    from medmassage.store.fingerprint import differences, read_facts

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
    from medmassage.store.fingerprint import read_facts  # only convert needs it, not every command

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
    from medmassage.store import db

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
    from medmassage.store.backup import _running, remove_stale_temps, stale_temps_note

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
    from medmassage.store import db

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
    from medmassage.store import db

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
