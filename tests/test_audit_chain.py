"""The tamper-evident audit log and `db check` (SPEC §8; medmassage/store/audit.py has the design).

Everything goes through the real CLI on real files. Tampering is done the way an attacker holding
only the database would: plain sqlite3, triggers dropped and put back, and no key.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmassage.store import audit, migrations
from tests.conftest import Cli, query

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes and folders")

CHECK_NAMES = [
    "integrity_check",
    "foreign_key_check",
    "schema version",
    "protective triggers",
    "file modes",
    "audit chain",
    "record contents",
    "audit anchor",
    "search index",
]


@pytest.fixture(autouse=True)
def config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Keys go to a temp folder, never to the real config folder."""
    folder = tmp_path / "config" / "medmassage"
    monkeypatch.setenv("MEDMASSAGE_CONFIG_DIR", str(folder))
    return folder


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def raw(path: Path, foreign_keys: bool = True) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    return conn


def tamper(path: Path, *sql: str, triggers: tuple[str, ...] = (), foreign_keys: bool = True):
    """Drop `triggers`, run `sql`, put the triggers back: what someone holding the file can do."""
    conn = raw(path, foreign_keys)
    try:
        saved = [
            conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (t,)).fetchone()[0]
            for t in triggers
        ]
        conn.execute("BEGIN")
        for t in triggers:
            conn.execute(f"DROP TRIGGER {t}")
        for statement in sql:
            conn.execute(statement)
        for definition in saved:
            conn.execute(definition)
        conn.execute("COMMIT")
    finally:
        conn.close()


def check(cli: Cli, *extra: str):
    return cli("db", "check", *extra, ok=False)


def lines(result) -> dict[str, str]:
    out = {}
    for line in result.stdout.splitlines():
        name, _, detail = line.partition(": ")
        out[name] = detail
    return out


def assert_ok(cli: Cli) -> dict[str, str]:
    result = check(cli)
    assert result.exit_code == 0, result.stdout + result.stderr
    found = lines(result)
    assert list(found) == CHECK_NAMES
    assert all(d.startswith("ok") for d in found.values()), result.stdout
    return found


def assert_problem(cli: Cli, name: str, detail: str) -> dict[str, str]:
    """Exit 1, the check's line says `detail`, and stderr names it as the first problem."""
    result = check(cli)
    assert result.exit_code == 1, result.stdout + result.stderr
    found = lines(result)
    assert found[name] == detail, result.stdout
    assert result.stderr.strip() == f"error: {name}: {detail}", result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return found


def practice_uuid(db: Path) -> str:
    return query(db, "SELECT practice_uuid FROM practice_meta")[0][0]


def key_file(db: Path) -> Path:
    return audit.key_path(practice_uuid(db))


def audit_count(db: Path) -> int:
    return query(db, "SELECT count(*) FROM audit")[0][0]


CASE_OPEN = (
    "case", "open", "John", "--payer", "health", "--dx", "M54.2", "--referrer", "Dr Ames",
    "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "8",
)  # fmt: skip


def log(cli: Cli, who: str = "Jane", *extra: str) -> int:
    result = cli(
        "session", "log", who, "--pre", "6", "--post", "3", "--technique", "swedish=30",
        "--region", "neck", "--date", "2026-11-20", "-f", "json", *extra,
    )  # fmt: skip
    return json.loads(result.stdout)["session_id"]


@pytest.fixture
def busy(practice: Cli, db_path: Path, tmp_path: Path) -> Cli:
    """The practice after a day of work: every kind of write command, about 20 audit rows."""
    practice("client", "add", "John Roe", "--dob", "1975-06-01")
    practice(*CASE_OPEN)
    first = log(practice)
    practice("session", "sign", str(first))
    practice("session", "amend", str(first), "--text", "Added: client reported dizziness.")
    second = log(practice, "John", "--sign")
    practice("session", "void", str(second), "--reason", "entered in error")
    log(practice, "Jane", "--sign")
    practice("measure", "add", "Jane", "--nprs", "4")
    practice("summary", "Jane", "-f", "json", "-o", str(tmp_path / "summary.json"))
    assert audit_count(db_path) >= 12
    return practice


# --- a healthy database ----------------------------------------------------------------------


