"""Bulk import of past sessions from another system: `medmassage import sessions FILE.csv`.

The file is CSV in UTF-8 (a UTF-8 byte-order mark is fine), one session per row, a header on
line 1. Header names are case-insensitive (`allow-expired` may be spelt with a dash); the
columns may come in any order; an unknown column or a missing required one is an error.

Required columns:
  client      client id, or an unambiguous part of the name (as everywhere in medmassage)
  date        ISO date, optionally with a start time: 2026-11-20 or 2026-11-20 14:30
              (also 2026-11-20T14:30 and 14:30:00); not in the future
  pre         pain before the session, a whole number 0–10
  post        pain after the session, a whole number 0–10
  techniques  NAME=MINUTES items separated by ';', e.g. swedish=30;trigger-point=15
  regions     region names separated by ';', e.g. neck;upper-back (shoulder-both = both sides)
Optional columns (an empty cell means not given):
  case        case id; default: the client's only open case
  minutes     total session minutes; default: the sum of the techniques
  subjective, objective, assessment, plan, homecare, feedback
              the SOAP note, home care and client feedback (free text; quote it if it holds
              commas or line breaks)
  allow_expired
              workers' comp only: the reason a session outside the prescription's dates or
              beyond the visits authorized is recorded anyway (as --allow-expired in session log)

Every row passes the same checks as `session log` (sessions.prepare_session and
sessions.rx_guard, shared): pain 0–10, regions and techniques from the catalog (your own
techniques included), CPT units by the case's rule (CMS or AMA), prescription and
authorization flags, and the workers' comp refusal unless allow_expired gives a reason. Rows are
booked in date order: a row's count under its authorization (the one whose dates hold it: "beyond
the visits authorized") is that authorization's visits already on record plus the file's
earlier-dated rows under it, as if each had been logged in turn.
A row that repeats another row of the file, or a session already on record (same client, date,
start time, pre and post pain, and techniques with their minutes), is refused. Rows whose cells
are all empty are skipped.

The file is read twice: once to check every row (keeping each row's few values, not its notes)
and book them in date order, then again to write them, notes included, ids in the file's order
(SQLite appends rows with rising ids at the end of the table: fast; sessions on the same day and
time keep the file's order either way). So a big file's notes are never all in memory at once
(100,000 rows with SOAP notes: a 74 MB file). A file changed between the two readings is refused
and nothing is written. A pipe or standard input cannot be read twice: it is read into memory
once (ImportFile).

All or nothing: the first problem refuses the whole import with one line
(`line N: FIELD: 'VALUE' — reason`, counting the header as line 1) and nothing is written. On
success every session is written in one transaction, drafts unless `--sign`, and warnings are
counted by kind instead of printed per row.

Clients named in the file but not found are listed and not invented. With `--create-clients`
they are added (name only) — but a session needs a case (payer, prescription, diagnosis) that a
CSV of sessions does not hold, so that run adds the clients and imports no sessions: open a
case for each new client, then run the import again. Before adding anyone, every row is still
checked as far as it can be without a case, so the second run does not stumble on a typo.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
import re
import sqlite3
import stat
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple, TextIO

from medmassage.errors import InputError, Withheld
from medmassage.record.authorizations import Authorization, load_many
from medmassage.record.sessions import (
    CPT_INSERT,
    NOTE_FIELDS,
    TECHNIQUE_INSERT,
    PreparedSession,
    RxGuard,
    SessionInput,
    billing_warnings,
    check_case_open,
    clean_notes,
    cpt_rows,
    custom_techniques,
    prepare_session,
    rx_guard,
    session_values,
    sign_drafts,
    technique_rows,
    visit_warnings,
)
from medmassage.rules.coverage import in_force, window_for
from medmassage.rules.dates import monday_of, now_stamp, parse_date_time, today
from medmassage.rules.units import Billing, bill
from medmassage.rules.validate import NAME_MAX, clean_text, is_row_id
from medmassage.store import db

REQUIRED_COLUMNS = ("client", "date", "pre", "post", "techniques", "regions")
OPTIONAL_COLUMNS = ("case", "minutes", *NOTE_FIELDS, "allow_expired")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# Field names of the shared validators → the column that holds the value.
_COLUMN_OF = {
    "technique": "techniques",
    "technique minutes": "techniques",
    "region": "regions",
    "allow-expired": "allow_expired",
}
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T]((?:[01]?\d|2[0-3]):[0-5]\d)(?::00)?)?$")
_CHUNK = 5000  # rows per executemany: bounded memory, few round trips
_CHUNK_NOTES = 2_000_000  # … or fewer, once their notes reach this many characters
_PIPE_MAX = 256 << 20  # bytes read from a pipe or stdin, which must be held in memory


class ImportRefused(InputError):
    """A row (or the header) of the file is bad: `line N: FIELD: 'VALUE' — reason`. Exit 2."""

    def __init__(self, line: int, field: str, value: object, allowed: str) -> None:
        super().__init__(field, value, allowed)
        self.line = line
        self.args = (f"line {line}: {self.args[0]}",)


class CaseCount(NamedTuple):
    client_id: int
    client: str
    case_id: int
    sessions: int
    first: date
    last: date


class NewClient(NamedTuple):
    name: str
    lines: list[int]
    client_id: int | None  # None on a dry run


class ImportResult(NamedTuple):
    sessions: int  # sessions imported (or that a dry run would import)
    by_case: list[CaseCount]
    notices: dict[str, int]  # sessions.NOTICE_KINDS key → number of sessions with it
    reports_due: list[int]  # case ids whose progress report is due after the import
    new_clients: list[NewClient]  # --create-clients: added, and their rows not imported
    waiting_rows: int  # rows of new clients, which need a case before they can be imported
    dry_run: bool
    signed: bool

    @property
    def clients(self) -> int:
        return len({c.client_id for c in self.by_case})


# --- reading the file ---------------------------------------------------------------------------


class ImportFile:
    """The file to import, read twice (to check, then to write). A regular file is opened again
    for the second reading, and refused if it changed in between; anything else — a pipe,
    /dev/stdin, a shell's <(…) — cannot be read again, so it is read into memory once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: bytes | None = None
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                with open(path, "rb") as f:
                    self.data = f.read(_PIPE_MAX + 1)
        except OSError as e:
            raise InputError("file", str(path), f"cannot read it ({e.strerror})") from None
        if self.data is not None and len(self.data) > _PIPE_MAX:
            raise InputError(
                "file",
                str(path),
                f"more than {_PIPE_MAX >> 20} MB through a pipe; save it as a file and import that",
            )
        self.version = (info.st_size, info.st_mtime_ns, info.st_ino)

    def open(self) -> TextIO:
        if self.data is not None:
            return io.TextIOWrapper(io.BytesIO(self.data), encoding="utf-8-sig", newline="")
        try:
            return open(self.path, encoding="utf-8-sig", newline="")
        except OSError as e:
            raise InputError("file", str(self.path), f"cannot read it ({e.strerror})") from None

    def changed(self) -> bool:
        """Saved again (or replaced) since it was first opened: a regular file only."""
        if self.data is not None:
            return False
        try:
            info = os.stat(self.path)
        except OSError:
            return True
        return (info.st_size, info.st_mtime_ns, info.st_ino) != self.version

    def content(self) -> bytes:
        return self.data if self.data is not None else self.path.read_bytes()


