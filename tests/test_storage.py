"""Storage guarantees (SPEC §8, notes-storage-and-security §1.5) on a database the CLI made.

Most checks go around Python on purpose (plain sqlite3), because the database itself must refuse
out-of-range values and edits of signed notes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from medmassage.errors import RuntimeProblem
from medmassage.store import db, migrations
from tests.conftest import count_rows, query


def raw(path: Path, foreign_keys: bool = True) -> sqlite3.Connection:
    """A plain sqlite3 connection: no medmassage code between the test and the file."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    if foreign_keys:
        conn.execute("PRAGMA foreign_keys = ON")
    return conn


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def log_session(cli, *extra: str) -> int:
    result = cli(
        "session", "log", "Jane", "--pre", "7", "--post", "4", "--date", "2026-11-20",
        "--technique", "myofascial-release=25", "--technique", "swedish=20",
        "--region", "neck", "-f", "json", *extra,
    )  # fmt: skip
    return json.loads(result.stdout)["session_id"]


@pytest.fixture
def signed(practice, db_path) -> int:
    """The id of a signed session of Jane's (case 1)."""
    session_id = log_session(practice, "--sign")
    status = query(db_path, "SELECT status FROM session WHERE id = ?", (session_id,))[0][0]
    assert status == "signed"
    return session_id


@pytest.fixture
def draft(practice, db_path) -> int:
    session_id = log_session(practice)
    assert query(db_path, "SELECT status FROM session WHERE id = ?", (session_id,))[0][0] == "draft"
    return session_id


@pytest.fixture
def umask_022():
    """A typical user's umask, so owner-only modes come from medmassage, not from the test run.

    (medmassage sets umask 077 in-process, and subprocesses inherit the umask.)
    """
    old = os.umask(0o022)
    yield
    os.umask(old)


# --- connection settings ------------------------------------------------------------------------


def test_connect_sets_pragmas_and_schema_version(practice, db_path):
    conn, notes = db.connect(db_path)
    try:
        assert notes == []

        def pragma(name: str):
            return conn.execute(f"PRAGMA {name}").fetchone()[0]

        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 2  # FULL
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == 5000
        assert pragma("secure_delete") == 1
        assert pragma("user_version") == migrations.LATEST_VERSION
        assert pragma("application_id") == migrations.APPLICATION_ID != 0
    finally:
        conn.close()


def test_every_table_is_strict(practice, db_path):
    conn = raw(db_path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        strict = {r["name"]: r["strict"] for r in conn.execute("PRAGMA table_list")}
    finally:
        conn.close()
    assert {"client", "care_case", "session", "session_cpt", "audit", "addendum"} <= set(tables)
    # The notes' search index is an FTS5 virtual table and its shadow tables, which SQLite
    # makes (never STRICT); it is derived from the notes, which are in STRICT tables.
    tables = [t for t in tables if t not in migrations.SEARCH_TABLES]
    assert {t: strict[t] for t in tables} == dict.fromkeys(tables, 1)


# --- CHECK constraints and foreign keys, with Python validation bypassed ------------------------

VALID_SESSION = {
    "case_id": 1,
    "date": "2026-11-20",
    "minutes": 45,
    "pain_pre": 7,
    "pain_post": 4,
    "regions": '["neck"]',
    "units_rule": "cms",
    "created": "2026-11-20T10:00:00+00:00",
}
VALID_CASE = {
    "client_id": 1,
    "payer_type": "health",
    "opened": "2026-11-01T10:00:00+00:00",
}
VALID_AUTHORIZATION = {
    "case_id": 1,
    "prescriber": "Dr Who",
    "written": "2026-11-01",
    "valid_from": "2026-11-01",
    "valid_until": "2026-12-31",
    "visits": 10,
    "created": "2026-11-01T10:00:00+00:00",
}
VALID_ROWS = {
    "session": VALID_SESSION,
    "care_case": VALID_CASE,
    "authorization": VALID_AUTHORIZATION,
}


def _insert(conn: sqlite3.Connection, table: str, values: dict) -> None:
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values()))


