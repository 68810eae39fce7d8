"""Files the tool writes for the user, safely: `-o` targets (never a database, its WAL/SHM
or journal, a device, FIFO or socket; staged beside the target and moved in place, removed when
the command fails), fsync of folders, and the databases this process has open (checked by stat()
only, never opened, so no POSIX lock is dropped). Imports nothing else of medmassage but errors,
so every layer can use it.
"""

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from medmassage.errors import InputError, RuntimeProblem

# A path the user can fix (exit 2) versus trouble with the disk itself (exit 1).
USER_PATH_ERRORS = {
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENAMETOOLONG,
    errno.EEXIST,
    errno.ELOOP,
}


# What an -o file must never replace, known by its first bytes: a SQLite database, a WAL file,
# a rollback journal. A -shm file has no magic number: its wal-index header (version 3007000,
# in the machine's byte order) is stored twice, back to back.
SQLITE_MAGIC = b"SQLite format 3\x00"


WAL_MAGICS = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")


JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")


SHM_VERSION = 3007000


SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


ALLOWED = "choose another file name"


def _content_kind(head: bytes, size: int) -> str | None:
    """What the first bytes of an existing file say it is, when it is one -o must not replace."""
    if head.startswith(SQLITE_MAGIC):
        return "a SQLite database"
    if head[:4] in WAL_MAGICS:
        return "a SQLite WAL file"
    if head.startswith(JOURNAL_MAGIC):
        return "a SQLite rollback journal"
    versions = (int.from_bytes(head[:4], "little"), int.from_bytes(head[:4], "big"))
    if len(head) >= 96 and head[:48] == head[48:96] and SHM_VERSION in versions:
        return "a SQLite shared-memory (-shm) file"
    # An encrypted database (SQLCipher: a random salt where the header was) or a damaged one (a
    # zeroed header) is whole pages without a text start. Every format -o writes starts with
    # text, or with %PDF-.
    if size >= 512 and size % 512 == 0 and not head.startswith(b"%PDF-"):
        import codecs

        try:
            text = codecs.getincrementaldecoder("utf-8")().decode(head)
        except UnicodeDecodeError:
            text = None
        if text is None or any(ch < " " and ch not in "\t\n\r\f" for ch in text):
            return BINARY_PAGES
    return None


BINARY_PAGES = "whole pages of binary data (an encrypted or damaged database?)"


DATABASE_KINDS = ("a SQLite database", BINARY_PAGES)


def _head(path: Path) -> tuple[bytes, int] | None:
    """The first 100 bytes and the size of a regular file (None: unreadable). Never for a
    database this process has open (db.is_open_database first): closing a descriptor of it
    would drop that connection's locks."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        return os.read(fd, 100), os.fstat(fd).st_size
    except OSError:
        return None
    finally:
        os.close(fd)


def _database_beside(path: Path) -> Path | None:
    """`x.db` when `path` is named `x.db-wal`, `-shm` or `-journal` beside a database `x.db`:
    SQLite would take such a file for that database's own."""

    for suffix in SIDE_SUFFIXES:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            base = path.with_name(path.name[: -len(suffix)])
            if not base.is_file():
                continue
            if is_open_database(base):
                return base
            found = _head(base)
            if found is not None and _content_kind(*found) in DATABASE_KINDS:
                return base
    return None


def output_target(output: Path) -> Path:
    """The file that writing `-o output` replaces (a symlink's target: the link stays a link),
    once everything that must never be replaced is refused, nothing written: no file name
    (`-o /`); the practice database or its -wal/-shm (known by stat(), never opened: reading it
    would drop this process's locks on it); any other SQLite database, WAL, journal or -shm
    file (by its first bytes, or by its name beside a database); a folder, FIFO, socket or
    device. A path that does not exist yet is fine."""
    import stat

    if not output.name or output.name in (".", ".."):
        raise InputError("output", str(output), "give a file name")
    if is_open_database(output):  # decided by stat(): reading it would drop our locks
        raise InputError("output", str(output), "is the practice database itself")
    target = output
    try:
        if stat.S_ISLNK(os.lstat(output).st_mode):
            target = Path(os.path.realpath(output))
            if is_open_database(target):
                raise InputError("output", str(output), "links to the practice database itself")
        found = os.stat(target)
    except FileNotFoundError:
        found = None  # a new file (or a link to one): the write itself says if it cannot
    except OSError as e:  # a symlink loop, a folder we may not enter…
        raise path_error(output, e) from None
    via = f"links to {target}, which is" if target != output else "is"
    base = _database_beside(target)
    if base is not None:
        raise InputError(
            "output", str(output), f"{via} named as a file of the database {base}; {ALLOWED}"
        )
    if found is None:
        return target
    if stat.S_ISDIR(found.st_mode):
        raise InputError("output", str(output), f"cannot write there: {via} a folder")
    if not stat.S_ISREG(found.st_mode):
        raise InputError(
            "output",
            str(output),
            f"{via} {special_kind(found.st_mode)}; -o writes regular files only",
        )
    read = _head(target)
    kind = _content_kind(*read) if read is not None else None  # unreadable: the write says
    if kind is not None:
        raise InputError("output", str(output), f"{via} {kind}; {ALLOWED}")
    return target


