"""Upgrading from every earlier schema version keeps the data and the protections (SPEC §8)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from medmassage.store import audit, db, migrations
from tests.conftest import Cli, count_rows, query


@pytest.fixture(autouse=True)
def config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Audit keys go to a temp folder, never to the real config folder."""
    folder = tmp_path / "config" / "medmassage"
    monkeypatch.setenv("MEDMASSAGE_CONFIG_DIR", str(folder))
    return folder


EARLIER = [
    version for version, _, _ in migrations.MIGRATIONS if version < migrations.LATEST_VERSION
]
# The audit rows M011 chains for the shipped note templates and phrases it inserts.
SEEDED_ROWS = "SELECT count(*) FROM audit WHERE action = 'add' AND entity IN ('template', 'phrase')"


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


# Rows as an older medmassage wrote them, in SQL every schema version accepts (a fixture that does
# not depend on today's code, which may need columns the old schema lacks).
V1_ROWS = """
INSERT INTO profile (id, name, credentials, license_number, npi, updated)
    VALUES (1, 'Dana Whitfield', 'LMT', 'MA60512345', '1234567893', '2026-11-01T09:00:00+00:00');
INSERT INTO fee (cpt, cents) VALUES ('97124', 3800);
INSERT INTO client (id, name, dob, created)
    VALUES (1, 'Jane Doe', '1980-04-02', '2026-11-01T09:00:00+00:00');
INSERT INTO care_case
    (id, client_id, payer_type, referrer, rx_date, rx_until, visits_authorized, opened)
    VALUES (1, 1, 'health', 'Dr A', '2026-11-01', '2026-12-31', 12, '2026-11-01T09:00:00+00:00');
INSERT INTO diagnosis (case_id, position, code, description) VALUES (1, 1, 'M54.2', 'Cervicalgia');
INSERT INTO intake (id, case_id, date, complaint, regions, pain, created)
    VALUES (1, 1, '2026-11-02', 'Neck pain', '["neck"]', 7, '2026-11-02T09:00:00+00:00');
INSERT INTO goal (id, case_id, text, created)
    VALUES (1, 1, 'Turn head', '2026-11-02T09:00:00+00:00');
INSERT INTO measure (id, case_id, date, kind, score, created)
    VALUES (1, 1, '2026-11-02', 'nprs', 7, '2026-11-02T09:00:00+00:00');
INSERT INTO session (id, case_id, date, minutes, pain_pre, pain_post, regions, units_rule, created)
    VALUES (1, 1, '2026-11-20', 30, 6, 3, '["neck"]', 'cms', '2026-11-20T10:00:00+00:00');
INSERT INTO session_technique (session_id, position, technique, cpt, minutes)
    VALUES (1, 1, 'swedish', '97124', 30);
INSERT INTO session_cpt (session_id, position, cpt, minutes, units) VALUES (1, 1, '97124', 30, 2);
UPDATE session SET status = 'signed', signed_at = '2026-11-20T11:00:00+00:00' WHERE id = 1;
INSERT INTO addendum (id, session_id, text, author, created)
    VALUES (1, 1, 'late entry', 'dana', '2026-11-21T09:00:00+00:00');
INSERT INTO progress_report (id, case_id, written, period_from, period_to, created)
    VALUES (1, 1, '2026-11-20', '2026-11-02', '2026-11-20', '2026-11-20T12:00:00+00:00');
INSERT INTO audit (id, at, actor, action, entity, entity_id)
    VALUES (1, '2026-11-20T10:00:00+00:00', 'dana', 'log', 'session', 1);
"""

# The same rows as a medmassage at schema 6 wrote them: the prescription is the case's first
# authorization (M006 moved it there).
_V1_CASE = (
    "INSERT INTO care_case\n"
    "    (id, client_id, payer_type, referrer, rx_date, rx_until, visits_authorized, opened)\n"
    "    VALUES (1, 1, 'health', 'Dr A', '2026-11-01', '2026-12-31', 12, "
    "'2026-11-01T09:00:00+00:00');"
)
_V6_CASE = """INSERT INTO care_case (id, client_id, payer_type, opened)
    VALUES (1, 1, 'health', '2026-11-01T09:00:00+00:00');
INSERT INTO authorization
    (id, case_id, prescriber, written, valid_from, valid_until, visits, created)
    VALUES (1, 1, 'Dr A', '2026-11-01', '2026-11-01', '2026-12-31', 12,
            '2026-11-01T09:00:00+00:00');"""
V6_ROWS = V1_ROWS.replace(_V1_CASE, _V6_CASE)
assert V6_ROWS != V1_ROWS


