"""Full-text search over the notes (`session search`, SPEC §12): SQLite FTS5.

The index (`session_fts`, migration 10) holds one row per session: its SOAP note, home care,
client feedback and addenda, kept in step by triggers inside the transaction that writes the
note. It is derived data: no content digest covers it (digests.py), `db check` compares it with
the notes (`index_problems`), and `rebuild_index` makes it again from them.

What the user types is never handed to FTS5 as query syntax: a word or a quoted phrase becomes
an FTS5 string (so `NEAR`, `-`, `:`, `(`, `^` and a stray `"` are just characters), a `*` at the
end of a word asks for the words it starts, and every part must appear (AND). A part with no
letter or digit in it (`-`, `(`) finds nothing and is left out.

Results are newest first (date, start time, id). For the page of results shown, the matching
words are marked by FTS5 itself — the page's notes go into a small in-memory FTS5 table with the
same tokenizer, where highlight() and snippet() cost the same whatever the size of the practice
(run against the big index, a short prefix like `c*` would expand to every word it starts, once
per row).
"""

from __future__ import annotations

import sqlite3
import unicodedata
from datetime import date
from typing import NamedTuple

from medmassage.errors import InputError, Withheld
from medmassage.store import db
from medmassage.store.migrations import SEARCH_COLUMNS, SEARCH_TRIGGERS

# What each indexed column is called in the output: the field names of `session log`.
FIELDS = SEARCH_COLUMNS  # subjective … feedback, addenda
FIELD_LABELS = {
    "subjective": "Subjective",
    "objective": "Objective",
    "assessment": "Assessment",
    "plan": "Plan",
    "homecare": "Home care",
    "feedback": "Client feedback",
    "addenda": "Addendum",
}
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_QUERY = 500  # characters
MAX_PARTS = 32
SNIPPET_TOKENS = 14

# Marks FTS5 puts around a matching word in the page's notes; turned into offsets. Control
# characters that clean_text never lets into a note (one that another tool stored is replaced).
_OPEN, _CLOSE = "\x02", "\x03"
_ELLIPSIS = "…"
_TOKENIZE = "unicode61 remove_diacritics 2"  # as M010's index


class Match(NamedTuple):
    """One field of a session that matched: a snippet of its text (plain, white space made
    single spaces) and where the matching words are in it, as [start, end) character offsets."""

    field: str
    snippet: str
    marks: list[tuple[int, int]]

    def to_dict(self) -> dict:
        return {
            "field": self.field,
            "snippet": self.snippet,
            "marks": [list(m) for m in self.marks],
        }


class Hit(NamedTuple):
    session_id: int
    date: str
    start_time: str | None
    client_id: int
    client: str
    case_id: int
    status: str  # draft, signed, void
    matches: list[Match]  # in FIELDS order; at least one

    @property
    def best(self) -> Match:
        """The field shown first: the one whose snippet marks the most words (the first such, in
        FIELDS order)."""
        if not self.matches:
            return Match("", "", [])
        return max(self.matches, key=lambda m: len({m.snippet[a:b].casefold() for a, b in m.marks}))

    def to_dict(self) -> dict:
        first = self.best
        return {
            "session_id": self.session_id,
            "date": self.date,
            "start_time": self.start_time,
            "client_id": self.client_id,
            "client": self.client,
            "case_id": self.case_id,
            "status": self.status,
            "fields": [m.field for m in self.matches],
            "field": first.field,
            "snippet": first.snippet,
            "marks": [list(m) for m in first.marks],
            "matches": [m.to_dict() for m in self.matches],
        }


class Found(NamedTuple):
    hits: list[Hit]
    total: int  # sessions that match, of which `hits` are the newest `limit`


# --- the query ----------------------------------------------------------------------------------


def _searchable(text: str) -> bool:
    """Does `text` hold a character FTS5's unicode61 tokenizer keeps (a letter, a digit, or a
    private-use character)?"""
    return any(
        unicodedata.category(ch)[0] in "LN" or unicodedata.category(ch) == "Co" for ch in text
    )


def _parts(text: str) -> list[tuple[str, bool]]:
    """(words, prefix) for each word or quoted phrase of `text`. A phrase runs to the next `"`
    (or to the end, if none); `*` right after a word or a phrase makes it a prefix."""
    parts: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            words, i = text[i + 1 : end], end + 1
        else:
            end = i
            while end < n and not text[end].isspace() and text[end] != '"':
                end += 1
            words, i = text[i:end], end
        prefix = words.endswith("*")
        if i < n and text[i] == "*":  # "a phrase"*
            prefix, i = True, i + 1
        parts.append((words.rstrip("*"), prefix))
    return parts


