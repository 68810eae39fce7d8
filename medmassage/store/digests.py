"""Content digests: what each record held when medmassage last changed it (SPEC §13).

The audit chain (audit.py) proves which changes medmassage made, in what order, under a key that
is not in the file. On its own it says nothing about the rows those changes wrote: someone with
the `sqlite3` shell could turn the lock triggers off, edit a signed note and turn them back on,
and the chain would still verify. So every audit row also carries a digest of the changed
record's content, taken when the change commits (db.transaction), and `db check` recomputes the
digest of every current record and compares it with the latest one chained for it.

A record is an audited entity (the `entity` of an audit row) and its child rows:

    client            client row
    case              care_case row, its diagnoses
    authorization     authorization row
    intake            intake row
    goal              goal row
    measure           measure row
    session           session row, its techniques, CPT lines and addenda (the signature is
                      the session row's status and signed_at)
    progress_report   progress_report row
    template          note_template row (a note template, notetemplates.py)
    phrase            phrase row (a phrase shortcut, phrases.py)
    claim             claim row, its lines (claims/)
    interchange       x12_interchange row (an 837P file written, claims/)
    profile (id 1)    the profile row, the fee schedule, the report rules and the claim rules
    technique (-)     the custom techniques, as one record

The canonical encoding: each row's values in declared column order (`SELECT *`), read back from
SQLite at write time and at check time alike, each tagged with its type (STRICT tables hold only
integers, reals, text, blobs and NULL) and text with its length, so no two different rows encode
alike; child rows in primary-key order, each line prefixed with its table. The digest is
SHA-256 of "medmassage-record-v1", the entity, the id and those lines. A schema change to a
recorded table changes every digest of that table: a migration that makes one must chain new
digests for every record (`record_all`), as M007 does.

Streamed record by record (a merge join of each table and its children in id order): memory stays
flat. (SQLite's quote() did the encoding at first: three times slower than this, on long notes.)
"""

import sqlite3
from collections.abc import Iterable, Iterator

from medmassage.store.audit import sha256_hex

TAG = "medmassage-record-v1"
# The digest chained when medmassage itself removed a record (it never does today: voids keep
# the row); kept so a future delete is not mistaken for a deletion made outside medmassage.
GONE = "0" * 64

# entity -> (table, child tables (table, parent column)); the parent's key is `id`.
RECORDS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "client": ("client", ()),
    "case": ("care_case", (("diagnosis", "case_id"),)),
    "authorization": ("authorization", ()),
    "intake": ("intake", ()),
    "goal": ("goal", ()),
    "measure": ("measure", ()),
    "session": (
        "session",
        (
            ("session_technique", "session_id"),
            ("session_cpt", "session_id"),
            ("addendum", "session_id"),
        ),
    ),
    "progress_report": ("progress_report", ()),
    "template": ("note_template", ()),
    "phrase": ("phrase", ()),
    "claim": ("claim", (("claim_line", "claim_id"),)),
    "interchange": ("x12_interchange", ()),
}
# Records that are whole tables: entity -> (audit entity_id, tables).
SINGLETONS: dict[str, tuple[int | None, tuple[str, ...]]] = {
    "profile": (1, ("profile", "fee", "report_rule", "claim_rule")),
    "technique": (None, ("custom_technique",)),
}
# What `db check` calls each entity in its messages (the table a user would open).
TABLE_OF = {
    **{e: t for e, (t, _) in RECORDS.items()},
    "profile": "profile",
    "technique": "custom_technique",
}


def _order(conn: sqlite3.Connection, table: str) -> str:
    """The primary key's columns (a table without one: its rowid), for a stable order."""
    keys = sorted((row[5], row[1]) for row in conn.execute(f"PRAGMA table_info({table})") if row[5])
    return ", ".join(name for _, name in keys) or "rowid"