def _stage(target: Path, output: Path, data: bytes) -> Path:
    """`data` in a temp file created owner-only (0600, O_EXCL: a planted link is refused) beside
    `target`, fsync'd. Returns its path."""
    temp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    with contextlib.suppress(OSError):
        temp.unlink()  # left by a crashed run with the same pid
    try:
        fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise path_error(output, e) from None
    return temp


def _place(temp: Path, target: Path, output: Path) -> None:
    """Rename the staged file over `target` (atomic: a reader sees the old file or the new
    one), then fsync the folder so the rename survives a power cut."""
    try:
        os.replace(temp, target)
    except OSError as e:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise path_error(output, e) from None
    fsync_folder(target.parent)


def write_file(output: Path, data: bytes) -> None:
    """Write `data` to `output` whole or not at all: a temp file created owner-only in the same
    folder, fsync'd, then renamed over the target (a reader never sees half a file, and a
    failure leaves the old file as it was). What must never be replaced is refused first
    (output_target)."""
    target = output_target(output)
    _place(_stage(target, output, data), target, output)


@contextlib.contextmanager
def staged_write(output: Path, data: bytes) -> Iterator[Callable[[], None]]:
    """For a command that records what it writes (`summary`: the report as sent). `data` is
    staged now (refused first if `output` must never be replaced); the block calls the
    function it is given to put the file in place just before its transaction commits, so a
    report recorded as sent always has its file. If the block fails, the commit included
    (busy, refused, full), the file is removed again and a file that was there before is put
    back as it was (kept through a hard link meanwhile). Placed at the end if never called."""
    target = output_target(output)
    temp = _stage(target, output, data)
    previous = target.with_name(f".{target.name}.old{os.getpid()}")
    placed = kept = False

    def place() -> None:
        nonlocal placed, kept
        with contextlib.suppress(OSError):
            previous.unlink()  # left by a crashed run with the same pid
        try:
            os.link(target, previous)
            kept = True
        except OSError:  # no file there yet (or no hard links here): nothing to put back
            kept = False
        try:
            os.replace(temp, target)
        except OSError as e:
            raise path_error(output, e) from None
        placed = True

    try:
        yield place
        if not placed:
            place()
    except BaseException:
        with contextlib.suppress(OSError):
            if not placed:
                temp.unlink(missing_ok=True)
            elif kept:
                os.replace(previous, target)
            else:
                target.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            previous.unlink(missing_ok=True)
        raise
    if kept:
        with contextlib.suppress(OSError):
            previous.unlink()
    fsync_folder(target.parent)


def path_error(output: Path, error: OSError) -> InputError | RuntimeProblem:
    """A path the user can fix (exit 2) versus trouble with the disk itself (exit 1)."""
    if error.errno in USER_PATH_ERRORS:
        return InputError("output", str(output), f"cannot write there ({error.strerror})")
    return RuntimeProblem(f"output: could not write {output} ({error.strerror})")


def fsync_folder(folder: Path) -> None:
    """So a rename inside `folder` survives a power cut. Some systems (Windows) cannot open a
    folder, and some file systems cannot sync one: the files themselves are synced anyway."""
    try:
        fd = os.open(folder if str(folder) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_output(text: str, output: Path | None) -> None:
    """Data to stdout, or to a file created owner-only, atomically."""
    text = text if text.endswith("\n") else text + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    write_file(output, text.encode("utf-8"))


def special_kind(mode: int) -> str:
    """What a file that is not a regular file is, for a message."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


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