BAD_VALUES = [
    ("session", "pain_pre", 11),
    ("session", "pain_post", -1),
    ("session", "pain_pre", "seven"),  # STRICT: no text in an INTEGER column
    ("session", "pain_pre", 5.5),  # STRICT: no lossy REAL → INTEGER
    ("session", "date", "garbage"),
    ("session", "date", "2026-02-30"),
    ("session", "date", "2026-11-20 10:00"),
    ("session", "start_time", "25:00"),
    ("session", "minutes", 0),
    ("session", "minutes", 481),
    ("session", "case_id", 999),  # foreign key to a missing case
    ("session", "regions", "[]"),
    ("session", "status", "signed"),  # signed without signed_at
    ("care_case", "payer_type", "medicare"),
    ("care_case", "client_id", 999),  # foreign key to a missing client
    ("authorization", "valid_until", "2026-10-01"),  # before valid_from
    ("authorization", "visits", 0),
    ("authorization", "case_id", 999),  # foreign key to a missing case
]


def test_database_refuses_bad_values_without_python(practice, db_path):
    accepted = []
    conn = raw(db_path)
    try:
        for table, column, value in BAD_VALUES:
            valid = VALID_ROWS[table]
            conn.execute("BEGIN")
            _insert(conn, table, valid)  # the control row goes in: only `column` can fail
            try:
                _insert(conn, table, {**valid, column: value})
                accepted.append((table, column, value))
            except sqlite3.IntegrityError:
                pass
            conn.execute("ROLLBACK")
    finally:
        conn.close()
    assert accepted == []


# --- triggers: signed notes are locked, logs are append-only ---------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("UPDATE session SET pain_pre = 1 WHERE id = ?", id="update-pain"),
        pytest.param("UPDATE session SET subjective = 'edited' WHERE id = ?", id="update-note"),
        pytest.param("UPDATE session SET status = 'draft', signed_at = NULL WHERE id = ?", id="un"),
        pytest.param("DELETE FROM session WHERE id = ?", id="delete"),
    ],
)
def test_signed_session_cannot_be_changed_even_bypassing_python(signed, db_path, sql):
    before = [tuple(r) for r in query(db_path, "SELECT * FROM session")]
    conn = raw(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="locked"):
            conn.execute(sql, (signed,))
    finally:
        conn.close()
    assert [tuple(r) for r in query(db_path, "SELECT * FROM session")] == before


def test_signed_session_cannot_be_replaced_with_insert_or_replace(signed, db_path):
    """REPLACE deletes the old row without firing DELETE triggers (recursive_triggers is off)."""
    before = [tuple(r) for r in query(db_path, "SELECT * FROM session WHERE id = ?", (signed,))]
    conn = raw(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="locked"):
            conn.execute(
                "INSERT OR REPLACE INTO session (id, case_id, date, minutes, pain_pre, pain_post, "
                "regions, units_rule, status, signed_at, created) "
                "SELECT id, case_id, date, minutes, 0, 0, regions, units_rule, status, signed_at, "
                "created FROM session WHERE id = ?",
                (signed,),
            )
    finally:
        conn.close()
    assert [tuple(r) for r in query(db_path, "SELECT * FROM session WHERE id = ?", (signed,))] == (
        before
    )


def test_draft_session_can_be_updated(draft, db_path):
    conn = raw(db_path)
    try:
        conn.execute("UPDATE session SET subjective = 'better today' WHERE id = ?", (draft,))
    finally:
        conn.close()
    row = query(db_path, "SELECT subjective FROM session WHERE id = ?", (draft,))[0]
    assert row["subjective"] == "better today"


def test_void_keeps_the_row_and_every_other_column(practice, signed, db_path):
    before = dict(query(db_path, "SELECT * FROM session WHERE id = ?", (signed,))[0])
    practice("session", "void", str(signed), "--reason", "entered in error")
    after = dict(query(db_path, "SELECT * FROM session WHERE id = ?", (signed,))[0])
    assert after["status"] == "void"
    assert after["void_reason"] == "entered in error"
    assert after["voided_at"]
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"status", "void_reason", "voided_at"}
    # still in the table, with its lines, just not counted as a visit
    assert query(db_path, "SELECT count(*) FROM session_cpt WHERE session_id = ?", (signed,))[0][0]
    listed = practice("session", "list", "-f", "json").stdout
    assert '"void"' in listed