def read_rows(source: ImportFile) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {column: cell}) for each non-blank row; the header is checked first."""
    handle = source.open()
    try:
        yield from _rows(handle, source.path)
    except UnicodeDecodeError:
        raise _not_utf8(source) from None
    except csv.Error as e:
        raise InputError("file", str(source.path), f"is not valid CSV ({e})") from None
    finally:
        handle.close()


def _not_utf8(source: ImportFile) -> InputError:
    path = source.path
    data = source.content()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        return InputError(
            "file",
            str(path),
            f"line {line} is not UTF-8 text (byte 0x{data[e.start]:02X}); save the file as "
            "UTF-8 (in Excel: CSV UTF-8) and try again",
        )
    return InputError("file", str(path), "is not UTF-8 text")


def _rows(handle: TextIO, path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise InputError(
            "file",
            str(path),
            "is empty: expected a header line (" + ",".join(REQUIRED_COLUMNS) + ",…) and one "
            "session per line",
        )
    keys = _columns(header)
    seen = reader.line_num
    count = 0
    for record in reader:
        line, seen = seen + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(keys):
            raise ImportRefused(
                line,
                "values",
                str(len(record)),
                f"the header has {len(keys)} columns; a value holding a comma or a line break "
                "needs double quotes",
            )
        count += 1
        yield line, dict(zip(keys, record, strict=True))
    if not count:
        raise InputError("file", str(path), "has a header but no sessions")


def _columns(header: list[str]) -> list[str]:
    keys: list[str] = []
    for cell in header:
        key = cell.strip().lower().replace("-", "_")
        if key not in COLUMNS:
            from medmassage.rules.validate import close_matches

            matches = close_matches(key, COLUMNS)
            hint = f"; did you mean {', '.join(matches)}?" if matches else ""
            raise ImportRefused(
                1, "column", cell, f"unknown column{hint} (columns: {', '.join(COLUMNS)})"
            )
        if key in keys:
            raise ImportRefused(1, "column", cell, "appears twice in the header")
        keys.append(key)
    missing = [c for c in REQUIRED_COLUMNS if c not in keys]
    if missing:
        raise ImportRefused(
            1,
            "column",
            missing[0],
            f"required column missing (required: {', '.join(REQUIRED_COLUMNS)}; "
            f"missing: {', '.join(missing)})",
        )
    return keys


# --- looking things up once ----------------------------------------------------------------------


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


class _Clients:
    """find_client for thousands of rows: ids and exact names from one read of the table;
    anything else (partial or ambiguous names) goes through clients.find_client itself."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.by_id: dict[int, sqlite3.Row] = {}
        self.by_name: dict[str, list[sqlite3.Row]] = defaultdict(list)
        for row in conn.execute("SELECT * FROM client"):
            self.by_id[row["id"]] = row
            self.by_name[_fold(row["name"])].append(row)
        self.cache: dict[str, sqlite3.Row | None] = {}

    def find(self, ref: str) -> sqlite3.Row | None:
        """The client, None when no client matches at all, InputError when ambiguous."""
        if ref in self.cache:
            return self.cache[ref]
        from medmassage.record.clients import find_client

        text = ref.strip()
        digits = text.lstrip("#")
        if digits.isdigit() and is_row_id(digits):
            found = self.by_id.get(int(digits))
        elif digits.isdigit() or not text:
            found = find_client(self.conn, ref)  # raises with the usual message
        else:
            wanted = _fold(clean_text("client", text, max_len=NAME_MAX, multiline=False) or "")
            matches = self.by_name.get(wanted, [])
            if not matches:
                matches = [r for key, rs in self.by_name.items() if wanted in key for r in rs]
            if len(matches) == 1:
                found = matches[0]
            elif matches:
                found = find_client(self.conn, ref)  # ambiguous: raises, listing candidates
            else:
                found = None
        self.cache[ref] = found
        return found


