"""`export all`: every table of the practice database, as one JSON document or a folder of CSVs.

The export is for backup and for leaving the tool, so it is a faithful copy of what is stored:

- every table in the database, including ones this module does not know by name (a later
  migration's tables are exported without a change here); SQLite's own `sqlite_*` tables are
  left out. Known tables come parents-first (TABLE_ORDER), any others after them by name.
- rows in primary-key order, every column, values exactly as stored: TEXT as strings, INTEGER
  and REAL as numbers, NULL as JSON null (an empty CSV field). Columns holding JSON lists
  (`regions`, `areas_ordered`, `conditions`, `limitations`) stay the JSON *text* they are
  stored as (`"[\"neck\"]"`), in JSON and CSV alike, so the two formats carry the same values
  and the copy is exact. BLOB values (no table has one today) are written as base64 text.
- all tables are read in one read transaction: a consistent snapshot even while another
  command writes.

JSON shape (one row per line, so it greps and diffs well):

    {
      "format": "medmassage-export",
      "version": 1,
      "schema_version": N,                  (PRAGMA user_version: the database's schema,
                                             migrations.LATEST_VERSION once migrated)
      "exported": "2026-11-27T10:42:00-08:00",
      "columns": {"client": ["id", "name", ...], ...},
      "tables": {"client": [{"id": 1, "name": "Jane Doe", ...}, ...], ...}
    }

CSV: one `TABLE.csv` per table (UTF-8, header row of column names, `\\n` line ends, quoted by
the csv module where needed) and a `manifest.json` with the same header fields as the JSON
export plus each table's file, columns and row count.

Memory stays flat however large the practice: rows are encoded and written as the cursor
yields them (fetchmany batches), never collected. Files are written under a temporary name in
the target folder (0600, O_EXCL), fsync'd and renamed into place, as `render.write_file` does;
a CSV export renames its files only once every one of them is complete.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple, TextIO, TypeVar

from medmassage.errors import InputError
from medmassage.rules.dates import now_stamp
from medmassage.store.db import read_snapshot
from medmassage.store.files import fsync_folder, output_target, path_error

EXPORT_FORMAT = "medmassage-export"
EXPORT_VERSION = 1
FORMATS = ("json", "csv")

# Parents before children, so a reader can load the tables in this order.
TABLE_ORDER = (
    "profile",
    "fee",
    "report_rule",
    "custom_technique",
    "note_template",
    "phrase",
    "client",
    "care_case",
    "authorization",
    "diagnosis",
    "intake",
    "goal",
    "measure",
    "session",
    "session_technique",
    "session_cpt",
    "addendum",
    "progress_report",
    "audit",
)

T = TypeVar("T")

_BATCH = 500  # rows per fetchmany and per write: fast, and a few hundred KB at most


class ExportSummary(NamedTuple):
    schema_version: int
    rows: dict[str, int]  # table → rows written, in export order

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


# --- choosing the format --------------------------------------------------------------------


def export_format(fmt: str | None, output: Path | None) -> str:
    """json or csv: -f wins; else a .json file, or stdout, means json. csv needs -o DIR."""
    if fmt is not None:
        chosen = fmt.strip().lower()
        if chosen not in FORMATS:
            raise InputError("format", fmt, "json or csv")
    elif output is None or output.suffix.lower() == ".json":
        chosen = "json"
    else:
        raise InputError(
            "output", str(output), "name the file .json, or give -f json|csv (csv writes a folder)"
        )
    if chosen == "csv" and output is None:
        raise InputError("output", None, "csv writes one file per table: give -o DIR (a folder)")
    return chosen


def refuse_database_as_output(output: Path, database: Path) -> None:
    """`-o` naming the practice file itself (or its -wal/-shm) would replace the database
    with its own export: refuse before anything is read."""
    for target in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        try:
            same = output.resolve() == target.resolve() or (
                output.exists() and os.path.samefile(output, target)
            )
        except (OSError, RuntimeError):  # unreadable path, symlink loop: the write will say
            same = False
        if same:
            raise InputError("output", str(output), "is the practice database itself")


# --- reading ----------------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def export_tables(conn: sqlite3.Connection) -> list[str]:
    """Every table to export, known ones parents-first, others by name after them. The notes'
    search index (migrations.SEARCH_TABLES) is derived from the notes, not exported: a restore
    or an import builds it again."""
    from medmassage.store.migrations import SEARCH_TABLES

    names = {
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not row[0].startswith("sqlite_") and row[0] not in SEARCH_TABLES
    }
    known = [t for t in TABLE_ORDER if t in names]
    return known + sorted(names - set(known))


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


class _Table(NamedTuple):
    name: str
    columns: list[str]
    has_blobs: bool  # a BLOB/ANY column may hold bytes: those rows need converting


def _describe(conn: sqlite3.Connection, table: str) -> _Table:
    cursor = conn.execute(f"SELECT * FROM {_quote(table)} LIMIT 0")
    columns = [d[0] for d in cursor.description]
    # Only a STRICT table's INTEGER/REAL/TEXT columns are sure to hold no bytes.
    strict = conn.execute(
        "SELECT strict FROM pragma_table_list WHERE schema = 'main' AND name = ?", (table,)
    )
    types = {
        r[1]: (r[2] or "").upper() for r in conn.execute(f"PRAGMA table_info({_quote(table)})")
    }
    has_blobs = not (strict.fetchone() or (0,))[0] or any(
        types.get(c, "ANY") not in ("INT", "INTEGER", "REAL", "TEXT") for c in columns
    )
    return _Table(table, columns, has_blobs)


def _rows(conn: sqlite3.Connection, table: str) -> Iterator[list[tuple]]:
    """A table's rows in primary-key order, in batches, as plain tuples."""
    info = conn.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
    key = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5] > 0]
    order = ", ".join(_quote(k) for k in key) if key else "rowid"
    cursor = conn.cursor()
    cursor.row_factory = None  # tuples: no sqlite3.Row per row
    cursor.execute(f"SELECT * FROM {_quote(table)} ORDER BY {order}")
    while batch := cursor.fetchmany(_BATCH):
        yield batch