NEW_VALUES = {
    "id": 999,
    "case_id": None,  # a second case, made in the test
    "date": "2026-11-21",
    "start_time": "09:00",
    "minutes": 50,
    "pain_pre": 2,
    "pain_post": 1,
    "regions": '["upper-back"]',
    "subjective": "rewritten",
    "objective": "rewritten",
    "assessment": "rewritten",
    "plan": "rewritten",
    "homecare": "rewritten",
    "feedback": "rewritten",
    "units_rule": "ama",
    "logged_rx_flag": "expired",
    "logged_over_authorized": 1,
    "override_reason": "rewritten",
    "signed_at": "2026-11-21T10:00:00+00:00",
    "created": "2026-11-21T10:00:00+00:00",
}


def test_voiding_cannot_change_any_other_column(signed, db_path):
    assert set(NEW_VALUES) == set(migrations.SESSION_LOCKED_COLUMNS)
    let_through = []
    conn = raw(db_path)
    try:
        _insert(conn, "care_case", VALID_CASE)
        second_case = conn.execute("SELECT max(id) FROM care_case").fetchone()[0]
        _insert(conn, "authorization", {**VALID_AUTHORIZATION, "case_id": second_case})
        values = {**NEW_VALUES, "case_id": second_case}
        before = dict(conn.execute("SELECT * FROM session WHERE id = ?", (signed,)).fetchone())
        for column, value in values.items():
            assert before[column] != value, column  # each attempt is a real change
            try:
                conn.execute(
                    "UPDATE session SET status = 'void', void_reason = 'oops', voided_at = 'now', "
                    f"{column} = ? WHERE id = ?",
                    (value, signed),
                )
                let_through.append(column)
                break  # the row changed: the later checks would compare against a void row
            except sqlite3.DatabaseError as e:
                assert "locked" in str(e), (column, str(e))
        after = dict(conn.execute("SELECT * FROM session WHERE id = ?", (signed,)).fetchone())
        assert let_through == []
        assert after == before
        # the same void without another change is allowed: the trigger is not simply always on
        conn.execute(
            "UPDATE session SET status = 'void', void_reason = 'oops', voided_at = 'now' "
            "WHERE id = ?",
            (signed,),
        )
    finally:
        conn.close()


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("UPDATE session SET status = 'signed' WHERE id = ?", id="unvoid"),
        pytest.param("UPDATE session SET void_reason = 'another reason' WHERE id = ?", id="reason"),
        pytest.param("DELETE FROM session WHERE id = ?", id="delete"),
    ],
)
def test_voided_session_stays_as_voided(practice, signed, db_path, sql):
    practice("session", "void", str(signed), "--reason", "wrong client")
    conn = raw(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="locked"):
            conn.execute(sql, (signed,))
    finally:
        conn.close()
    row = query(db_path, "SELECT status, void_reason FROM session WHERE id = ?", (signed,))[0]
    assert tuple(row) == ("void", "wrong client")


LINE_INSERTS = {
    "session_technique": "INSERT INTO session_technique (session_id, position, technique, cpt, "
    "minutes) VALUES (?, 9, 'stretching', '97110', 10)",
    "session_cpt": "INSERT INTO session_cpt (session_id, position, cpt, minutes, units) "
    "VALUES (?, 9, '97110', 10, 1)",
}


@pytest.mark.parametrize("table", ["session_technique", "session_cpt"])
@pytest.mark.parametrize("verb", ["insert", "update", "delete"])
def test_lines_of_a_signed_session_are_locked(signed, draft, db_path, table, verb):
    statement = {
        "insert": LINE_INSERTS[table],
        "update": f"UPDATE {table} SET minutes = 1 WHERE session_id = ?",
        "delete": f"DELETE FROM {table} WHERE session_id = ?",
    }[verb]
    conn = raw(db_path)
    try:
        before = [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
        with pytest.raises(sqlite3.DatabaseError, match="locked"):
            conn.execute(statement, (signed,))
        assert [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")] == before
        conn.execute("BEGIN")
        cursor = conn.execute(statement, (draft,))  # a draft's lines can still change
        assert cursor.rowcount >= 1
        conn.execute("ROLLBACK")
    finally:
        conn.close()


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("UPDATE audit SET actor = 'mallory'", id="audit-update"),
        pytest.param("DELETE FROM audit", id="audit-delete"),
        pytest.param(
            "INSERT OR REPLACE INTO audit (id, at, actor, action, entity, entity_id) "
            "SELECT id, at, 'mallory', action, entity, entity_id FROM audit WHERE id = 1",
            id="audit-replace",
        ),
        pytest.param("UPDATE addendum SET text = 'rewritten'", id="addendum-update"),
        pytest.param("DELETE FROM addendum", id="addendum-delete"),
        pytest.param(
            "INSERT OR REPLACE INTO addendum (id, session_id, text, author, created) "
            "SELECT id, session_id, 'rewritten', author, created FROM addendum WHERE id = 1",
            id="addendum-replace",
        ),
    ],
)
def test_audit_and_addenda_are_append_only(practice, signed, db_path, sql):
    practice("session", "amend", str(signed), "--text", "Added: client reported dizziness.")
    table = "audit" if "audit" in sql else "addendum"
    before = [tuple(r) for r in query(db_path, f"SELECT * FROM {table}")]
    assert before
    conn = raw(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)
    finally:
        conn.close()
    assert [tuple(r) for r in query(db_path, f"SELECT * FROM {table}")] == before