class _Row(NamedTuple):
    """One checked row, kept small: a big import holds all of them until they are written.

    The PreparedSession's values but its notes (read again when the row is written), flat,
    with tuples for its list and dict; repeated regions, techniques, dates and bills are shared
    between rows (they mostly repeat)."""

    iso: str
    start: str
    line: int
    case_id: int
    client_id: int
    day: date
    pre: int
    post: int
    regions: tuple[str, ...]
    techniques: tuple[tuple[str, tuple[str, int]], ...]
    minutes: int
    override: str | None
    billing: Billing
    ref: str  # the client cell as typed (shared between rows): what an error may repeat

    def prepared(self, notes: dict[str, str | None] | None = None) -> PreparedSession:
        regions, techniques = list(self.regions), dict(self.techniques)
        return PreparedSession(
            self.pre, self.post, regions, techniques, self.minutes, notes or {}, self.override
        )


class _CaseState:
    """A case's visits during the import: those on record, then each row as it is booked."""

    def __init__(self, case: sqlite3.Row, authorizations: list[Authorization]) -> None:
        self.case = case
        self.authorizations = authorizations
        self.windows = [a.window for a in authorizations]
        self.count = 0  # non-void visits
        self.used: Counter[int] = Counter()  # visits per authorization id
        self.days: Counter[str] = Counter()
        self.weeks: Counter[date] = Counter()
        self.dates: list[date] = []  # on record and imported, for the report-due rule
        self.imported = 0
        self.first: date | None = None
        self.last: date | None = None

    def add(self, day: date, iso: str) -> None:
        self.count += 1
        window = window_for(self.windows, day)
        if window is not None:
            self.used[window.id] += 1
        self.days[iso] += 1
        self.weeks[monday_of(day)] += 1
        self.dates.append(day)

    def book(self, day: date, iso: str) -> None:
        """A row of the file, booked (rows come in date order)."""
        self.add(day, iso)
        self.imported += 1
        self.first = self.first or day
        self.last = day

    def order_for(self, day: date) -> Authorization:
        """The authorization whose order (frequency, areas) a visit on `day` follows."""
        found = in_force(self.windows, day)
        assert found is not None
        return next(a for a in self.authorizations if a.id == found.window.id)


# --- the import ----------------------------------------------------------------------------------