def test_fresh_database_checks_ok(cli, db_path):
    cli("client", "list")
    result = check(cli)
    assert result.exit_code == 0, result.stderr
    # A new database holds the shipped note templates and phrases (M011), chained as added.
    shipped = audit_count(db_path)
    rows = query(db_path, "SELECT id FROM note_template UNION ALL SELECT id FROM phrase")
    assert shipped == len(rows) > 0
    lines = result.stdout.splitlines()
    assert lines[7].startswith(f"audit anchor: ok (holds anchored row {shipped} of ")
    assert lines[:7] + lines[8:] == [
        "integrity_check: ok",
        "foreign_key_check: ok",
        f"schema version: ok ({migrations.LATEST_VERSION})",
        "protective triggers: ok",
        "file modes: ok (database and audit key owner-only)",
        f"audit chain: ok ({shipped} rows verified; key {key_file(db_path)})",
        f"record contents: ok ({shipped} records match their audit log)",
        "search index: ok (0 sessions indexed, in step with the notes)",
    ]
    assert result.stderr == ""


def test_after_a_day_of_commands_every_row_is_chained_and_checks_ok(busy, db_path):
    found = assert_ok(busy)
    rows = audit_count(db_path)
    assert found["audit chain"] == f"ok ({rows} rows verified; key {key_file(db_path)})"
    assert found["file modes"] == "ok (database and audit key owner-only)"
    chain = query(db_path, "SELECT audit_id, hash, key_id FROM audit_chain ORDER BY audit_id")
    assert [r[0] for r in chain] == [r[0] for r in query(db_path, "SELECT id FROM audit")]
    # one key segment, started on the first row; every hash distinct hex
    assert [r[2] is not None for r in chain] == [True] + [False] * (rows - 1)
    assert len({r[1] for r in chain}) == rows
    assert all(re.fullmatch("[0-9a-f]{64}", r[1]) for r in chain)


def test_json_format(busy, db_path):
    result = busy("db", "check", "-f", "json")
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert [c["name"] for c in data["checks"]] == CHECK_NAMES
    assert all(set(c) == {"name", "ok", "detail", "warning"} for c in data["checks"])
    assert all(c["ok"] and not c["warning"] for c in data["checks"])


def test_unknown_format_is_refused(cli, db_path):
    cli("client", "list")
    result = cli("db", "check", "-f", "xml", ok=False)
    assert result.exit_code == 2
    assert "format" in result.stderr and "text, json" in result.stderr


def test_a_missing_database_is_reported_not_created(cli, db_path):
    result = check(cli)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: no database at {db_path} (see: medmassage db path)"
    assert not db_path.exists()


