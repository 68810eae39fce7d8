"""What identifies a database's content: its tag (application_id), schema version, schema and row
counts. Backup and restore (backup.py) and encrypt/decrypt/rekey (crypto.py) read them from the
source and from the copy, and a copy that differs in any of them is not accepted.
"""

from __future__ import annotations

from typing import Any


# A plain class: the dataclasses module costs about a millisecond to build one at import.
class Facts:
    __slots__ = ("application_id", "counts", "schema", "version")

    def __init__(
        self,
        application_id: int,
        version: int,
        schema: frozenset[tuple[str, str, str]],
        counts: dict[str, int],
    ) -> None:
        self.application_id = application_id
        self.version = version
        self.schema = schema
        self.counts = counts

    @property
    def sessions(self) -> int:
        return self.counts.get("session", 0)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def read_facts(conn: Any) -> Facts:
    """The facts of the database `conn` reads (inside a transaction: from one snapshot)."""
    schema = frozenset(
        (row[0], row[1], row[2] or "")
        for row in conn.execute("SELECT type, name, sql FROM sqlite_master")
    )
    # A virtual table stores nothing of its own: the notes' search index (FTS5) keeps its data
    # in shadow tables, counted here; counting the FTS5 table itself reads every note (~0.2 s
    # at 100,000 sessions).
    tables = sorted(
        name
        for kind, name, sql in schema
        if kind == "table" and not sql.lstrip().upper().startswith("CREATE VIRTUAL TABLE")
    )
    return Facts(
        application_id=conn.execute("PRAGMA application_id").fetchone()[0],
        version=conn.execute("PRAGMA user_version").fetchone()[0],
        schema=schema,
        counts={t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables},
    )


def differences(found: Facts, expected: Facts) -> list[str]:
    """How `found` differs from `expected`, one phrase each; empty when they match."""
    out = []
    if found.application_id != expected.application_id:
        out.append(f"application_id {found.application_id}")
    if found.version != expected.version:
        out.append(f"schema version {found.version}, not {expected.version}")
    if found.schema != expected.schema:
        out.append("a different schema")
    for table in sorted(set(found.counts) | set(expected.counts)):
        got, want = found.counts.get(table), expected.counts.get(table)
        if got != want:
            out.append(f"{table}: {got} rows, not {want}")
    return out