def import_sessions(
    conn: sqlite3.Connection,
    path: Path,
    *,
    dry_run: bool = False,
    create_clients: bool = False,
    sign: bool = False,
) -> ImportResult:
    """Check every row of `path`, then write all of its sessions in one transaction (or,
    on a dry run, nothing). Raises ImportRefused/InputError at the first bad row."""
    if dry_run:
        return _import(conn, path, dry_run=True, create_clients=create_clients, sign=sign)
    with db.transaction(conn):  # BEGIN IMMEDIATE: what is checked is what is written
        return _import(conn, path, dry_run=False, create_clients=create_clients, sign=sign)


def _import(
    conn: sqlite3.Connection, path: Path, *, dry_run: bool, create_clients: bool, sign: bool
) -> ImportResult:
    run = _Run(conn, create_clients)
    file = ImportFile(path)
    with contextlib.closing(read_rows(file)) as source:
        try:
            for line, cells in source:
                run.check(line, cells)
        except InputError:
            if not run.unknown or create_clients:
                raise
            # An unknown client came first: that is the file's first problem; list every one.
            for line, cells in source:
                with contextlib.suppress(InputError):
                    if run.clients.find(cells["client"]) is None:
                        run.unknown.append((line, cells["client"]))
            raise _unknown_clients(run.unknown) from None
    if run.unknown and not create_clients:
        raise _unknown_clients(run.unknown)
    run.in_file.clear()  # duplicates within the file are settled; free the memory
    _check_against_record(conn, run.rows)

    states, notices = run.book()
    if run.new_clients:
        return ImportResult(
            sessions=0,
            by_case=[],
            notices={},
            reports_due=[],
            new_clients=_add_clients(conn, run.new_clients, dry_run),
            waiting_rows=sum(len(c.lines) for c in run.new_clients.values()),
            dry_run=dry_run,
            signed=False,
        )
    if not dry_run:
        _Writer(conn, sign).write(file, run, states)
    return ImportResult(
        sessions=len(run.rows),
        by_case=_by_case(states, run.clients),
        notices=dict(notices),
        reports_due=_reports_due(conn, states, run.on),
        new_clients=[],
        waiting_rows=0,
        dry_run=dry_run,
        signed=sign and not dry_run,
    )


