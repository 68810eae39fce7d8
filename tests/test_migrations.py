"""Upgrading from every earlier schema version keeps the data and the protections (SPEC §8)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from medmassage import db, migrations
from tests.conftest import Cli, count_rows, query

EARLIER = [
    version for version, _, _ in migrations.MIGRATIONS if version < migrations.LATEST_VERSION
]


def _database_at(path: Path, version: int) -> None:
    """A database migrated by hand to exactly `version`, as an older medmassage left it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    for number, _, script in migrations.MIGRATIONS:
        if number > version:
            break
        conn.execute("BEGIN")
        for statement in db._statements(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    conn.close()
    path.chmod(0o600)


def _dump(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
    finally:
        conn.close()


@pytest.mark.parametrize("version", EARLIER, ids=lambda v: f"from-v{v}")
def test_upgrade_keeps_every_row_and_adds_the_protections(tmp_path, version, monkeypatch):
    path = tmp_path / "old.db"
    _database_at(path, version)
    # Fill the old database through the CLI of that era: pin the migrations to `version`.
    older = [m for m in migrations.MIGRATIONS if m[0] <= version]
    monkeypatch.setattr(db, "MIGRATIONS", older)
    monkeypatch.setattr(db, "LATEST_VERSION", version)
    cli = Cli(path)
    cli("client", "add", "Jane Doe", "--dob", "1980-04-02")
    cli(
        "case", "open", "Jane", "--payer", "health", "--dx", "M54.2", "--referrer", "Dr A",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "12",
    )  # fmt: skip
    cli(
        "session", "log", "Jane", "--pre", "6", "--post", "3", "--technique", "swedish=30",
        "--region", "neck", "--date", "2026-11-20", "--sign",
    )  # fmt: skip
    cli("session", "amend", "1", "--text", "late entry")
    before = _dump(path)
    monkeypatch.undo()

    conn, _ = db.connect(path)  # the current medmassage opens it: migrations run
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST_VERSION
        assert db.missing_triggers(conn) == []
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()
    assert _dump(path) == before
    # The v2 protection now holds on the upgraded file: a signed note can't be REPLACEd.
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="locked"):
        raw.execute("INSERT OR REPLACE INTO session SELECT * FROM session WHERE id = 1")
    raw.close()
    assert count_rows(path)["session"] == 1
    assert query(path, "SELECT status FROM session")[0]["status"] == "signed"


def test_every_protective_trigger_is_present_after_a_fresh_install(cli, db_path):
    cli("client", "list", "--all")
    names = {
        r["name"] for r in query(db_path, "SELECT name FROM sqlite_master WHERE type='trigger'")
    }
    assert set(migrations.PROTECTIVE_TRIGGERS) <= names