def test_the_key_is_owner_only_and_outside_the_database(umask_022, sh, tmp_path, config_dir):
    db = tmp_path / "p" / "practice.db"
    done = sh("--db", str(db), "client", "add", "Jane Doe")
    assert done.returncode == 0, done.stderr
    key = key_file(db)
    assert key.parent == config_dir / "keys"
    assert mode(key) == 0o600
    assert mode(key.parent) == 0o700
    assert mode(config_dir) == 0o700
    secret = key.read_text()
    assert re.fullmatch("[0-9a-f]{64}\n", secret)
    # the database holds the key id, never the key
    assert bytes.fromhex(secret.strip()) not in db.read_bytes()
    assert secret.strip().encode() not in db.read_bytes()
    # Beside it, the anchor (the chain's head, owner-only too); no temp file left.
    found = sorted(p.name for p in key.parent.iterdir())
    anchors = [n for n in found if n.endswith(".anchor")]
    assert found == sorted([key.name, *anchors]) and len(anchors) == 1
    anchor = key.parent / anchors[0]
    assert mode(anchor) == 0o600
    assert json.loads(anchor.read_text())["database"] == os.path.realpath(db)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_two_processes_writing_at_once_keep_one_chain(practice, db_path):
    script = (
        "import sys\nfrom medmassage.cli import app\n"
        "for i in range(8):\n"
        "    app(['--db', sys.argv[1], 'session', 'log', 'Jane', '--pre', '6', '--post', '3',"
        " '--technique', 'swedish=30', '--region', 'neck', '--date', '2026-11-2' + str(i % 7)],"
        " standalone_mode=False)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(db_path)], stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert query(db_path, "SELECT count(*) FROM audit WHERE action = 'log'")[0][0] == 16
    assert_ok(practice)


# --- tampering, each case named ------------------------------------------------------------------


def test_an_edited_row_is_found(busy, db_path):
    tamper(
        db_path, "UPDATE audit SET actor = 'mallory' WHERE id = 5", triggers=("audit_no_update",)
    )
    assert query(db_path, "SELECT actor FROM audit WHERE id = 5")[0][0] == "mallory"
    found = assert_problem(
        busy, "audit chain", "row 5 does not match (edited or inserted outside medmassage)"
    )
    assert found["protective triggers"] == "ok"  # the triggers were put back: only the chain knows


@pytest.mark.parametrize(
    "column, value",
    [("at", "'2026-01-01T00:00:00+00:00'"), ("action", "'sign'"), ("entity_id", "99")],
)
def test_any_column_edited_is_found(busy, db_path, column, value):
    tamper(
        db_path, f"UPDATE audit SET {column} = {value} WHERE id = 3", triggers=("audit_no_update",)
    )
    assert_problem(
        busy, "audit chain", "row 3 does not match (edited or inserted outside medmassage)"
    )


def test_a_deleted_row_is_found(busy, db_path):
    tamper(
        db_path,
        "DELETE FROM audit_chain WHERE audit_id = 6",
        "DELETE FROM audit WHERE id = 6",
        triggers=("audit_no_delete", "audit_chain_no_delete"),
    )
    assert_problem(
        busy,
        "audit chain",
        "row 7 does not match: row 6 is missing (deleted outside medmassage)",
    )


def test_a_deleted_row_whose_chain_entry_remains_is_found(busy, db_path):
    tamper(db_path, "DELETE FROM audit WHERE id = 6", triggers=("audit_no_delete",),
           foreign_keys=False)  # fmt: skip
    found = assert_problem(
        busy,
        "foreign_key_check",
        "audit_chain row 6 points to a missing audit row",
    )
    assert found["audit chain"] == "row 6 was deleted (its chain entry is still there)"


def test_a_row_inserted_at_the_end_without_a_chain_entry_is_found(busy, db_path):
    rows = audit_count(db_path)
    tamper(
        db_path,
        "INSERT INTO audit (at, actor, action, entity, entity_id) "
        "VALUES ('2026-11-27T10:00:00+00:00', 'mallory', 'add', 'client', 1)",
    )
    assert_problem(
        busy, "audit chain", f"row {rows + 1} has no chain entry (inserted outside medmassage)"
    )
    # later writes do not adopt the inserted row
    busy("client", "add", "Late Client")
    assert_problem(
        busy, "audit chain", f"row {rows + 1} has no chain entry (inserted outside medmassage)"
    )


def test_a_row_inserted_in_the_middle_without_a_chain_entry_is_found(busy, db_path):
    # Ids never have gaps, so a row in the middle takes the place of one removed.
    tamper(
        db_path,
        "DELETE FROM audit_chain WHERE audit_id = 4",
        "DELETE FROM audit WHERE id = 4",
        "INSERT INTO audit (id, at, actor, action, entity, entity_id) "
        "VALUES (4, '2026-11-27T10:00:00+00:00', 'mallory', 'void', 'session', 1)",
        triggers=("audit_no_delete", "audit_chain_no_delete"),
    )
    assert_problem(busy, "audit chain", "row 4 has no chain entry (inserted outside medmassage)")


def _plain_sha256(prev: str, row: tuple) -> str:
    """A chain anyone holding the file could compute: the same fields, no key."""
    return hashlib.sha256(f"{prev}|{'|'.join(map(str, row))}".encode()).hexdigest()


def test_a_chain_recomputed_without_the_key_is_found(busy, db_path):
    """Edit row 5, then recompute every later chain hash with plain SHA-256."""
    conn = raw(db_path)
    rows = conn.execute("SELECT * FROM audit WHERE id >= 5 ORDER BY id").fetchall()
    prev = conn.execute("SELECT hash FROM audit_chain WHERE audit_id = 4").fetchone()[0]
    conn.close()
    statements = ["UPDATE audit SET actor = 'mallory' WHERE id = 5"]
    for row in rows:
        row = (row[0], row[1], "mallory" if row[0] == 5 else row[2], *row[3:])
        prev = _plain_sha256(prev, row)
        statements.append(f"UPDATE audit_chain SET hash = '{prev}' WHERE audit_id = {row[0]}")
    tamper(db_path, *statements, triggers=("audit_no_update", "audit_chain_no_update"))
    assert_problem(
        busy, "audit chain", "row 5 does not match (edited or inserted outside medmassage)"
    )


def test_a_row_appended_with_a_forged_chain_entry_is_found(busy, db_path):
    rows = audit_count(db_path)
    last = query(db_path, "SELECT hash FROM audit_chain ORDER BY audit_id DESC LIMIT 1")[0][0]
    row = (rows + 1, "2026-11-27T10:00:00+00:00", "mallory", "add", "client", 1)
    tamper(
        db_path,
        "INSERT INTO audit (id, at, actor, action, entity, entity_id) "
        f"VALUES ({rows + 1}, '{row[1]}', 'mallory', 'add', 'client', 1)",
        f"INSERT INTO audit_chain (audit_id, hash) VALUES ({rows + 1}, "
        f"'{_plain_sha256(last, row)}')",
    )
    assert_problem(
        busy,
        "audit chain",
        f"row {rows + 1} does not match (edited or inserted outside medmassage)",
    )


def test_rows_rewritten_behind_a_forged_rekey_are_found(busy, db_path):
    """Someone holding only the file rewrites the tail under a key of their own and marks it as a
    new key segment, hoping `db check` shrugs it off as 'key not on this computer'."""
    conn = raw(db_path)
    rows = conn.execute("SELECT * FROM audit WHERE id >= 8 ORDER BY id").fetchall()
    prev = conn.execute("SELECT hash FROM audit_chain WHERE audit_id = 7").fetchone()[0]
    conn.close()
    forged = os.urandom(32)
    forged_id = audit.key_id_of(forged)
    statements = ["UPDATE audit SET action = 'rekey', entity = 'audit_key', entity_id = NULL "
                  "WHERE id = 8"]  # fmt: skip
    for row in rows:
        row = (row[0], *row[1:3], "rekey", "audit_key", None) if row[0] == 8 else tuple(row)
        key_id = forged_id if row[0] == 8 else None
        prev = audit.link(forged, prev, key_id, *row)
        k = f"'{key_id}'" if key_id else "NULL"
        statements.append(
            f"UPDATE audit_chain SET hash = '{prev}', key_id = {k} WHERE audit_id = {row[0]}"
        )
    tamper(db_path, *statements, triggers=("audit_no_update", "audit_chain_no_update"))
    last = audit_count(db_path)
    assert_problem(
        busy,
        "audit chain",
        f"rows 8–{last} were written with an audit key this computer does not have (key id "
        f"{forged_id}; new key at row 8, rekey) after rows it verified: written on another "
        f"computer, or forged; copy that computer's key file into {key_file(db_path).parent} "
        "to verify them",
    )


def test_a_replaced_key_file_is_found(busy, db_path):
    key = key_file(db_path)
    key.write_text(os.urandom(32).hex() + "\n")
    wrote = query(db_path, "SELECT key_id FROM audit_chain WHERE audit_id = 1")[0][0]
    assert_problem(
        busy,
        "audit chain",
        f"the key file {key} does not match the key that wrote the audit log (key id {wrote}): "
        "the key file was replaced, or the log rewritten",
    )


def test_a_damaged_key_file_is_named_and_stops_writes_with_a_fix(busy, db_path):
    key = key_file(db_path)
    key.write_text("not a key\n")
    before = audit_count(db_path)
    assert_problem(
        busy,
        "audit chain",
        f"{key} is not a medmassage audit key (64 hex digits): the audit chain cannot be verified",
    )
    result = busy("client", "add", "Another Client", ok=False)
    assert result.exit_code == 1
    assert str(key) in result.stderr and "move it aside" in result.stderr
    assert audit_count(db_path) == before
    assert query(db_path, "SELECT count(*) FROM client WHERE name = 'Another Client'")[0][0] == 0


def test_practice_id_removed_is_found(busy, db_path):
    tamper(db_path, "DELETE FROM practice_meta", triggers=("practice_meta_no_delete",))
    assert_problem(
        busy, "audit chain", "the practice id (practice_meta) is gone: deleted outside medmassage"
    )
    result = busy("client", "add", "Another Client", ok=False)
    assert result.exit_code == 1 and "practice id is missing" in result.stderr


@pytest.mark.parametrize(
    "table, sql",
    [
        ("audit_chain", "UPDATE audit_chain SET hash = hash"),
        ("audit_chain", "DELETE FROM audit_chain"),
        ("audit_chain", "INSERT OR REPLACE INTO audit_chain SELECT * FROM audit_chain LIMIT 1"),
        ("practice_meta", "UPDATE practice_meta SET created = 'x'"),
        ("practice_meta", "DELETE FROM practice_meta"),
        ("practice_meta", "INSERT OR REPLACE INTO practice_meta SELECT * FROM practice_meta"),
    ],
)
def test_chain_and_practice_id_are_append_only(busy, db_path, table, sql):
    before = [tuple(r) for r in query(db_path, f"SELECT * FROM {table}")]
    conn = raw(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match=r"append-only|never changes"):
            conn.execute(sql)
    finally:
        conn.close()
    assert [tuple(r) for r in query(db_path, f"SELECT * FROM {table}")] == before


# --- the other checks ---------------------------------------------------------------------------


def test_a_foreign_key_problem_is_named(practice, db_path):
    tamper(
        db_path,
        "INSERT INTO session (case_id, date, minutes, pain_pre, pain_post, regions, units_rule, "
        "created) VALUES (999, '2026-11-20', 30, 5, 3, '[\"neck\"]', 'cms', '2026-11-20')",
        foreign_keys=False,
    )
    assert_problem(practice, "foreign_key_check", "session row 1 points to a missing care_case row")


def test_a_damaged_index_fails_integrity_check(busy, db_path):
    """An index that no longer matches its table (the kind of damage integrity_check finds)."""
    conn = raw(db_path)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_master SET sql = 'CREATE INDEX session_date ON session(created)' "
        "WHERE name = 'session_date'"
    )
    conn.close()
    result = check(busy)
    assert result.exit_code == 1
    detail = lines(result)["integrity_check"]
    assert "session_date" in detail
    assert result.stderr.startswith("error: integrity_check: ")