def _encoded(row: Iterable[object]) -> str:
    """One row's values, each tagged with its type and text with its length: no two different
    rows encode alike. STRICT tables hold only these types."""
    out = []
    for value in row:
        kind = type(value)
        if kind is str:
            out.append(f"t{len(value)}:{value}")  # type: ignore[arg-type]
        elif kind is int:
            out.append(f"i{value}")
        elif value is None:
            out.append("n")
        elif kind is float:
            out.append(f"r{value!r}")  # the shortest repr that reads back as the same float
        else:
            out.append(f"b{bytes(value).hex()}")  # type: ignore[call-overload]
    return "|".join(out)


def _digest(entity: str, entity_id: int | None, lines: Iterable[str]) -> str:
    text = "\n".join((TAG, entity, "-" if entity_id is None else str(entity_id), *lines))
    return sha256_hex(text.encode("utf-8", "surrogatepass"))


def _ids_clause(ids: list[int] | None, column: str) -> tuple[str, tuple]:
    if ids is None:
        return "", ()
    import json

    return f" WHERE {column} IN (SELECT value FROM json_each(?))", (json.dumps(ids),)


def _digests(
    conn: sqlite3.Connection, entity: str, ids: list[int] | None
) -> Iterator[tuple[int, str]]:
    """(id, digest) of the records of `entity` (all of them when `ids` is None), in id order.

    Streamed: the parent rows and each child table are read in id order side by side (a merge
    join), so one record's rows are in memory at a time, whatever the size of the practice."""
    table, children = RECORDS[entity]
    where, params = _ids_clause(ids, "id")
    parents = conn.cursor()
    parents.row_factory = None  # plain tuples: every column, in declared order
    parents.execute(f"SELECT * FROM {table}{where} ORDER BY id", params)
    streams = []
    for child, parent in children:
        where, params = _ids_clause(ids, parent)
        rows = conn.cursor()
        rows.row_factory = None
        rows.execute(
            f"SELECT {parent}, * FROM {child}{where} ORDER BY {parent}, {_order(conn, child)}",
            params,
        )
        streams.append([f"\n{child}|", rows, next(rows, None)])
    prefix = f"{TAG}\n{entity}\n"
    head = f"\n{table}|"
    for row in parents:
        row_id = row[0]  # every recorded table starts with its id
        parts = [prefix, str(row_id), head, _encoded(row)]
        for stream in streams:
            label, rows, ahead = stream
            # Child rows whose parent is gone (foreign_key_check names them) are passed over.
            while ahead is not None and ahead[0] < row_id:
                ahead = next(rows, None)
            while ahead is not None and ahead[0] == row_id:
                parts += (label, _encoded(ahead[1:]))
                ahead = next(rows, None)
            stream[2] = ahead
        yield row_id, sha256_hex("".join(parts).encode("utf-8", "surrogatepass"))