class _Run:
    """One import: the rows checked so far, and look-ups done once, not once per row."""

    def __init__(self, conn: sqlite3.Connection, create_clients: bool) -> None:
        self.conn = conn
        self.create_clients = create_clients
        self.on = today()
        self.clients = _Clients(conn)
        self.custom = custom_techniques(conn)
        self.cases: dict[tuple[int, str], sqlite3.Row] = {}  # (client id, case cell) → case
        self.case_rows: dict[int, sqlite3.Row] = {}
        self.dates: dict[str, tuple[date, str | None, str]] = {}
        self.bills: dict[tuple, Billing] = {}
        self.shared: dict[tuple, tuple] = {}
        self.technique_keys: dict[tuple, tuple] = {}
        self.in_file: dict[tuple, int] = {}  # duplicate key → line
        self.new_clients: dict[str, NewClient] = {}
        self.unknown: list[tuple[int, str]] = []
        self.refs: dict[str, str] = {}  # client cells, stripped, one string per distinct value
        self.rows: list[_Row] = []  # in the file's order
        # Set by book(), by the rows' index: each row's prescription check when that found a
        # problem (None for most rows).
        self.guards: list[RxGuard | None] = []

    def check(self, line: int, cells: dict[str, str]) -> None:
        """Validate one row as session log would (but the guards that depend on the order of
        visits, which book() applies); keep it, compactly, for booking."""
        ref = cells["client"]
        try:
            client = self.clients.find(ref)
        except InputError as e:
            raise _at(line, e, cells) from None
        if client is None:
            self.unknown.append((line, ref))
            if not self.create_clients:
                return  # every unknown client is listed once the whole file has been read
        given = _session_input(line, cells, self.dates, self.on)
        case_ref = cells.get("case", "").strip()
        try:
            if client is None:
                _new_client(line, ref, case_ref, self.new_clients)
                case = None
            else:
                case = self._case(client, case_ref)
            prepared = prepare_session(given, self.custom)
        except InputError as e:
            raise _at(line, e, cells) from None
        iso, start = self.dates[cells["date"].strip()][2], given.start_time or ""  # shared
        regions = self._shared(tuple(prepared.regions))
        techniques = self._shared(tuple(prepared.techniques.items()))
        who = client["id"] if client is not None else _fold(ref.strip())
        key = (
            who,
            iso,
            start,
            prepared.pre,
            prepared.post,
            _technique_key(techniques, self.technique_keys),
        )
        if key in self.in_file:
            raise ImportRefused(
                line,
                "row",
                f"{ref.strip()}, {iso} {start}".rstrip(),
                f"repeats line {self.in_file[key]} (same client, date, time, pain and techniques)",
            )
        self.in_file[key] = line
        if case is None:
            return
        rule = case["units_rule"]
        billing = self.bills.get((techniques, rule))
        if billing is None:
            billing = self.bills[(techniques, rule)] = bill(prepared.code_minutes, rule)
        self.rows.append(
            _Row(
                iso,
                start,
                line,
                case["id"],
                client["id"],
                given.day,
                prepared.pre,
                prepared.post,
                regions,
                techniques,
                prepared.minutes,
                prepared.override,
                billing,
                self.refs.setdefault(ref.strip(), ref.strip()),
            )
        )

    def _shared(self, value: tuple) -> tuple:
        return self.shared.setdefault(value, value)

    def _case(self, client: sqlite3.Row, case_ref: str) -> sqlite3.Row:
        from medmassage.record.cases import case_for_client

        case = self.cases.get((client["id"], case_ref))
        if case is None:
            case = case_for_client(self.conn, client, case_ref or None)
            self.cases[(client["id"], case_ref)] = self.case_rows[case["id"]] = case
        check_case_open(case)
        return case

    def book(self) -> tuple[dict[int, _CaseState], Counter[str]]:
        """Book the rows in date order, as if each had been logged in turn: visit counts,
        prescription flags, the workers' comp refusal, warnings."""
        order = sorted(range(len(self.rows)), key=lambda i: self.rows[i][:3])  # iso, start, line
        states = _case_states(self.conn, self.case_rows)
        notices: Counter[str] = Counter()
        refused: list[ImportRefused] = []
        self.guards = [None] * len(self.rows)
        for index in order:
            row = self.rows[index]
            state = states[row.case_id]
            case = state.case
            prepared = row.prepared()
            guard = rx_guard(state.authorizations, state.used, row.day)
            if guard.refused(case, prepared.override):
                problem = guard.problems[0]
                refused.append(
                    ImportRefused(
                        row.line,
                        problem.field,
                        problem.value,
                        f"{problem.reason}; workers' comp pays for no treatment outside the "
                        "prescription: give the reason in the allow_expired column, or get a "
                        "renewed prescription or authorization",
                    )
                )
                continue
            kinds = {p.kind for p in guard.problems}
            kinds.update(n.kind for n in billing_warnings(row.billing))
            same_week = state.weeks[monday_of(row.day)]
            same_day = state.days[row.iso]
            order = state.order_for(row.day)
            kinds.update(
                n.kind for n in visit_warnings(order, row.day, prepared, same_day, same_week)
            )
            notices.update(kinds)
            state.book(row.day, row.iso)
            if guard.problems:
                self.guards[index] = guard
        if refused:
            raise min(refused, key=lambda e: e.line)
        return states, notices


def _at(line: int, error: InputError, cells: dict[str, str]) -> ImportRefused:
    """A validator's error, placed on its line and named by the file's column."""
    column = _COLUMN_OF.get(error.field, error.field)
    value = error.value
    if error.field == "technique minutes":
        value = cells["techniques"]  # the minutes alone would not say which technique
    if not isinstance(value, Withheld):  # note text stays unshown (its size is all it says)
        value = "" if value is None else str(value)
    return ImportRefused(line, column, value, error.allowed)


def _session_input(
    line: int, cells: dict[str, str], dates: dict[str, tuple[date, str | None, str]], on: date
) -> SessionInput:
    """The row as session log's input; `dates` caches the date column's values (with the
    day's ISO text, shared by the rows of that day)."""
    text = cells["date"].strip()
    parsed = dates.get(text)
    if parsed is None:
        match = _ISO.match(text)
        if not match:
            raise ImportRefused(
                line,
                "date",
                cells["date"],
                "expected an ISO date like 2026-11-20, optionally with a start time: "
                "2026-11-20 14:30",
            )
        day_text, time_text = match.groups()
        try:
            day, start = parse_date_time(
                "date", f"{day_text} {time_text}" if time_text else day_text, base=on
            )
        except InputError as e:
            allowed = e.allowed if "future" in e.allowed else "not a date in the calendar"
            raise ImportRefused(line, "date", cells["date"], allowed) from None
        parsed = dates[text] = (day, start, day.isoformat())
    techniques = [t for t in re.split(r"[;,]", cells["techniques"]) if t.strip()]
    if not techniques:
        raise ImportRefused(
            line,
            "techniques",
            cells["techniques"],
            "required: NAME=MINUTES items separated by ';', e.g. swedish=30;trigger-point=15",
        )
    regions = [r for r in re.split(r"[;,]", cells["regions"]) if r.strip()]
    if not regions:
        raise ImportRefused(
            line,
            "regions",
            cells["regions"],
            "required: region names separated by ';', e.g. neck;upper-back",
        )
    return SessionInput(
        pre=cells["pre"],
        post=cells["post"],
        techniques=techniques,
        regions=regions,
        day=parsed[0],
        start_time=parsed[1],
        minutes=_optional(cells, "minutes"),
        notes=_note_cells(cells),
        allow_expired=_optional(cells, "allow_expired"),
    )