def test_a_missing_protective_trigger_is_named(busy, db_path):
    tamper(db_path, "DROP TRIGGER addendum_no_delete")
    assert_problem(
        busy,
        "protective triggers",
        "missing: addendum_no_delete (dropped outside medmassage)",
    )


def test_a_database_from_a_newer_medmassage_is_not_checked(busy, db_path):
    tamper(db_path, "PRAGMA user_version = 99")
    result = check(busy)
    assert result.exit_code == 1
    assert "newer medmassage" in result.stderr and result.stdout == ""


@posix_only
def test_a_world_readable_database_is_named_even_though_opening_fixes_it(busy, db_path):
    db_path.chmod(0o644)
    result = check(busy)
    assert result.exit_code == 1
    assert lines(result)["file modes"] == (f"{db_path} is mode 644: open to other users (want 600)")
    assert result.stderr.splitlines()[-1] == (
        f"error: file modes: {db_path} is mode 644: open to other users (want 600)"
    )
    assert mode(db_path) == 0o600  # opening it tightened the mode, with a warning
    assert "made it owner-only" in result.stderr
    assert_ok(busy)


@posix_only
def test_loose_key_file_and_folder_are_named(busy, db_path):
    key = key_file(db_path)
    key.chmod(0o644)
    key.parent.chmod(0o755)
    assert_problem(
        busy,
        "file modes",
        f"{key} is mode 644: open to other users (want 600); "
        f"{key.parent} is mode 755: open to other users (want 700)",
    )