# --- the audit log ------------------------------------------------------------------------------


CASE_OPEN = (
    "case", "open", "Jane", "--payer", "health", "--dx", "M54.2", "--referrer", "Alan Brooks, DC",
    "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "12",
)  # fmt: skip
SESSION_LOG = (
    "session", "log", "Jane", "--pre", "7", "--post", "4", "--technique", "swedish=30",
    "--region", "neck",
)  # fmt: skip
INTAKE = ("intake", "Jane", "--complaint", "Jane Doe's neck", "--pain", "7", "--region", "neck")


def test_every_write_command_appends_audit_rows(cli, db_path):
    steps = [
        (  # the new database's shipped note templates and phrases (M011) come first
            ("profile", "set", "--name", "Dana", "--npi", "1234567893"),
            {("edit", "profile"), ("add", "template"), ("add", "phrase")},
        ),
        (("client", "add", "Jane Doe", "--dob", "1980-04-02"), {("add", "client")}),
        (CASE_OPEN, {("open", "case"), ("add", "authorization")}),
        (INTAKE, {("add", "intake"), ("add", "measure")}),
        (SESSION_LOG, {("log", "session")}),
        (("session", "sign", "1"), {("sign", "session")}),
        (("session", "amend", "1", "--text", "Jane Doe called back"), {("amend", "session")}),
        (("session", "void", "1", "--reason", "Jane Doe: wrong date"), {("void", "session")}),
        (("measure", "add", "Jane", "--nprs", "5", "--ndi", "30"), {("add", "measure")}),
        (
            ("client", "discharge", "Jane", "--reason", "goals met"),
            {("discharge", "client"), ("close", "case")},
        ),
    ]
    actor = db.actor()
    seen = 0
    for args, expected in steps:
        cli(*args)
        rows = query(db_path, "SELECT * FROM audit WHERE id > ? ORDER BY id", (seen,))
        assert {(r["action"], r["entity"]) for r in rows} == expected, args
        for r in rows:
            assert r["actor"] == actor and r["actor"]
            assert r["at"]
            assert isinstance(r["entity_id"], int)
            table = {"case": "care_case", "template": "note_template"}.get(r["entity"], r["entity"])
            target = query(db_path, f"SELECT id FROM {table} WHERE id = ?", (r["entity_id"],))
            assert len(target) == 1, dict(r)
        seen = rows[-1]["id"]
    # the audit log holds ids and verbs, never client data
    for row in query(db_path, "SELECT * FROM audit"):
        for value in tuple(row):
            assert "Jane" not in str(value)
            assert "Doe" not in str(value)


# --- file modes ---------------------------------------------------------------------------------