def _note_cells(cells: dict[str, str]) -> dict[str, str | None]:
    """The note columns of a row, line breaks as \\n whatever the file used."""
    notes = {key: _optional(cells, key) for key in NOTE_FIELDS}
    return {k: v.replace("\r\n", "\n").replace("\r", "\n") if v else v for k, v in notes.items()}


def _optional(cells: dict[str, str], column: str) -> str | None:
    value = cells.get(column)
    return value if value is not None and value.strip() else None


def _new_client(line: int, ref: str, case_ref: str, found: dict[str, NewClient]) -> None:
    """Note a client to add (--create-clients): a name, with no case yet."""
    text = ref.strip()
    if text.lstrip("#").isdigit():
        raise ImportRefused(
            line,
            "client",
            ref,
            "no client has this id; --create-clients adds clients named in the file, not ids",
        )
    if case_ref:
        raise ImportRefused(line, "case", case_ref, f"{text} is a new client and has no case yet")
    try:
        name = clean_text("client", text, max_len=NAME_MAX, multiline=False) or ""
    except InputError as e:
        raise ImportRefused(line, "client", ref, e.allowed) from None
    entry = found.setdefault(_fold(name), NewClient(name, [], None))
    entry.lines.append(line)


def _unknown_clients(unknown: list[tuple[int, str]]) -> ImportRefused:
    lines: dict[str, list[int]] = {}
    for line, ref in unknown:
        lines.setdefault(ref.strip(), []).append(line)
    first_line, first_ref = unknown[0]
    listing = "; ".join(
        f"{name} (line{'s' if len(ls) > 1 else ''} {_span(ls)})" for name, ls in lines.items()
    )
    return ImportRefused(
        first_line,
        "client",
        first_ref,
        f"no such client; {len(lines)} client{'s' if len(lines) > 1 else ''} in the file "
        f"{'are' if len(lines) > 1 else 'is'} not on record: {listing}. Add each with "
        "client add and case open (--create-clients adds clients named in the file)",
    )


def _span(lines: list[int], most: int = 5) -> str:
    shown = ", ".join(str(n) for n in lines[:most])
    return shown + (f" and {len(lines) - most} more" if len(lines) > most else "")


def _technique_key(techniques: tuple, cache: dict[tuple, tuple]) -> tuple:
    """Techniques as sorted (name, minutes) pairs: the order they were written in does not
    make a different session."""
    key = cache.get(techniques)
    if key is None:
        key = cache[techniques] = tuple(sorted((name, m) for name, (_, m) in techniques))
    return key


def _check_against_record(conn: sqlite3.Connection, rows: list[_Row]) -> None:
    """Refuse a row that repeats a session already on record (void sessions do not count)."""
    if not rows:
        return
    cache: dict[tuple, tuple] = {}
    wanted: dict[tuple, list[_Row]] = defaultdict(list)
    for r in rows:
        wanted[(r.client_id, r.iso, r.start, r.pre, r.post)].append(r)
    low, high = min(r.iso for r in rows), max(r.iso for r in rows)
    found: list[tuple[int, int]] = []
    for session_id, client_id, iso, start, pre, post, techniques in conn.execute(
        """SELECT s.id, k.client_id, s.date, coalesce(s.start_time, ''), s.pain_pre, s.pain_post,
                  (SELECT json_group_array(json_array(t.technique, t.minutes))
                     FROM session_technique t WHERE t.session_id = s.id)
           FROM session s JOIN care_case k ON k.id = s.case_id
           WHERE s.date BETWEEN ? AND ? AND s.status != 'void'""",
        (low, high),
    ):
        candidates = wanted.get((client_id, iso, start, pre, post))
        if not candidates:
            continue
        on_record = tuple(sorted((name, minutes) for name, minutes in json.loads(techniques)))
        found.extend(
            (row.line, session_id)
            for row in candidates
            if _technique_key(row.techniques, cache) == on_record
        )
    if found:
        line, session_id = min(found)
        row = next(r for r in rows if r.line == line)
        raise ImportRefused(
            line,
            "row",
            # The client as the file names it: a row naming client `1` must not print the
            # name on record (SPEC §13).
            f"{row.ref}, {row.iso} {row.start}".rstrip(),
            f"repeats session {session_id}, already on record (same client, date, time, pain "
            "and techniques)",
        )


