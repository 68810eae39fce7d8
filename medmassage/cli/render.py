"""Output: tables (Rich on a terminal, plain text otherwise), JSON, CSV and Markdown.

A report is a plain data structure first; these functions are its renderings (hledger's
habit). Rich is imported only when a table is drawn on a terminal: it costs ~3x bare Python
start-up to import and ~0.5 ms per row to lay out, more than the budget of an everyday command
that prints to a pipe. Plain text is what scripts and `-o file.txt` get, and it is stable.
"""

import csv
import io
import json
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from medmassage.errors import InputError
from medmassage.rules.textsafety import json_visible, needs_escape, visible
from medmassage.store.files import write_output

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