def test_new_database_file_and_folder_are_owner_only(umask_022, sh, tmp_path):
    folder = tmp_path / "new" / "place"
    path = folder / "practice.db"
    assert not folder.exists()
    done = sh("--db", str(path), "client", "add", "Jane Doe")
    assert done.returncode == 0, done.stderr
    assert mode(folder) == 0o700
    assert mode(path) == 0o600
    # keep a reader open so the -wal/-shm files stay, then write from another process
    reader = raw(path)
    try:
        reader.execute("SELECT count(*) FROM client").fetchone()
        done = sh("--db", str(path), "client", "add", "John Roe")
        assert done.returncode == 0, done.stderr
        side = [Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(p.exists() for p in side)
        assert {p.name: mode(p) for p in side} == {p.name: 0o600 for p in side}
    finally:
        reader.close()
    assert "warning" not in done.stderr


def test_world_readable_database_is_tightened_with_a_warning(umask_022, cli, db_path):
    cli("client", "add", "Jane Doe")
    reader = raw(db_path)  # keeps -wal and -shm in place
    try:
        reader.execute("SELECT count(*) FROM client").fetchone()
        files = [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")]
        for f in files:
            f.chmod(0o644)
        result = cli("client", "list")
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        reader.close()
    warnings = [ln for ln in result.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 3, result.stderr
    assert all("644" in w and "600" in w for w in warnings)
    assert "practice.db was readable by other users" in result.stderr


@pytest.mark.parametrize("existing", [False, True], ids=["new-file", "over-world-readable-file"])
def test_export_file_is_owner_only(umask_022, practice, tmp_path, existing):
    out = tmp_path / "exports" / "clients.json"
    out.parent.mkdir()
    if existing:
        out.write_text("old")
        out.chmod(0o644)
    practice("client", "list", "-o", str(out))
    assert mode(out) == 0o600
    assert "Jane Doe" in out.read_text()
    assert [p.name for p in out.parent.iterdir()] == ["clients.json"]  # no temp file left


# --- migrations ---------------------------------------------------------------------------------


def test_fresh_database_has_all_protective_triggers(cli, db_path):
    cli("client", "list")
    conn, _ = db.connect(db_path)
    try:
        assert db.missing_triggers(conn) == []
    finally:
        conn.close()
    assert len(migrations.PROTECTIVE_TRIGGERS) >= 12


def test_opening_a_migrated_database_runs_no_migration(practice, db_path, monkeypatch):
    schema = [tuple(r) for r in query(db_path, "SELECT type, name, sql FROM sqlite_master")]
    calls = []
    monkeypatch.setattr(db, "migrate", lambda conn: calls.append(conn) or [])
    conn, _ = db.connect(db_path)
    conn.close()
    practice("client", "list")
    assert calls == []
    assert [tuple(r) for r in query(db_path, "SELECT type, name, sql FROM sqlite_master")] == schema
    assert query(db_path, "PRAGMA user_version")[0][0] == migrations.LATEST_VERSION


def test_migrate_on_an_up_to_date_database_applies_nothing(practice, db_path):
    conn, _ = db.connect(db_path)
    try:
        assert db.migrate(conn) == []
        assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST_VERSION
    finally:
        conn.close()


def test_database_from_a_newer_version_is_refused(cli, db_path):
    cli("client", "add", "Jane Doe")
    newer = migrations.LATEST_VERSION + 1
    conn = raw(db_path)
    conn.execute(f"PRAGMA user_version = {newer}")
    conn.close()
    before = count_rows(db_path)
    result = cli("client", "add", "John Roe", ok=False)
    assert result.exit_code == 1
    line = result.stderr.rstrip("\n")
    assert line and "\n" not in line, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "newer" in line and str(newer) in line
    assert query(db_path, "PRAGMA user_version")[0][0] == newer
    assert count_rows(db_path) == before


BROKEN_MIGRATION = """
CREATE TABLE good_table (id INTEGER PRIMARY KEY) STRICT;
INSERT INTO no_such_table VALUES (1);
"""
TRIGGER_DROPPING_MIGRATION = """
CREATE TABLE good_table (id INTEGER PRIMARY KEY) STRICT;
DROP TRIGGER audit_no_delete;
"""


@pytest.mark.parametrize(
    "script", [BROKEN_MIGRATION, TRIGGER_DROPPING_MIGRATION], ids=["fails-halfway", "drops-trigger"]
)
def test_failing_migration_is_rolled_back_whole(cli, db_path, monkeypatch, script):
    cli("client", "add", "Jane Doe")
    nxt = migrations.LATEST_VERSION + 1
    patched = [*migrations.MIGRATIONS, (nxt, "m_next_test", script)]
    monkeypatch.setattr(migrations, "MIGRATIONS", patched)
    monkeypatch.setattr(db, "MIGRATIONS", patched)
    conn, _ = db.connect(db_path)
    try:
        with pytest.raises((sqlite3.Error, RuntimeProblem)):
            db.migrate(conn)
        assert not conn.in_transaction
        assert conn.execute("PRAGMA user_version").fetchone()[0] == nxt - 1
    finally:
        conn.close()
    tables = {r[0] for r in query(db_path, "SELECT name FROM sqlite_master")}
    assert "good_table" not in tables
    assert "audit_no_delete" in tables
    assert query(db_path, "SELECT count(*) FROM client")[0][0] == 1


def test_failing_migration_through_the_cli_exits_1_and_keeps_the_version(cli, db_path, monkeypatch):
    cli("client", "add", "Jane Doe")
    nxt = migrations.LATEST_VERSION + 1
    patched = [*migrations.MIGRATIONS, (nxt, "m_next_test", BROKEN_MIGRATION)]
    monkeypatch.setattr(db, "MIGRATIONS", patched)
    monkeypatch.setattr(db, "LATEST_VERSION", nxt)
    result = cli("client", "list", ok=False)
    assert result.exit_code == 1
    line = result.stderr.rstrip("\n")
    assert line and "\n" not in line and "Traceback" not in line
    assert query(db_path, "PRAGMA user_version")[0][0] == nxt - 1
    assert "good_table" not in {r[0] for r in query(db_path, "SELECT name FROM sqlite_master")}


# --- transactions -------------------------------------------------------------------------------


def test_workers_comp_refusal_rolls_back_everything(practice, db_path):
    practice(
        "case", "open", "Jane", "--payer", "workers-comp", "--injury-date", "2026-09-01",
        "--dx", "M54.2", "--referrer", "Dr Who", "--rx-date", "2026-09-02",
        "--rx-until", "2026-10-31", "--visits", "6",
    )  # fmt: skip
    before = count_rows(db_path)
    result = practice(
        "session", "log", "Jane", "--case", "2", "--pre", "6", "--post", "3",
        "--technique", "swedish=30", "--region", "neck", ok=False,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "2026-10-31" in result.stderr and "--allow-expired" in result.stderr
    assert count_rows(db_path) == before
    assert query(db_path, "SELECT count(*) FROM session WHERE case_id = 2")[0][0] == 0


def test_error_inside_transaction_rolls_back_earlier_writes(practice, db_path):
    before = count_rows(db_path)
    conn, _ = db.connect(db_path)
    try:
        with pytest.raises(RuntimeProblem), db.transaction(conn):
            client_id = db.insert(conn, "client", {"name": "Temp", "created": "now"})
            db.audit(conn, "add", "client", client_id)
            assert conn.execute("SELECT count(*) FROM client").fetchone()[0] == 2
            raise RuntimeProblem("simulated failure after two writes")
        assert not conn.in_transaction
    finally:
        conn.close()
    assert count_rows(db_path) == before


CONCURRENT_LOGGER = """
import sys
from medmassage.cli import app

codes = []
for i in range(10):
    code = app(
        ["--db", sys.argv[1], "session", "log", "Jane", "--pre", "6", "--post", "3",
         "--technique", "swedish=30", "--region", "neck", "--date", "2026-11-2" + str(i % 7)],
        standalone_mode=False,
    )
    codes.append(code or 0)
print("exit codes:", codes)
"""


def test_two_processes_logging_at_once_both_succeed(practice, db_path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_LOGGER, str(db_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert out.strip().splitlines()[-1] == f"exit codes: {[0] * 10}", err
        assert "locked" not in err and "busy" not in err
        assert "Traceback" not in err
    assert query(db_path, "SELECT count(*) FROM session")[0][0] == 20
    assert query(db_path, "SELECT count(*) FROM audit WHERE action = 'log'")[0][0] == 20
    assert query(db_path, "PRAGMA integrity_check")[0][0] == "ok"


def test_output_never_replaces_a_database_and_needs_a_file_name(practice, db_path, tmp_path):
    """`-o practice.db` would swap the practice for a report: refused, the database intact."""
    from tests.conftest import count_rows

    before = count_rows(db_path)
    other = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    for target, why in (
        (db_path, "is the practice database itself"),  # known by stat(), never opened
        (Path(f"{db_path}-wal"), "is the practice database itself"),
        (other, "is a SQLite database; choose another file name"),
    ):
        result = practice("progress", "Jane", "-f", "json", "-o", str(target), ok=False)
        assert result.exit_code == 2
        assert result.stderr.strip().endswith(why), result.stderr
    assert count_rows(db_path) == before
    result = practice("client", "list", "-f", "json", "-o", "/", ok=False)
    assert (result.exit_code, result.stderr.strip()) == (
        2, "error: output: '/' — give a file name"
    )  # fmt: skip