def _case_states(conn: sqlite3.Connection, cases: dict[int, sqlite3.Row]) -> dict[int, _CaseState]:
    """Each case's authorizations and non-void visits on record, read in two queries."""
    authorizations = load_many(conn, list(cases))
    states = {case_id: _CaseState(row, authorizations[case_id]) for case_id, row in cases.items()}
    if not states:
        return states
    days: dict[str, date] = {}
    for case_id, iso in conn.execute(
        "SELECT case_id, date FROM session WHERE status != 'void' "
        "AND case_id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(states)),),
    ):
        day = days.get(iso)
        if day is None:
            day = days[iso] = date.fromisoformat(iso)
        states[case_id].add(day, iso)
    return states


class _Writer:
    """The second reading of the file: each row written with its notes, in chunks with
    executemany, ids in the file's order; then the audit rows (and signatures) in id order.

    The import holds the write lock (BEGIN IMMEDIATE) from the first read, so max(id) + 1 is
    the id SQLite would have chosen itself.
    """

    def __init__(self, conn: sqlite3.Connection, sign: bool) -> None:
        self.conn = conn
        self.sign = sign
        self.first_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM session").fetchone()[0]
        self.created = now_stamp()
        self.sql = ""
        self.sessions: list[tuple] = []
        self.techniques: list[tuple] = []
        self.cpt: list[tuple] = []
        self.note_chars = 0

    def write(self, file: ImportFile, run: _Run, states: dict[int, _CaseState]) -> None:
        from medmassage.record import search

        path = file.path
        rows = iter(enumerate(run.rows))
        search.index_later(self.conn)  # the notes' search index: one statement at the end
        with contextlib.closing(read_rows(file)) as source:
            if file.changed():
                raise _changed(path)
            for line, cells in source:
                index, row = next(rows, (None, None))
                if row is None or row.line != line:
                    raise _changed(path)
                try:
                    notes = clean_notes(_note_cells(cells))
                except InputError:  # it passed the first reading: the file has changed
                    raise _changed(path) from None
                session_id = self.first_id + index
                case = states[row.case_id].case
                guard = run.guards[index] or _NO_PROBLEM
                self.add(session_id, case, row.prepared(notes), row, guard)
        if next(rows, None) is not None or file.changed():
            raise _changed(path)
        self.flush()
        ids = range(self.first_id, self.first_id + len(run.rows))
        search.index_now(self.conn, self.first_id, self.first_id + len(run.rows) - 1)
        # Chained a chunk at a time (each session is written whole by now): the audit rows
        # waiting for their content digests stay a chunk long, not the length of the file.
        for start in range(0, len(ids), _CHUNK):
            for session_id in ids[start : start + _CHUNK]:
                db.audit(self.conn, "import", "session", session_id)
            db.chain_pending(self.conn)
        if self.sign:
            for start in range(0, len(ids), _CHUNK):
                sign_drafts(self.conn, list(ids[start : start + _CHUNK]))
                db.chain_pending(self.conn)

    def add(
        self,
        session_id: int,
        case: sqlite3.Row,
        prepared: PreparedSession,
        row: _Row,
        guard: RxGuard,
    ) -> None:
        values = session_values(case, prepared, row.day, row.start or None, guard, self.created)
        if not self.sql:
            columns = ["id", *values]
            self.sql = (
                f"INSERT INTO session ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})"
            )
        self.sessions.append((session_id, *values.values()))
        self.techniques.extend(technique_rows(session_id, prepared))
        self.cpt.extend(cpt_rows(session_id, row.billing))
        self.note_chars += sum(len(note) for note in prepared.notes.values() if note)
        if len(self.sessions) >= _CHUNK or self.note_chars >= _CHUNK_NOTES:
            self.flush()

    def flush(self) -> None:
        if not self.sessions:
            return
        self.conn.executemany(self.sql, self.sessions)
        self.conn.executemany(TECHNIQUE_INSERT, self.techniques)
        self.conn.executemany(CPT_INSERT, self.cpt)
        self.sessions, self.techniques, self.cpt = [], [], []
        self.note_chars = 0


_NO_PROBLEM = RxGuard(None, False, [])


def _changed(path: Path) -> InputError:
    return InputError(
        "file", str(path), "changed while it was being imported; nothing was written: try again"
    )