def _plain(value: object) -> object:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


# --- JSON -------------------------------------------------------------------------------------


def write_json(conn: sqlite3.Connection, out: TextIO) -> ExportSummary:
    """Stream the whole database to `out` as the JSON document described in the module doc."""
    encoder = json.JSONEncoder(ensure_ascii=False, check_circular=False, default=_plain)
    encode = encoder.encode
    counts: dict[str, int] = {}
    with read_snapshot(conn):
        version = schema_version(conn)
        tables = [_describe(conn, t) for t in export_tables(conn)]
        out.write(
            "{\n"
            f'  "format": {encode(EXPORT_FORMAT)},\n'
            f'  "version": {EXPORT_VERSION},\n'
            f'  "schema_version": {version},\n'
            f'  "exported": {encode(now_stamp())},\n'
            '  "columns": {'
        )
        out.write(
            ",".join(f"\n    {encode(t.name)}: {encode(t.columns)}" for t in tables)
            + ("\n  }" if tables else "}")
            + ',\n  "tables": {'
        )
        for index, table in enumerate(tables):
            out.write(("," if index else "") + f"\n    {encode(table.name)}: [")
            columns = table.columns
            written = 0
            for batch in _rows(conn, table.name):
                lines = [encode(dict(zip(columns, row, strict=True))) for row in batch]
                out.write(("," if written else "") + "\n      " + ",\n      ".join(lines))
                written += len(lines)
            out.write("\n    ]" if written else "]")
            counts[table.name] = written
        out.write("\n  }\n}\n" if tables else "}\n}\n")
    return ExportSummary(version, counts)


# --- CSV --------------------------------------------------------------------------------------


IMPORT_FILE = "sessions-import.csv"