# --- when the key is not on this computer --------------------------------------------------------


def test_missing_key_warns_keeps_the_tool_usable_and_starts_a_new_key(busy, db_path, tmp_path):
    key = key_file(db_path)
    old = tmp_path / "old.key"
    shutil.move(key, old)
    rows = audit_count(db_path)
    old_id = query(db_path, "SELECT key_id FROM audit_chain WHERE audit_id = 1")[0][0]
    folder = key.parent

    # 1. Before any write: a warning, exit 0 (--strict fails); reading needs no key.
    result = check(busy)
    assert result.exit_code == 0, result.stderr
    warning = (
        f"warning: rows 1–{rows} cannot be verified: the audit key that wrote them (key id "
        f"{old_id}) is not on this computer; medmassage starts a new key with the next change "
        f"(a rekey row). To verify them, copy the old key file into {folder} under a name "
        f"starting {key.stem} and ending .key"
    )
    assert lines(result)["audit chain"] == warning
    data = json.loads(busy("db", "check", "-f", "json").stdout)
    by_name = {c["name"]: c for c in data["checks"]}
    assert data["ok"] is True and by_name["audit chain"]["warning"] is True
    strict = check(busy, "--strict")
    assert strict.exit_code == 1
    assert strict.stderr.strip() == f"error: audit chain: {warning}"
    busy("client", "list")
    assert not key.exists()

    # 2. The next change works: a new key, and a `rekey` row before the command's own row.
    busy("client", "add", "New Machine Client")
    assert key.exists() and mode(key) == 0o600
    new = query(db_path, "SELECT * FROM audit WHERE id > ? ORDER BY id", (rows,))
    assert [(r["action"], r["entity"], r["entity_id"]) for r in new] == [
        ("rekey", "audit_key", None),
        ("add", "client", 3),
    ]
    new_id = query(db_path, "SELECT key_id FROM audit_chain WHERE audit_id = ?", (rows + 1,))
    assert new_id[0][0] == audit.read_key(key).key_id != old_id
    found = assert_ok_with_warning(busy)
    assert found == (
        f"warning: rows 1–{rows} cannot be verified: the audit key that wrote them (key id "
        f"{old_id}) is not on this computer; medmassage started a new key at row {rows + 1} "
        f"(rekey). To verify them, copy the old key file into {folder} under a name starting "
        f"{key.stem} and ending .key"
    )
    busy("client", "add", "Another Client")  # the new key carries on: no second rekey
    assert query(db_path, "SELECT count(*) FROM audit WHERE action = 'rekey'")[0][0] == 1

    # 3. The rows under the new key are verified: an edit there is found.
    last = audit_count(db_path)
    tamper(
        db_path, f"UPDATE audit SET actor = 'x' WHERE id = {last}", triggers=("audit_no_update",)
    )
    assert_problem(
        busy, "audit chain", f"row {last} does not match (edited or inserted outside medmassage)"
    )