def _add_clients(
    conn: sqlite3.Connection, new: dict[str, NewClient], dry_run: bool
) -> list[NewClient]:
    from medmassage.record.clients import add_client

    if dry_run:
        return list(new.values())
    return [c._replace(client_id=add_client(conn, {"name": c.name})) for c in new.values()]


def _by_case(states: dict[int, _CaseState], clients: _Clients) -> list[CaseCount]:
    counts = [
        CaseCount(
            s.case["client_id"],
            clients.by_id[s.case["client_id"]]["name"],
            case_id,
            s.imported,
            s.first,
            s.last,
        )
        for case_id, s in states.items()
        if s.imported and s.first and s.last
    ]
    return sorted(counts, key=lambda c: (c.client.casefold(), c.client_id, c.case_id))


def _reports_due(conn: sqlite3.Connection, states: dict[int, _CaseState], on: date) -> list[int]:
    from medmassage.record.cases import report_status

    return sorted(
        case_id
        for case_id, s in states.items()
        if s.imported and report_status(conn, s.case, s.dates, on)[0].due
    )


# --- the import format, written ---------------------------------------------------------------


def export_sessions_csv(conn: sqlite3.Connection, out: TextIO) -> int:
    """Write every non-void session in the import format (oldest first); returns the count.

    The client is named when the name is unique in this database, else given by id; the case
    is its id. Signed/draft status, addenda and void sessions are not part of the format.
    """
    names = Counter(_fold(r[0]) for r in conn.execute("SELECT name FROM client"))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for r in conn.execute(
        """SELECT s.*, c.id AS client_id, c.name AS client_name,
                  (SELECT group_concat(technique || '=' || minutes, ';') FROM
                      (SELECT technique, minutes FROM session_technique t
                        WHERE t.session_id = s.id ORDER BY position)) AS techniques
           FROM session s JOIN care_case k ON k.id = s.case_id JOIN client c ON c.id = k.client_id
           WHERE s.status != 'void'
           ORDER BY s.date, coalesce(s.start_time, ''), s.id"""
    ):
        name = r["client_name"]
        unique = names[_fold(name)] == 1 and not name.strip().lstrip("#").isdigit()
        cells = {
            "client": name if unique else str(r["client_id"]),
            "date": f"{r['date']} {r['start_time']}" if r["start_time"] else r["date"],
            "pre": r["pain_pre"],
            "post": r["pain_post"],
            "techniques": r["techniques"],
            "regions": ";".join(json.loads(r["regions"])),
            "case": r["case_id"],
            "minutes": r["minutes"],
            **{key: r[key] or "" for key in NOTE_FIELDS},
            "allow_expired": r["override_reason"] or "",
        }
        writer.writerow([cells[c] for c in COLUMNS])
        count += 1
    return count


# --- sample files, for tests and benchmarks ------------------------------------------------

_SAMPLE_TECHNIQUES = (
    "swedish=30",
    "myofascial-release=25;swedish=20",
    "trigger-point=15;deep-tissue=30",
    "neuromuscular-therapy=20;stretching=10;hot-cold-pack=10",
    "soft-tissue-mobilization=33;neuromuscular-reeducation=7",
)
_SAMPLE_REGIONS = (
    "neck",
    "neck;upper-back",
    "lower-back;gluteal-left",
    "shoulder-both",
    "mid-back",
)
_SAMPLE_NOTES = (
    "Reports stiffness after long hours at the desk",
    "Slept better since last visit, still sore turning to the left",
    'Tender at C5–C6; "much looser" after treatment, range of motion improved',
)


def sample_rows(
    clients: Sequence[str], count: int, *, end: date, seed: int = 0
) -> Iterator[dict[str, str]]:
    """`count` plausible sessions in the import format, spread over `clients` (names or ids):
    each client's visits 3 days apart and ending on `end`, every row different."""
    rng = random.Random(seed)
    per_client = -(-count // len(clients))
    for i in range(count):
        visit = i // len(clients)
        day = end - timedelta(days=3 * (per_client - 1 - visit))
        pre = rng.randint(3, 9)
        yield {
            "client": clients[i % len(clients)],
            "date": f"{day.isoformat()} {9 + visit % 9:02d}:{15 * rng.randint(0, 3):02d}",
            "pre": str(pre),
            "post": str(max(0, pre - rng.randint(0, 4))),
            "techniques": rng.choice(_SAMPLE_TECHNIQUES),
            "regions": rng.choice(_SAMPLE_REGIONS),
            "subjective": rng.choice(_SAMPLE_NOTES),
            "plan": "Continue 2x/week",
        }


def write_import_csv(rows: Iterable[dict[str, object]], out: TextIO) -> int:
    """Write rows (dicts keyed by column name) as an import file; returns the count."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count