def write_csv_folder(conn: sqlite3.Connection, folder: Path) -> ExportSummary:
    """One TABLE.csv per table plus manifest.json in `folder` (created 0700 if new).

    Every file is complete before any is renamed into place; on failure none is, and a folder
    this call created is removed again.
    """
    created = _make_folder(folder)
    staged = Staged()
    try:
        with read_snapshot(conn):
            version = schema_version(conn)
            exported = now_stamp()
            counts: dict[str, int] = {}
            manifest_tables: dict[str, dict[str, object]] = {}
            for table in (_describe(conn, t) for t in export_tables(conn)):
                file_name = f"{table.name}.csv"
                out = staged.open(folder / file_name)
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(table.columns)
                written = 0
                for batch in _rows(conn, table.name):
                    if table.has_blobs:
                        batch = [tuple(_plain(v) for v in row) for row in batch]
                    writer.writerows(batch)
                    written += len(batch)
                counts[table.name] = written
                manifest_tables[table.name] = {
                    "file": file_name,
                    "rows": written,
                    "columns": table.columns,
                }
            # The sessions again, in the format `import sessions` reads: another medmassage
            # database (with the same clients and cases) takes them back.
            from medmassage.exchange.import_sessions import export_sessions_csv

            importable = export_sessions_csv(conn, staged.open(folder / IMPORT_FILE))
        manifest = {
            "format": EXPORT_FORMAT + "-csv",
            "version": EXPORT_VERSION,
            "schema_version": version,
            "exported": exported,
            "tables": manifest_tables,
            "import_sessions": {"file": IMPORT_FILE, "rows": importable},
        }
        staged.open(folder / "manifest.json").write(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        )
        staged.commit()
    except BaseException:
        staged.discard()
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return ExportSummary(version, counts)


def _make_folder(folder: Path) -> bool:
    """Create the export folder owner-only; True if it was created here."""
    if folder.is_dir():
        return False
    if folder.exists():
        raise InputError("output", str(folder), "is a file; a csv export writes a folder")
    try:
        folder.mkdir(mode=0o700)
        folder.chmod(0o700)  # mkdir's mode is filtered by the umask
    except OSError as e:
        raise path_error(folder, e) from None
    return True


# --- writing files whole or not at all -----------------------------------------------------------


class Staged:
    """Text files written under temporary names beside their targets, then renamed together.

    Each temporary file is created owner-only with O_EXCL (a planted symlink is refused), and
    fsync'd before the rename; the folders are fsync'd after, so the renames survive a power
    cut. `discard()` removes whatever was written.
    """

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path, TextIO]] = []

    def open(self, output: Path) -> TextIO:
        # Never over a database, its -wal/-shm, a FIFO or a device; a symlink's target is
        # replaced, the link kept (render.output_target).
        target = output_target(output)
        temp = target.with_name(f".{target.name}.tmp{os.getpid()}")
        with contextlib.suppress(OSError):
            temp.unlink()  # left by a crashed run with the same pid
        try:
            fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except OSError as e:
            raise path_error(output, e) from None
        out = open(fd, "w", encoding="utf-8", newline="", buffering=1 << 20)  # noqa: SIM115
        self._files.append((temp, target, out))
        return out

    def commit(self) -> None:
        for _, target, out in self._files:
            try:
                out.flush()
                os.fsync(out.fileno())
                out.close()
            except OSError as e:
                raise path_error(target, e) from None
        for temp, target, _ in self._files:
            try:
                os.replace(temp, target)
            except OSError as e:
                raise path_error(target, e) from None
        folders = {target.parent for _, target, _ in self._files}
        self._files = []
        for folder in folders:
            fsync_folder(folder)

    def discard(self) -> None:
        for temp, _, out in self._files:
            with contextlib.suppress(OSError):
                out.close()
            with contextlib.suppress(OSError):
                temp.unlink()
        self._files = []


def stream_to_file(output: Path, write: Callable[[TextIO], T]) -> T:
    """Run `write` on a temporary file beside `output`; rename it into place only if it
    finished. A failure (bad path, full disk, Ctrl-C) leaves no file and the old one as it was.
    """
    staged = Staged()
    try:
        out = staged.open(output)
        try:
            result = write(out)
        except OSError as e:  # writing the file (full disk…); database errors pass through
            raise path_error(output, e) from None
        staged.commit()
    except BaseException:
        staged.discard()
        raise
    return result