def assert_ok_with_warning(cli: Cli) -> str:
    result = check(cli)
    assert result.exit_code == 0, result.stdout + result.stderr
    found = lines(result)
    others = [n for n in CHECK_NAMES if n not in ("audit chain", "audit anchor")]
    assert all(found[n].startswith("ok") for n in others), result.stdout
    assert found["audit chain"].startswith("warning: ")
    return found["audit chain"]


def test_old_key_copied_back_verifies_everything(busy, db_path, tmp_path):
    key = key_file(db_path)
    old = tmp_path / "old.key"
    shutil.move(key, old)
    busy("client", "add", "New Machine Client")  # rekey
    shutil.copy(old, key.parent / f"{key.stem}.old.key")
    found = assert_ok(busy)
    assert found["audit chain"].startswith(f"ok ({audit_count(db_path)} rows verified")
    # an edit in the old segment is found again, now that its key is here
    tamper(db_path, "UPDATE audit SET actor = 'x' WHERE id = 2", triggers=("audit_no_update",))
    assert_problem(
        busy, "audit chain", "row 2 does not match (edited or inserted outside medmassage)"
    )


def test_restored_old_key_is_written_with_instead_of_a_new_one(busy, db_path, tmp_path):
    key = key_file(db_path)
    shutil.move(key, key.parent / f"{key.stem}.backup.key")
    busy("client", "add", "Another Client")
    assert not key.exists()  # the copied-back key carried on
    assert query(db_path, "SELECT count(*) FROM audit WHERE action = 'rekey'")[0][0] == 0
    assert_ok(busy)