def _has_table(conn: sqlite3.Connection, table: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    return found.fetchone() is not None


def _singleton(conn: sqlite3.Connection, entity: str) -> str | None:
    """The digest of a whole-table record; None when its tables are empty (no record yet)."""
    entity_id, tables = SINGLETONS[entity]
    lines = []
    for table in tables:
        if table == "claim_rule" and not _has_table(conn, table):
            continue  # a migration before M012 digests the profile: no claim rules yet
        rows = conn.cursor()
        rows.row_factory = None
        rows.execute(f"SELECT * FROM {table} ORDER BY {_order(conn, table)}")
        lines += [f"{table}|{_encoded(row)}" for row in rows]
    return _digest(entity, entity_id, lines) if lines else None


def digests_of(conn: sqlite3.Connection, keys: Iterable[tuple[str, int | None]]) -> dict:
    """The current digest of each (entity, id) named (GONE for a record no longer there), read
    in one query per table: a bulk import digests its 100,000 sessions together."""
    by_entity: dict[str, set[int]] = {}
    out: dict[tuple[str, int | None], str] = {}
    for entity, entity_id in keys:
        if entity in SINGLETONS:
            if (entity, entity_id) not in out:
                out[(entity, entity_id)] = _singleton(conn, entity) or GONE
        elif entity in RECORDS and entity_id is not None:
            by_entity.setdefault(entity, set()).add(entity_id)
        else:  # an audit row about no record (rekey, a future action): nothing to digest
            out[(entity, entity_id)] = None
    for entity, ids in by_entity.items():
        found = dict(_digests(conn, entity, sorted(ids)))
        for entity_id in ids:
            out[(entity, entity_id)] = found.get(entity_id, GONE)
    return out


def current_digests(conn: sqlite3.Connection) -> Iterator[tuple[tuple[str, int | None], str]]:
    """Every current record's digest, as ((entity, id), digest), streamed: what `db check`
    compares. A table a later migration adds (note_template, phrase) is passed over while an
    earlier migration (M007) chains the records there are."""
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for entity, (table, _) in RECORDS.items():
        if table not in present:
            continue
        for row_id, digest in _digests(conn, entity, None):
            yield (entity, row_id), digest
    for entity, (entity_id, _) in SINGLETONS.items():
        digest = _singleton(conn, entity)
        if digest is not None:
            yield (entity, entity_id), digest


def compare(
    current: Iterable[tuple[tuple[str, int | None], str]],
    chained: dict[tuple[str, int | None], str],
) -> list[tuple[str, str, int | None]]:
    """(what happened, table, id) for every record whose content is not what medmassage last
    wrote: 'changed', 'added' (no digest chained for it) or 'deleted'. In table, id order.
    `chained` is consumed (what is left in it at the end is what was deleted)."""
    found = []
    for key, digest in current:
        last = chained.pop(key, None)
        if last is None or last == GONE:
            found.append(("added", key))
        elif last != digest:
            found.append(("changed", key))
    for key, last in chained.items():
        if last is not None and last != GONE:
            found.append(("deleted", key))
    found.sort(key=lambda f: (TABLE_OF[f[1][0]], f[1][1] or 0))
    return [(what, TABLE_OF[entity], entity_id) for what, (entity, entity_id) in found]


def describe(found: list[tuple[str, str, int | None]], limit: int = 5) -> str:
    """`db check`'s line: ids and tables only, never content."""

    def name(what: str, table: str, entity_id: int | None) -> str:
        where = f"{table} {entity_id}" if entity_id is not None else table
        return f"{where} {what}"

    shown = "; ".join(name(*f) for f in found[:limit])
    more = f" (and {len(found) - limit} more)" if len(found) > limit else ""
    return f"{shown}{more} outside medmassage (the content differs from what its audit log chained)"


def record_all(conn: sqlite3.Connection, at: str, actor: str, action: str = "baseline") -> int:
    """Chain the digest of every record as it is now (a migration that adds digests or changes
    a recorded table's columns), in the caller's transaction. Returns how many."""
    from medmassage.store import audit

    count = 0
    batch: list[tuple[str, str, str, str, int | None, str]] = []
    for (entity, entity_id), digest in current_digests(conn):
        batch.append((at, actor, action, entity, entity_id, digest))
        if len(batch) == 10_000:  # in batches: memory stays flat however many records
            audit.append_many(conn, batch)
            count += len(batch)
            batch = []
    if batch:
        audit.append_many(conn, batch)
        count += len(batch)
    return count


def chain_entities(
    conn: sqlite3.Connection, entities: Iterable[str], at: str, actor: str, action: str = "add"
) -> int:
    """Chain the digest of every record of `entities` as it is now (a migration that inserts
    rows: the shipped note templates and phrases, migrations.SEEDED), in the caller's
    transaction. Returns how many."""
    from medmassage.store import audit

    rows = [
        (at, actor, action, entity, entity_id, digest)
        for entity in entities
        for entity_id, digest in _digests(conn, entity, None)
    ]
    if rows:
        audit.append_many(conn, rows)
    return len(rows)