def fts_query(text: str | None) -> str:
    """The FTS5 query for what the user typed (see the module's docstring). Raises InputError
    for an empty query, or one with nothing to search for."""
    raw = unicodedata.normalize("NFC", text or "").strip()
    allowed = 'words to search for, e.g. lumbar, "range of motion" (a phrase) or lumb* (a prefix)'
    if not raw:
        raise InputError("text", text, allowed)
    if len(raw) > MAX_QUERY:
        raise InputError("text", Withheld(len(raw)), f"at most {MAX_QUERY} characters")
    terms = []
    for words, prefix in _parts(raw):
        if not _searchable(words):
            continue  # punctuation alone: no word FTS5 would index
        quoted = '"' + words.replace('"', '""') + '"'
        terms.append(quoted + (" *" if prefix else ""))
    if not terms:
        # Only punctuation: nothing of the client's can be in it, so it is shown.
        raise InputError("text", raw, f"has no letter or digit; {allowed}")
    if len(terms) > MAX_PARTS:
        raise InputError("text", Withheld(len(raw)), f"at most {MAX_PARTS} words or phrases")
    return " AND ".join(terms)


def check_limit(value: str | int | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InputError("limit", value, f"a whole number from 1 to {MAX_LIMIT:,}")
    return int(text)


# --- searching ----------------------------------------------------------------------------------


def search_sessions(
    conn: sqlite3.Connection,
    text: str,
    *,
    client_id: int | None = None,
    case_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = DEFAULT_LIMIT,
    include_void: bool = True,
) -> Found:
    """The sessions whose notes match `text`, newest first, at most `limit`, each with the
    fields that matched and a snippet of each. One read snapshot."""
    query = fts_query(text)
    from medmassage.record.session_query import session_filters

    where, params = session_filters(client_id, case_id, start, end)
    where.insert(0, "session_fts MATCH ?")
    params.insert(0, query)
    if not include_void:
        where.append("s.status != 'void'")
    joins = """
            FROM session_fts
            JOIN session s ON s.id = session_fts.rowid
            JOIN care_case k ON k.id = s.case_id
            JOIN client c ON c.id = k.client_id"""
    with db.read_snapshot(conn):
        rows = conn.execute(
            f"""
            SELECT s.id, s.date, s.start_time, s.status, s.case_id, c.id AS client_id,
                   c.name AS client
            {joins}
            WHERE {" AND ".join(where)}
            ORDER BY s.date DESC, coalesce(s.start_time, '') DESC, s.id DESC
            LIMIT ?
            """,
            (*params, limit),
        ).fetchall()
        total = len(rows)
        if total == limit:  # a full page: how many match in all (a count, cheaper than a window)
            counted = "FROM session_fts" if len(where) == 1 else joins
            total = conn.execute(
                f"SELECT count(*) {counted} WHERE {' AND '.join(where)}", params
            ).fetchone()[0]
        matches = _marked(conn, query, [r["id"] for r in rows])
    hits = [
        Hit(
            session_id=r["id"],
            date=r["date"],
            start_time=r["start_time"],
            client_id=r["client_id"],
            client=r["client"],
            case_id=r["case_id"],
            status=r["status"],
            matches=matches.get(r["id"], []),
        )
        for r in rows
    ]
    return Found(hits, total)


def _marked(conn: sqlite3.Connection, query: str, ids: list[int]) -> dict[int, list[Match]]:
    """For the sessions `ids`: each field where `query` matches, with a snippet. Their notes go
    into an in-memory FTS5 table (temp_store=MEMORY: no note text in a temp file) with the
    index's tokenizer, and highlight()/snippet() run there: the same words FTS5 matched."""
    if not ids:
        return {}
    import json

    columns = ", ".join(FIELDS)
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute(
        f"CREATE VIRTUAL TABLE temp.search_page USING fts5({columns}, tokenize = '{_TOKENIZE}')"
    )
    try:
        texts = conn.execute(
            f"SELECT id, {columns} FROM session_search_text "
            "WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        ).fetchall()
        conn.executemany(
            f"INSERT INTO temp.search_page (rowid, {columns}) VALUES "
            f"(?, {', '.join('?' for _ in FIELDS)})",
            [(row[0], *(_unmarked(v) for v in tuple(row)[1:])) for row in texts],
        )
        shown = ", ".join(
            f"highlight(search_page, {i}, '{_OPEN}', '{_CLOSE}'), "
            f"snippet(search_page, {i}, '{_OPEN}', '{_CLOSE}', '{_ELLIPSIS}', {SNIPPET_TOKENS})"
            for i in range(len(FIELDS))
        )
        out: dict[int, list[Match]] = {}
        for row in conn.execute(
            f"SELECT rowid, {shown} FROM temp.search_page WHERE search_page MATCH ?", (query,)
        ):
            found = []
            for i, field in enumerate(FIELDS):
                whole, snippet = row[1 + 2 * i], row[2 + 2 * i]
                if whole and _OPEN in whole:
                    found.append(_match(field, snippet))
            out[row[0]] = found
        return out
    finally:
        conn.execute("DROP TABLE temp.search_page")


def _unmarked(value: str | None) -> str | None:
    if value is None or (_OPEN not in value and _CLOSE not in value):
        return value
    return value.replace(_OPEN, "\ufffd").replace(_CLOSE, "\ufffd")


def _match(field: str, marked: str) -> Match:
    """A snippet with FTS5's marks made into offsets; runs of white space (line breaks) become
    one space, so a snippet fits one line."""
    text: list[str] = []
    marks: list[tuple[int, int]] = []
    start = None
    length = 0
    space = False
    for ch in marked.strip():
        if ch == _OPEN:
            if space:  # the space before the word is written before the mark opens
                text.append(" ")
                length += 1
                space = False
            start = length
            continue
        if ch == _CLOSE:
            if start is not None:
                marks.append((start, length))
            start = None
            continue
        if ch.isspace():
            space = True
            continue
        if space:
            text.append(" ")
            length += 1
            space = False
        text.append(ch)
        length += 1
    return Match(field, "".join(text), marks)


# --- keeping the index right ---------------------------------------------------------------------

REINDEX = "medmassage db reindex"


def index_problems(conn: sqlite3.Connection) -> tuple[list[str], int]:
    """How the search index differs from the notes, and how many sessions it holds: its
    triggers missing or altered (compared by their SQL text, like the protective triggers), or
    its words not those of the notes (FTS5's 'integrity-check' against its content: a note
    changed with the triggers off, a row added or removed beside them, the index's own tables
    edited). No problems: it is right.

    The integrity-check is an INSERT to SQLite, so it holds the write lock for its moment
    (BEGIN IMMEDIATE, then ROLLBACK): it writes nothing."""
    problems = [f"trigger {p}" for p in db.trigger_problems(conn, triggers=SEARCH_TRIGGERS)]
    present = {
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE name IN ('session_fts', 'session_search_text')"
        )
    }
    if conn.execute("SELECT count(*) FROM session_fts_deferred").fetchone()[0]:
        problems.append("it is set to leave new sessions to a bulk import that never finished")
    if len(present) < 2:
        missing = ", ".join(sorted({"session_fts", "session_search_text"} - present))
        return [*problems, f"{missing} missing"], 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("INSERT INTO session_fts (session_fts, rank) VALUES ('integrity-check', 1)")
        indexed = conn.execute("SELECT count(*) FROM session_fts_docsize").fetchone()[0]
    except Exception as e:  # sqlite3's or sqlcipher3's DatabaseError (their classes differ)
        if "DatabaseError" not in {t.__name__ for t in type(e).__mro__}:
            raise
        what = str(e)
        if "malformed" in what or "corrupt" in what:
            problems.append("its words are not those of the notes")
        else:
            problems.append(f"it cannot be read ({what})")
        indexed = 0
    finally:
        conn.execute("ROLLBACK")
    return problems, indexed


def index_later(conn: sqlite3.Connection) -> None:
    """Inside a bulk write's transaction: sessions inserted from now on are indexed by
    `index_now`, in one statement, instead of one trigger run each."""
    conn.execute("INSERT OR IGNORE INTO session_fts_deferred (id) VALUES (1)")


def index_now(conn: sqlite3.Connection, first_id: int, last_id: int) -> None:
    """Index the sessions `first_id`…`last_id` inserted since `index_later`, and go back to
    indexing each insert (before the transaction commits: the index is never out of step)."""
    columns = ", ".join(FIELDS)
    conn.execute(
        f"INSERT INTO session_fts (rowid, {columns}) SELECT id, {columns} "
        "FROM session_search_text WHERE id BETWEEN ? AND ?",
        (first_id, last_id),
    )
    conn.execute("DELETE FROM session_fts_deferred")


def rebuild_index(conn: sqlite3.Connection) -> int:
    """Make the search index again from the notes: the view, the FTS5 table and the triggers as
    migration 10 created them, then every session indexed ('rebuild'). Changes no record;
    audited (entity search_index, no id). Returns how many sessions it holds."""
    from medmassage.store.migrations import M010_NOTE_SEARCH

    with db.transaction(conn):
        for name in SEARCH_TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        _drop_index(conn)
        conn.execute("DROP VIEW IF EXISTS session_search_text")
        conn.execute("DROP TABLE IF EXISTS session_fts_deferred")
        for statement in db._statements(M010_NOTE_SEARCH):
            conn.execute(statement)
        db.audit(conn, "reindex", "search_index", None)
        return conn.execute("SELECT count(*) FROM session_fts_docsize").fetchone()[0]


def _drop_index(conn: sqlite3.Connection) -> None:
    """DROP the FTS5 table. One whose own tables (_data, _config) were removed cannot be
    constructed, so not dropped: what is left of it goes, and its schema row by name
    (writable_schema, as SQLite's docs do for a virtual table that cannot load)."""
    from medmassage.store.migrations import SEARCH_TABLES

    try:
        conn.execute("SAVEPOINT drop_index")
        conn.execute("DROP TABLE IF EXISTS session_fts")
        conn.execute("RELEASE drop_index")
        return
    except Exception as e:
        if "DatabaseError" not in {t.__name__ for t in type(e).__mro__}:
            raise
        conn.execute("ROLLBACK TO drop_index")
        conn.execute("RELEASE drop_index")
    for table in SEARCH_TABLES[1:]:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute("DELETE FROM sqlite_master WHERE type = 'table' AND name = 'session_fts'")
    finally:
        conn.execute("PRAGMA writable_schema = RESET")  # off, and the schema read again