def test_rows_from_another_computer_after_verified_rows_are_a_problem(busy, db_path, tmp_path):
    """Desk computer (key A), then a laptop (key B) wrote to the same file; back on the desk."""
    key = key_file(db_path)
    desk = tmp_path / "desk.key"
    shutil.move(key, desk)
    busy("client", "add", "Laptop Client")  # the laptop: a new key B from here
    rekey_row = query(db_path, "SELECT id FROM audit WHERE action = 'rekey'")[0][0]
    laptop_id = audit.read_key(key).key_id
    key.unlink()
    shutil.move(desk, key)  # back on the desk: key A only
    last = audit_count(db_path)
    assert_problem(
        busy,
        "audit chain",
        f"rows {rekey_row}–{last} were written with an audit key this computer does not have "
        f"(key id {laptop_id}; new key at row {rekey_row}, rekey) after rows it verified: "
        "written on another computer, or forged; copy that computer's key file into "
        f"{key.parent} to verify them",
    )


@posix_only
def test_a_key_that_cannot_be_stored_stops_the_write_with_a_fix(
    cli, db_path, tmp_path, monkeypatch
):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("MEDMASSAGE_CONFIG_DIR", str(blocker / "medmassage"))
    result = cli("client", "add", "Jane Doe", ok=False)
    assert result.exit_code == 1
    assert "cannot create the audit key in" in result.stderr
    assert "MEDMASSAGE_CONFIG_DIR" in result.stderr
    assert query(db_path, "SELECT count(*) FROM client")[0][0] == 0
    assert audit_count(db_path) == 0


def test_a_write_rolled_back_leaves_no_chain_row(practice, db_path):
    before = query(db_path, "SELECT count(*) FROM audit_chain")[0][0]
    result = practice("session", "log", "Jane", "--pre", "11", "--post", "3",
                      "--technique", "swedish=30", "--region", "neck", ok=False)  # fmt: skip
    assert result.exit_code == 2
    assert query(db_path, "SELECT count(*) FROM audit_chain")[0][0] == before
    assert_ok(practice)


# --- where the keys live -------------------------------------------------------------------------


def test_config_dir_override(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDMASSAGE_CONFIG_DIR", str(tmp_path / "cfg"))
    assert audit.config_dir() == tmp_path / "cfg"
    assert audit.keys_dir() == tmp_path / "cfg" / "keys"


def _platformdirs_config() -> Path:
    return Path(platformdirs.user_config_dir("medmassage", appauthor=False, roaming=True))


@posix_only
@pytest.mark.parametrize("xdg", ["absolute", "", "relative", "~/cfg"])
def test_config_dir_matches_platformdirs(monkeypatch, tmp_path, xdg):
    monkeypatch.delenv("MEDMASSAGE_CONFIG_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "someone"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg") if xdg == "absolute" else xdg)
    monkeypatch.chdir(tmp_path)
    assert audit.config_dir() == _platformdirs_config()
    assert audit.config_dir().is_absolute()
    if sys.platform.startswith("linux"):
        expected = tmp_path / "xdg" if xdg == "absolute" else tmp_path / "someone" / ".config"
        assert audit.config_dir() == expected / "medmassage"


def test_two_lost_keys_are_both_named(busy, db_path, tmp_path):
    key = key_file(db_path)
    first_id = audit.read_key(key).key_id
    shutil.move(key, tmp_path / "a.key")
    busy("client", "add", "Second Computer Client")  # rekey: key B
    second_id = audit.read_key(key).key_id
    shutil.move(key, tmp_path / "b.key")
    last = audit_count(db_path)
    assert assert_ok_with_warning(busy).startswith(
        f"warning: rows 1–{last} cannot be verified: the audit keys that wrote them (key ids "
        f"{first_id}, {second_id}) are not on this computer; "
    )


@settings(max_examples=300, deadline=None)
@given(key=st.binary(max_size=200), message=st.binary(max_size=2000))
def test_the_chain_hmac_is_the_standard_hmac_sha256(key, message):
    """audit.hmac_sha256 (built-in SHA-256, no OpenSSL import) against the standard library."""
    import hmac

    from medmassage.store.audit import hmac_sha256

    assert hmac_sha256(key, message) == hmac.digest(key, message, "sha256")


def test_the_rfc_4231_vectors():
    from medmassage.store.audit import hmac_sha256

    # RFC 4231 test cases 1, 2 and 6 (a key longer than the block size)
    assert hmac_sha256(b"\x0b" * 20, b"Hi There").hex() == (
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    )
    assert hmac_sha256(b"Jefe", b"what do ya want for nothing?").hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    assert hmac_sha256(
        b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First"
    ).hex() == ("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
