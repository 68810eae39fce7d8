"""Output: tables (Rich on a terminal, plain text otherwise), JSON, CSV and Markdown.

A report is a plain data structure first; these functions are its renderings (hledger's
habit). Rich is imported only when a table is drawn on a terminal: it costs ~3x bare Python
start-up to import and ~0.5 ms per row to lay out, more than the budget of an everyday command
that prints to a pipe. Plain text is what scripts and `-o file.txt` get, and it is stable.
"""

import contextlib
import csv
import errno
import io
import json
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from medmassage.errors import InputError, RuntimeProblem
from medmassage.textsafety import json_visible, needs_escape, visible

FORMATS_BY_SUFFIX = {
    ".json": "json",
    ".csv": "csv",
    ".md": "md",
    ".txt": "table",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
}


class Col(NamedTuple):
    key: str
    header: str
    right: bool = False
    fmt: Callable[[object], str] | None = None
    whole: bool = False  # on a narrow terminal, others wrap first: never broken (dates, codes)

    def cell(self, row: dict) -> str:
        value = row.get(self.key)
        if self.fmt is not None:
            return self.fmt(value)
        return text_of(value)


def text_of(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(text_of(v) for v in value)
    return str(value)


def is_terminal() -> bool:
    """Draw with Rich when stdout is a terminal (or FORCE_COLOR asks us to act as if it were)."""
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def resolve_format(
    fmt: str | None, output: Path | None, allowed: Sequence[str], default: str = "table"
) -> str:
    if fmt:
        name = fmt.strip().lower()
        if name not in allowed:
            raise InputError("format", fmt, "one of " + ", ".join(allowed))
        return name
    if output is not None:
        name = FORMATS_BY_SUFFIX.get(output.suffix.lower())
        if name is None or name not in allowed:
            suffixes = [s for s, f in FORMATS_BY_SUFFIX.items() if f in allowed]
            raise InputError(
                "output",
                str(output),
                f"name the file {', '.join(suffixes)}, or give -f " + "|".join(allowed),
            )
        return name
    return default


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
    from medmassage.db import is_open_database

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

    from medmassage.db import is_open_database, special_kind

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


# --- text widths --------------------------------------------------------------------------------


def width(text: str) -> int:
    """Terminal columns taken by `text` (wide East Asian characters take two)."""
    if text.isascii() or max(text) < "\u0300":
        # Below U+0300 (Latin-1, Latin Extended, IPA) every character is one column wide and
        # none combines: the names of most practices take this fast path.
        return len(text)
    return sum(
        0
        if unicodedata.combining(ch) or ch in "\u200c\u200d"  # joiners left inside a word
        else 2
        if unicodedata.east_asian_width(ch) in ("W", "F")
        else 1
        for ch in text
    )


def _pad(text: str, size: int, right: bool) -> str:
    gap = " " * (size - width(text))
    return gap + text if right else text + gap


def plain_table(columns: Sequence[Col], rows: Sequence[dict], title: str | None = None) -> str:
    """Columns two spaces apart, padded to the widest cell, numbers right-aligned. Laid out a
    column at a time: a column of ASCII (most are) is padded by str.ljust/rjust in C; only a
    column holding wide or combining characters measures cell by cell (2,000 clients: 6 → 3 ms).
    """
    padded, sizes = [], []
    for c in columns:
        texts = [c.cell(r) for r in rows] if c.fmt else [text_of(r.get(c.key)) for r in rows]
        if any("\n" in t for t in texts):
            texts = [t.replace("\n", " ") for t in texts]
        texts.insert(0, c.header)
        joined = "".join(texts)
        # Stored text may hold what no terminal should get raw (a bidi override, an escape
        # sequence: written by another tool or an older version): one check for the column.
        if needs_escape(joined):
            texts = [visible(t) for t in texts]
            joined = "".join(texts)
        if joined.isascii():
            size = max(map(len, texts))
            sizes.append(size)
            padded.append([t.rjust(size) if c.right else t.ljust(size) for t in texts])
        else:
            spans = [width(t) for t in texts]
            size = max(spans)
            sizes.append(size)
            padded.append(
                [
                    " " * (size - n) + t if c.right else t + " " * (size - n)
                    for t, n in zip(texts, spans, strict=True)
                ]
            )
    header, *body = ["  ".join(parts).rstrip() for parts in zip(*padded, strict=True)]
    rule = "  ".join(
        "-" * len(col[0]) if col[0].isascii() else "-" * width(col[0]) for col in padded
    )
    lines = [title] if title else []
    lines += [header, rule, *body]
    return "\n".join(lines)


def markdown_table(columns: Sequence[Col], rows: Sequence[dict]) -> str:
    def esc(text: str) -> str:
        return visible(text).replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(esc(c.header) for c in columns) + " |"
    rule = "|" + "|".join("---:" if c.right else "---" for c in columns) + "|"
    body = ["| " + " | ".join(esc(c.cell(r)) for c in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def csv_text(rows: Sequence[dict], keys: Sequence[str]) -> str:
    """CSV for spreadsheets: listings, reports, progress. Text cells that a spreadsheet would
    run as a formula are neutralised (spreadsheet_cell); `export all -f csv` does not use this:
    a backup keeps every value exactly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys)
    for row in rows:
        writer.writerow([_csv_value(row.get(k)) for k in keys])
    return buffer.getvalue()


def _csv_value(value: object) -> object:
    if isinstance(value, list | tuple):
        return _csv_text_cell(";".join(str(v) for v in value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _csv_text_cell(value)
    return "" if value is None else value  # numbers as numbers: -3 is a pain change, not a formula


def _csv_text_cell(text: str) -> str:
    cell = spreadsheet_cell(text)
    if "\r" in cell:
        # A carriage return stored by another tool: Python's csv module (3.11) leaves a cell
        # holding one unquoted, which splits the row for every reader; a line break it quotes.
        cell = cell.replace("\r\n", "\n").replace("\r", "\n")
    return cell


# OWASP "CSV injection": a cell starting with one of these is a formula to Excel, LibreOffice or
# Google Sheets (=HYPERLINK(…), +cmd|…, -2+3, @SUM(…)); a leading tab or carriage return is
# skipped by some of them, which then read the formula behind it.
_FORMULA_START = frozenset("=+-@\t\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def spreadsheet_cell(text: str) -> str:
    """`text`, or `'text` when a spreadsheet would read it as a formula (the quote makes it
    text; OWASP's advice). A plain number such as -12.50 or -3 is left alone: a spreadsheet
    reads it as the number it is, and nothing can run from it."""
    if text and text[0] in _FORMULA_START and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def on_screen(data: str, output: Path | None, *, as_json: bool = False) -> str:
    """CSV or JSON as it may be shown. In a file or a pipe it is data, exact, for a spreadsheet
    or a script. On a terminal invisible characters are escaped: in JSON as \\u escapes, which
    any JSON reader turns back into the same characters (json_visible); in CSV, which has no
    escapes of its own, as <U+202E> (visible). Only on a terminal: on text that is not ASCII the
    check costs about 45 ns a character, 1.5 s on the 33 MB of a 100,000-session listing that a
    script reads through a pipe."""
    if output is not None or not is_terminal():
        return data
    return json_visible(data) if as_json else visible(data)


def json_text(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


# --- Rich, on a terminal --------------------------------------------------------------------------


def console(stderr: bool = False):  # -> rich.console.Console
    """A fresh console per call: a module-level one would freeze its width and break tests."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def rich_table(
    columns: Sequence[Col], rows: Sequence[dict], title: str | None = None, compact: bool = False
):
    """A Rich table; `compact` draws rules under the header only (no cell borders), which
    leaves a narrow terminal about two columns per cell more for the text."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=Text(visible(title)) if title else None,  # a Text: never read as Rich markup
        title_justify="left",
        header_style="bold",
        **(
            {"box": box.SIMPLE_HEAD, "pad_edge": False, "collapse_padding": True} if compact else {}
        ),
    )
    for c in columns:
        # Narrow terminals: cells wrap between words and fold a word that cannot fit, instead
        # of ending in "…" (Rich keeps a column at least as wide as its longest word if it can).
        table.add_column(
            c.header, justify="right" if c.right else "left", overflow="fold", no_wrap=c.whole
        )
    for r in rows:
        # Text(), not str: a name like "[red]" is not markup; visible(): nothing raw
        table.add_row(*(Text(visible(c.cell(r))) for c in columns))
    return table


def print_rows(
    columns: Sequence[Col],
    rows: Sequence[dict],
    fmt: str,
    output: Path | None = None,
    title: str | None = None,
    keys: Sequence[str] | None = None,
    empty: str = "Nothing to show.",
) -> None:
    """Print a listing in the chosen format. JSON/CSV carry `keys` (default: the column keys)."""
    keys = list(keys or [c.key for c in columns])
    if fmt == "json":
        data = json_text([{k: r.get(k) for k in keys} for r in rows])
        write_output(on_screen(data, output, as_json=True), output)
    elif fmt == "csv":
        write_output(on_screen(csv_text(rows, keys), output), output)
    elif fmt == "md":
        write_output(markdown_table(columns, rows), output)
    elif not rows:
        print(empty, file=sys.stderr)
    elif output is None and is_terminal():
        console().print(rich_table(columns, rows, title))
    else:
        write_output(plain_table(columns, rows, title), output)


def print_record(
    pairs: Sequence[tuple[str, object]],
    data: dict,
    fmt: str,
    output: Path | None = None,
    title: str | None = None,
    extra: str | None = None,
) -> None:
    """Show one record: label/value lines for people, the whole dict for JSON, a row for CSV."""
    if fmt == "json":
        write_output(on_screen(json_text(data), output, as_json=True), output)
        return
    if fmt == "csv":
        flat = {k: v for k, v in data.items() if not isinstance(v, list | dict)}
        write_output(on_screen(csv_text([flat], list(flat)), output), output)
        return
    # Escaped once here, for the terminal, the plain text and Markdown alike.
    shown = [
        (visible(label), visible(text_of(value)))
        for label, value in pairs
        if value not in (None, "", [])
    ]
    title = visible(title) if title else title
    extra = visible(extra) if extra else extra
    if fmt == "md":
        lines = [f"## {title}", ""] if title else []
        lines += [f"- **{label}:** {value}" for label, value in shown]
        text = "\n".join(lines) + ("\n\n" + extra if extra else "")
        write_output(text, output)
        return
    size = max((width(label) for label, _ in shown), default=0)
    lines = [title] if title else []
    for label, value in shown:
        first, *rest = value.splitlines() or [""]
        lines.append(f"{_pad(label, size, False)}  {first}")
        lines.extend(" " * (size + 2) + more for more in rest)
    text = "\n".join(lines) + ("\n\n" + extra if extra else "")
    if output is None and is_terminal():
        from rich.table import Table
        from rich.text import Text

        con = console()
        if title:
            con.print(Text(title, style="bold"))
        # A grid keeps long and multi-line values indented under their own column.
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value in shown:
            grid.add_row(Text(label), Text(value))
        con.print(grid)
        if extra:
            con.print()
            con.print(Text(extra))
    else:
        write_output(text, output)