def rows_for(version: int) -> str:
    return V6_ROWS if version >= 6 else V1_ROWS


def _dump(path: Path, columns: dict[str, list[str]] | None = None):
    """Every row of every table; with `columns`, only those columns (an upgrade may add some)."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            if r[0] not in migrations.SEARCH_TABLES  # derived from the notes (M010)
        ]
        names = columns or {
            t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables
        }
        rows = {
            t: conn.execute(f"SELECT {', '.join(names[t])} FROM {t} ORDER BY rowid").fetchall()
            for t in names
        }
        return rows, names
    finally:
        conn.close()


# M006 moved the prescription columns of care_case into `authorization` (a case's first
# authorization) and renamed two session columns; every other column is kept as it was.
_MOVED = {
    "referrer": "prescriber",
    "referrer_npi": "prescriber_npi",
    "rx_date": "written",
    "rx_until": "valid_until",
    "visits_authorized": "visits",
    "frequency": "frequency",
    "areas_ordered": "areas_ordered",
}


def _assert_kept_through_m006(
    path: Path, before: dict[str, list], columns: dict[str, list[str]]
) -> None:
    """Every row and value of an older database is in the upgraded one: the same, renamed
    (session), or moved to each case's first authorization (care_case's prescription)."""
    renamed = migrations.M006_RENAMED_SESSION_COLUMNS
    kept = {
        table: [c for c in names if not (table == "care_case" and c in _MOVED)]
        for table, names in columns.items()
    }
    now = {t: [renamed.get(c, c) if t == "session" else c for c in kept[t]] for t in kept}
    after = _dump(path, now)[0]
    for table, names in kept.items():
        index = [columns[table].index(c) for c in names]
        expected = [tuple(row[i] for i in index) for row in before[table]]
        if table in ("audit", "audit_chain"):  # M007 appends a baseline digest per record
            assert after[table][: len(expected)] == expected, table
        else:
            assert after[table] == expected, table
    if "rx_date" not in columns["care_case"]:  # schema 6 or later: nothing moved
        return
    old_cases = [dict(zip(columns["care_case"], row, strict=True)) for row in before["care_case"]]
    moved = query(
        path,
        f"SELECT case_id, valid_from, {', '.join(_MOVED.values())} FROM authorization ORDER BY id",
    )
    assert [tuple(r) for r in moved] == [
        (c["id"], c["rx_date"], *(c[old] for old in _MOVED)) for c in old_cases
    ]


# Versions before the audit chain (M004): their audit rows are plain SQL fixtures, chained when
# upgraded. A v4+ database is filled by the medmassage of that version (see the test below).
BEFORE_CHAIN = [v for v in EARLIER if v < 4]


@pytest.mark.parametrize("version", BEFORE_CHAIN, ids=lambda v: f"from-v{v}")
def test_upgrade_keeps_every_row_and_adds_the_protections(tmp_path, version):
    path = tmp_path / "old.db"
    _database_at(path, version)
    raw = sqlite3.connect(path)
    raw.executescript(V1_ROWS)
    raw.close()
    before, columns = _dump(path)
    assert all(before[t] for t in ("session", "addendum", "progress_report", "audit"))

    conn, _ = db.connect(path)  # the current medmassage opens it: migrations run
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST_VERSION
        assert db.missing_triggers(conn) == []
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # The old audit row is chained, under this practice's new key (outside the file),
        # then M007 chains a baseline digest of every record (SPEC §13).
        chained = conn.execute("SELECT audit_id, key_id FROM audit_chain").fetchall()
        key = audit.read_key(audit.key_path(audit.practice_id(conn)))
        assert tuple(chained[0]) == (1, key.key_id)
        assert all(r[1] is None for r in chained[1:])
        baseline = conn.execute(
            "SELECT entity, count(*) FROM audit WHERE action = 'baseline' GROUP BY entity"
        ).fetchall()
        # The case twice: M007's baseline and M012's (its new claim columns change its digest).
        assert dict(map(tuple, baseline)) == {
            "client": 1, "case": 2, "authorization": 1, "session": 1, "progress_report": 1,
        } | {e: n for e, n in map(tuple, baseline) if e not in (
            "client", "case", "authorization", "session", "progress_report")}  # fmt: skip
        seeded = conn.execute(SEEDED_ROWS).fetchone()[0]  # M011's shipped templates, phrases
        assert len(chained) == 1 + sum(n for _, n in baseline) + seeded
        assert audit.verify(conn).detail.startswith(f"ok ({len(chained)} rows verified")
    finally:
        conn.close()
    _assert_kept_through_m006(path, before, columns)
    # The protections now hold on the upgraded file.
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="locked"):
        raw.execute("INSERT OR REPLACE INTO session SELECT * FROM session WHERE id = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM progress_report")
    raw.close()
    assert count_rows(path)["session"] == 1
    assert query(path, "SELECT status FROM session")[0]["status"] == "signed"
    # And today's commands work on it: the old report counts, the new one is recorded.
    cli = Cli(path)
    progress = json.loads(cli("progress", "Jane", "-f", "json").stdout)["progress_report"]
    assert (
        progress["counted_from"] == "2026-11-20" and progress["counted_from_kind"] == "last report"
    )
    cli("session", "log", "Jane", "--pre", "5", "--post", "2", "--technique", "swedish=30",
        "--region", "neck", "--date", "2026-11-25", "--sign")  # fmt: skip
    cli("summary", "Jane", "-f", "json", "-o", str(tmp_path / "s.json"))
    assert count_rows(path)["progress_report"] == 2
    check = cli("db", "check")
    assert all(line.split(": ", 1)[1].startswith("ok") for line in check.stdout.splitlines())
    assert f"audit chain: ok ({count_rows(path)['audit']} rows verified" in check.stdout


@pytest.mark.parametrize("version", BEFORE_CHAIN, ids=lambda v: f"from-v{v}")
def test_upgrade_chains_a_long_old_audit_log_in_order(tmp_path, version):
    path = tmp_path / "old.db"
    _database_at(path, version)
    raw = sqlite3.connect(path)
    raw.executescript(V1_ROWS)
    raw.executemany(
        "INSERT INTO audit (at, actor, action, entity, entity_id) VALUES (?, 'dana', ?, ?, ?)",
        [
            (f"2026-11-{1 + i % 27:02d}T10:00:00+00:00", ("log", "sign")[i % 2], "session", i)
            for i in range(2, 1501)
        ],
    )
    raw.commit()
    raw.close()
    before = _dump(path)[0]["audit"]

    cli = Cli(path)
    result = cli("db", "check")
    baseline = query(path, "SELECT count(*) FROM audit WHERE action = 'baseline'")[0][0]
    baseline += query(path, SEEDED_ROWS)[0][0]  # M011's shipped templates and phrases
    assert f"audit chain: ok ({1500 + baseline} rows verified" in result.stdout
    assert _dump(path)[0]["audit"][:1500] == before  # the old rows as they were, then M007's
    chain = query(path, "SELECT audit_id, key_id IS NOT NULL FROM audit_chain ORDER BY audit_id")
    assert [tuple(r) for r in chain] == [(i, int(i == 1)) for i in range(1, 1501 + baseline)]
    # An old row edited after the upgrade (the trigger dropped and put back) is found.
    raw = sqlite3.connect(path)
    trigger = raw.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_no_update'")
    definition = trigger.fetchone()[0]
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("UPDATE audit SET actor = 'mallory' WHERE id = 700")
    raw.execute(definition)
    raw.commit()
    raw.close()
    assert cli("db", "check", ok=False).stderr.strip() == (
        "error: audit chain: row 700 does not match (edited or inserted outside medmassage)"
    )


def test_upgrade_without_a_place_for_the_key_changes_nothing(tmp_path, monkeypatch):
    """The old rows cannot be chained without a key: the migration is refused whole (version and
    rows as they were, with a message naming the fix), never half-done with unchained rows."""
    path = tmp_path / "old.db"
    _database_at(path, 3)
    raw = sqlite3.connect(path)
    raw.executescript(V1_ROWS)
    raw.close()
    before = _dump(path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("MEDMASSAGE_CONFIG_DIR", str(blocker / "medmassage"))
    result = Cli(path)("client", "list", ok=False)
    assert result.exit_code == 1
    assert "cannot create the audit key" in result.stderr
    assert "MEDMASSAGE_CONFIG_DIR" in result.stderr
    assert query(path, "PRAGMA user_version")[0][0] == 3
    assert _dump(path) == before


def test_every_protective_trigger_is_present_after_a_fresh_install(cli, db_path):
    cli("client", "list", "--all")
    names = {
        r["name"] for r in query(db_path, "SELECT name FROM sqlite_master WHERE type='trigger'")
    }
    assert set(migrations.PROTECTIVE_TRIGGERS) <= names


@pytest.mark.parametrize("version", [v for v in EARLIER if v >= 4], ids=lambda v: f"from-v{v}")
def test_a_chained_database_upgrades_with_rows_chain_and_check_intact(
    tmp_path, version, monkeypatch
):
    """A database at schema `version` with a live audit chain (migrations pinned there, its
    rows the SQL an older medmassage wrote, each audit row chained as it was then) upgrades to
    the latest with every row kept, the chain verified and `db check` ok; today's commands
    work on it."""
    path = tmp_path / "old.db"
    older = [m for m in migrations.MIGRATIONS if m[0] <= version]
    monkeypatch.setattr(db, "MIGRATIONS", older)
    monkeypatch.setattr(db, "LATEST_VERSION", version)
    monkeypatch.setattr(migrations, "LATEST_VERSION", version)
    conn, _ = db.connect(path)
    try:
        with db.transaction(conn):
            for statement in db._statements(rows_for(version).split("INSERT INTO audit")[0]):
                conn.execute(statement)
            for action, entity, entity_id in (
                ("add", "client", 1),
                ("open", "case", 1),
                ("log", "session", 1),
                ("sign", "session", 1),
                ("amend", "session", 1),
            ):
                audit.append(conn, "2026-11-20T10:00:00+00:00", "dana", action, entity, entity_id)
            if version >= 7:  # that medmassage chained every record's content digest (M007)
                from medmassage.store import digests as records

                records.record_all(conn, "2026-11-20T10:00:00+00:00", "dana")
    finally:
        conn.close()
    assert query(path, "PRAGMA user_version")[0][0] == version
    before, columns = _dump(path)
    # Back to today's medmassage (not monkeypatch.undo(): that would also undo the test's
    # isolated HOME and key folder).
    monkeypatch.setattr(db, "MIGRATIONS", migrations.MIGRATIONS)
    monkeypatch.setattr(db, "LATEST_VERSION", migrations.MIGRATIONS[-1][0])
    monkeypatch.setattr(migrations, "LATEST_VERSION", migrations.MIGRATIONS[-1][0])
    cli = Cli(path)
    check = cli("db", "check")  # migrates on open, then checks
    baseline = query(path, "SELECT count(*) FROM audit WHERE action = 'baseline'")[0][0]
    assert baseline >= 4  # M007: client, case, authorization, session, …
    baseline += query(path, SEEDED_ROWS)[0][0]  # M011's shipped templates and phrases
    assert f"audit chain: ok ({5 + baseline} rows verified" in check.stdout
    assert query(path, "PRAGMA user_version")[0][0] == migrations.LATEST_VERSION
    _assert_kept_through_m006(path, before, columns)
    # Today's commands on the upgraded case: a renewal, a visit under it, the chain still ok.
    cli("case", "renew", "1", "--rx-date", "2026-11-25", "--rx-until", "2027-01-31",
        "--visits", "6")  # fmt: skip
    cli("session", "log", "Jane", "--pre", "5", "--post", "2", "--technique", "swedish=30",
        "--region", "neck", "--date", "2026-11-26")  # fmt: skip
    visits = json.loads(cli("progress", "Jane", "-f", "json").stdout)["visits"]
    assert [(v["visit"], v["authorization_id"]) for v in visits] == [(1, 1), (2, 2)]
    assert cli("db", "check").exit_code == 0


def test_a_rebuild_that_would_break_a_foreign_key_is_refused_whole(tmp_path, monkeypatch):
    """Rebuilding migrations run with foreign keys off; one that would leave a row without its
    parent is refused whole (version and rows as they were). A broken key already there
    (another tool, foreign keys off) does not block the upgrade: db check reports it."""
    path = tmp_path / "old.db"
    _database_at(path, 5)
    raw = sqlite3.connect(path)
    raw.executescript(V1_ROWS)
    raw.execute(
        "INSERT INTO goal (id, case_id, text, created) VALUES (9, 99, 'orphan', '2026-11-01')"
    )  # foreign keys are off in a raw connection: an orphan left by another tool
    raw.commit()
    raw.close()
    before = _dump(path)
    careless = migrations.M006_AUTHORIZATIONS.replace(  # a case left out of the copy
        "FROM care_case ORDER BY id;\nDROP TABLE care_case;",
        "FROM care_case WHERE id != 1 ORDER BY id;\nDROP TABLE care_case;",
    )
    assert careless != migrations.M006_AUTHORIZATIONS
    patched = [*migrations.MIGRATIONS[:5], (6, "m006_authorizations", careless)]
    monkeypatch.setattr(db, "MIGRATIONS", patched)
    result = Cli(path)("client", "list", ok=False)
    assert result.exit_code == 1
    assert "m006_authorizations would break a foreign key" in result.stderr
    assert query(path, "PRAGMA user_version")[0][0] == 5
    assert _dump(path) == before

    monkeypatch.setattr(db, "MIGRATIONS", migrations.MIGRATIONS)
    cli = Cli(path)
    cli("client", "list")  # the real migration goes through, the old orphan kept as it was
    assert query(path, "PRAGMA user_version")[0][0] == migrations.LATEST_VERSION
    assert query(path, "SELECT case_id FROM goal WHERE id = 9")[0][0] == 99
    check = cli("db", "check", ok=False)
    assert check.exit_code == 1 and "foreign" in check.stderr.lower()


def _chained_v8(path: Path, monkeypatch: pytest.MonkeyPatch, rows: str) -> None:
    """A database at schema 8 with its rows and audit chain as that medmassage left them."""
    older = [m for m in migrations.MIGRATIONS if m[0] <= 8]
    monkeypatch.setattr(db, "MIGRATIONS", older)
    monkeypatch.setattr(db, "LATEST_VERSION", 8)
    monkeypatch.setattr(migrations, "LATEST_VERSION", 8)
    conn, _ = db.connect(path)
    try:
        with db.transaction(conn):
            for statement in db._statements(rows):
                conn.execute(statement)
            audit.append(conn, "2026-11-20T10:00:00+00:00", "dana", "add", "client", 1)
            from medmassage.store import digests as records

            records.record_all(conn, "2026-11-20T10:00:00+00:00", "dana")
    finally:
        conn.close()
    monkeypatch.setattr(db, "MIGRATIONS", migrations.MIGRATIONS)
    monkeypatch.setattr(db, "LATEST_VERSION", migrations.MIGRATIONS[-1][0])
    monkeypatch.setattr(migrations, "LATEST_VERSION", migrations.MIGRATIONS[-1][0])


def _profile_baselines(path: Path) -> int:
    return query(
        path, "SELECT count(*) FROM audit WHERE action = 'baseline' AND entity = 'profile'"
    )[0][0]


def test_m009_adds_the_time_zone_and_chains_the_profiles_new_digest(tmp_path, monkeypatch):
    """The new column changes the profile's content digest: M009 chains it again, so `db check`
    still finds the profile as medmassage wrote it; the zone stays unset until `profile set`."""
    path = tmp_path / "v8.db"
    _chained_v8(path, monkeypatch, rows_for(8).split("INSERT INTO audit")[0])
    assert query(path, "PRAGMA user_version")[0][0] == 8
    assert _profile_baselines(path) == 1  # M007's, chained by that medmassage
    before = [tuple(r) for r in query(path, "SELECT * FROM profile")]

    cli = Cli(path)
    check = cli("db", "check")  # migrates on open, then checks
    assert all(line.split(": ", 1)[1].startswith("ok") for line in check.stdout.splitlines())
    assert query(path, "PRAGMA user_version")[0][0] == migrations.LATEST_VERSION
    assert _profile_baselines(path) == 3  # M009's, then M012's (its claim columns)
    after = query(path, "SELECT * FROM profile")
    # every old value kept, time_zone added (M012's claim columns come after it)
    assert [tuple(r)[: len(before[0])] for r in after] == before
    assert after[0]["time_zone"] is None
    # The column holds a zone name, nothing longer.
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        raw.execute("UPDATE profile SET time_zone = ?", ("x" * 65,))
    raw.close()
    # The next `profile set` stores the zone; the chain and the digests still agree.
    cli("profile", "set", "--time-zone", "America/Chicago")
    assert query(path, "SELECT time_zone FROM profile")[0][0] == "America/Chicago"
    assert cli("db", "check").exit_code == 0


def test_m009_chains_nothing_for_a_practice_without_a_profile(tmp_path, monkeypatch):
    path = tmp_path / "v8.db"
    rows = rows_for(8).split("INSERT INTO audit")[0]
    profile_rows = ("INSERT INTO profile", "    VALUES (1, 'Dana", "INSERT INTO fee")
    rows = "\n".join(line for line in rows.splitlines() if not line.startswith(profile_rows))
    _chained_v8(path, monkeypatch, rows)
    assert query(path, "SELECT count(*) FROM profile")[0][0] == 0
    audit_rows = query(path, "SELECT count(*) FROM audit")[0][0]
    cli = Cli(path)
    assert cli("db", "check").exit_code == 0
    assert query(path, "PRAGMA user_version")[0][0] == migrations.LATEST_VERSION
    seeded = query(path, SEEDED_ROWS)[0][0]  # M011's shipped templates and phrases, no profile
    cases = query(path, "SELECT count(*) FROM care_case")[0][0]  # M012's case baselines
    assert query(path, "SELECT count(*) FROM audit")[0][0] == audit_rows + seeded + cases
