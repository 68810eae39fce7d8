# ruff: noqa: F811 (the fixtures imported from test_audit_chain are named as parameters)
"""Evidence that holds against any SQLite tool (SPEC §13, issue 12).

Every attack here uses only the `sqlite3` module (and the stock `sqlite3` shell where one is
installed), never medmassage's own code, on a practice after a day of work; `db check` must
name each one by table and id (never with client data) and exit 1. The negative control: the
same practice untouched checks ok.
"""

import json
import shutil
import sqlite3
import subprocess
import uuid as uuidlib
from pathlib import Path

import pytest

from tests.conftest import Cli, query
from tests.test_audit_chain import busy, check, config_dir, lines, log  # noqa: F401 (fixtures)

shell = shutil.which("sqlite3")
needs_shell = pytest.mark.skipif(shell is None, reason="the sqlite3 shell is not installed")


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def with_triggers_dropped(path: Path, *sql: str, params: tuple = ()) -> None:
    """Every trigger dropped, `sql` run, every trigger put back verbatim: what someone holding
    the file can do with any SQLite tool."""
    conn = raw(path)
    try:
        saved = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall()
        conn.execute("BEGIN")
        for name, _ in saved:
            conn.execute(f"DROP TRIGGER {name}")
        for statement in sql:
            conn.execute(statement, params if "?" in statement else ())
        for _, definition in saved:
            conn.execute(definition)
        conn.execute("COMMIT")
    finally:
        conn.close()


def assert_found(cli: Cli, name: str, *expected: str) -> str:
    """Exit 1; the check `name` fails and its line says each of `expected`."""
    result = check(cli)
    assert result.exit_code == 1, result.stdout
    found = lines(result)
    for part in expected:
        assert part in found[name], found[name]
    return found[name]


def signed_session(db: Path) -> int:
    return query(db, "SELECT id FROM session WHERE status = 'signed' ORDER BY id LIMIT 1")[0][0]


# --- the negative control -------------------------------------------------------------------------


def test_an_untouched_practice_checks_ok(busy):
    result = check(busy)
    assert result.exit_code == 0, result.stdout + result.stderr
    found = lines(result)
    assert found["record contents"].startswith("ok (")
    assert found["audit anchor"].startswith("ok (holds anchored row")
    assert all(v.startswith("ok") for v in found.values()), result.stdout


# --- content edited with the locks out of the way ----------------------------------------------


@pytest.mark.parametrize(
    "column, value",
    [("subjective", "forged note text"), ("pain_post", 0), ("pain_pre", 10)],
    ids=["note", "pain-post", "pain-pre"],
)
def test_a_signed_session_edited_with_its_triggers_dropped_and_put_back(
    busy, db_path, column, value
):
    session = signed_session(db_path)
    with_triggers_dropped(
        db_path, f"UPDATE session SET {column} = ? WHERE id = ?", params=(value, session)
    )
    detail = assert_found(busy, "record contents", f"session {session} changed")
    assert "forged" not in detail  # ids and tables only, never content
    assert lines(check(busy))["protective triggers"] == "ok"  # put back verbatim: only digests know


def test_billed_units_edited_are_found_on_their_session(busy, db_path):
    session = signed_session(db_path)
    with_triggers_dropped(
        db_path, "UPDATE session_cpt SET units = 4 WHERE session_id = ?", params=(session,)
    )
    assert_found(busy, "record contents", f"session {session} changed")


@needs_shell
def test_triggers_switched_off_in_the_sqlite3_shell(busy, db_path):
    session = signed_session(db_path)
    done = subprocess.run(
        [shell, str(db_path), ".dbconfig enable_trigger off",
         f"UPDATE session SET assessment = 'rewritten' WHERE id = {session}"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        query(db_path, "SELECT assessment FROM session WHERE id = ?", (session,))[0][0]
        == "rewritten"
    )
    assert_found(busy, "record contents", f"session {session} changed")


def test_a_signed_session_deleted_with_its_rows(busy, db_path):
    session = signed_session(db_path)
    with_triggers_dropped(
        db_path,
        *(
            f"DELETE FROM {t} WHERE session_id = ?"
            for t in ("session_technique", "session_cpt", "addendum")
        ),
        "DELETE FROM session WHERE id = ?",
        params=(session,),
    )
    assert_found(busy, "record contents", f"session {session} deleted")


def test_a_fake_signed_session_inserted_without_an_audit_row(busy, db_path):
    with_triggers_dropped(
        db_path,
        "INSERT INTO session (id, case_id, date, minutes, pain_pre, pain_post, regions, units_rule,"
        " status, signed_at, created) SELECT 900, case_id, date, minutes, pain_pre, 0, regions,"
        " units_rule, 'signed', signed_at, created FROM session WHERE status = 'signed' LIMIT 1",
    )
    assert_found(busy, "record contents", "session 900 added")


@pytest.mark.parametrize(
    "sql, record",
    [
        ("UPDATE client SET dob = '1999-09-09' WHERE id = 1", "client 1 changed"),
        ("UPDATE authorization SET visits = 99 WHERE id = 1", "authorization 1 changed"),
        ("UPDATE care_case SET claim = 'CLM-FORGED' WHERE id = 1", "care_case 1 changed"),
        ("UPDATE diagnosis SET code = 'M54.50' WHERE case_id = 1", "care_case 1 changed"),
        ("DELETE FROM progress_report", "progress_report 1 deleted"),
        ("UPDATE fee SET cents = 1 ", "profile 1"),
    ],
    ids=["client-dob", "authorized-visits", "claim-number", "diagnosis", "reports-deleted", "fee"],
)
def test_other_records_edited_outside(busy, db_path, sql, record):
    busy("profile", "set", "--fee", "97124=45.00")
    with_triggers_dropped(db_path, sql)
    assert_found(busy, "record contents", record)


# --- the triggers, by their SQL ------------------------------------------------------------------


def test_a_lock_replaced_by_a_no_op_of_the_same_name(busy, db_path):
    conn = raw(db_path)
    conn.execute("DROP TRIGGER session_locked_update")
    conn.execute(
        "CREATE TRIGGER session_locked_update BEFORE UPDATE ON session BEGIN SELECT 1; END"
    )
    conn.close()
    assert_found(busy, "protective triggers", "altered: session_locked_update")


def test_a_lock_recreated_with_other_white_space_still_counts_as_ours(busy, db_path):
    conn = raw(db_path)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_no_update'").fetchone()[0]
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("\n\n  ".join(sql.split(" ")))
    conn.close()
    assert lines(check(busy))["protective triggers"] == "ok"


# --- the anchor outside the database -------------------------------------------------------------


def test_the_newest_audit_rows_deleted_are_found_by_the_anchor(busy, db_path):
    last = query(db_path, "SELECT max(id) FROM audit")[0][0]
    with_triggers_dropped(
        db_path,
        f"DELETE FROM audit_chain WHERE audit_id > {last - 3}",
        f"DELETE FROM audit WHERE id > {last - 3}",
    )
    result = check(busy)
    assert lines(result)["audit chain"].startswith("ok (")  # a shorter chain verifies on its own
    assert_found(busy, "audit anchor", f"ends at row {last - 3}", f"anchored row {last}")


def test_the_log_rewritten_under_a_new_practice_id_fails_until_accepted(busy, db_path):
    """Everything replaced: a new practice id, no audit rows of the old key (a forger would
    write their own). On this computer that is not "moved here": it fails, until the user
    says they replaced the database on purpose."""
    new_id = str(uuidlib.uuid4())
    with_triggers_dropped(
        db_path,
        "DELETE FROM audit_chain",
        "DELETE FROM audit",
        f"UPDATE practice_meta SET practice_uuid = '{new_id}'",
    )
    detail = assert_found(
        busy, "audit anchor", f"now carries practice id {new_id}", "--accept-new-key"
    )
    assert "Jane" not in detail
    accepted = check(busy, "--accept-new-key")
    assert lines(accepted)["audit anchor"].startswith("ok (accepted practice")
    assert lines(check(busy))["audit anchor"].startswith("ok")


def test_moved_to_a_new_computer_without_the_anchor_says_so_plainly(busy, db_path, config_dir):
    for anchor in (config_dir / "keys").glob("*.anchor"):
        anchor.unlink()
    result = check(busy)
    assert result.exit_code == 0
    assert lines(result)["audit anchor"].startswith("not anchored on this computer")
    assert check(busy, "--strict").exit_code == 1
    busy("client", "add", "Rae Poe")  # the next change anchors it
    assert lines(check(busy))["audit anchor"].startswith("ok (holds anchored row")


def test_the_anchor_is_never_moved_back_over_evidence(busy, db_path, config_dir):
    """After the newest rows are deleted, a new write must not replace the anchor that proves
    it: db check keeps reporting the cut."""
    last = query(db_path, "SELECT max(id) FROM audit")[0][0]
    with_triggers_dropped(
        db_path,
        f"DELETE FROM audit_chain WHERE audit_id > {last - 2}",
        f"DELETE FROM audit WHERE id > {last - 2}",
    )
    busy("client", "add", "Rae Poe")
    anchored = json.loads(next((config_dir / "keys").glob("*.anchor")).read_text())
    assert anchored["audit_id"] == last
    assert_found(busy, "audit anchor", f"this computer anchored row {last}")


# --- one note, verified on its own --------------------------------------------------------------


def test_a_signed_note_verifies_on_its_own_and_fails_once_edited(busy, db_path):
    session = signed_session(db_path)
    shown = json.loads(busy("session", "show", str(session), "--verify", "-f", "json").stdout)
    assert shown["verification"]["ok"] is True
    assert shown["verification"]["detail"].startswith("content digest sha256:")
    assert (
        "(sign," in shown["verification"]["detail"] or "(amend," in shown["verification"]["detail"]
    )
    with_triggers_dropped(
        db_path, "UPDATE session SET plan = 'edited' WHERE id = ?", params=(session,)
    )
    result = busy("session", "show", str(session), "--verify", ok=False)
    assert result.exit_code == 1
    assert "Verified    NO: its content differs" in result.stdout
    assert result.stderr.startswith(f"error: session {session} does not verify")
    assert "edited" not in result.stderr


# --- backups carry the anchor in their manifest -------------------------------------------------


def test_a_backup_changed_after_it_was_made_is_refused_by_restore(busy, db_path, tmp_path):
    backup = tmp_path / "b.db"
    busy("db", "backup", str(backup))
    manifest = tmp_path / "b.db.manifest.json"
    data = json.loads(manifest.read_text())
    assert manifest.stat().st_mode & 0o777 == 0o600
    assert data["audit_id"] == query(db_path, "SELECT max(audit_id) FROM audit_chain")[0][0]
    assert (
        data["audit_hash"]
        == query(db_path, "SELECT hash FROM audit_chain ORDER BY audit_id DESC LIMIT 1")[0][0]
    )
    # Restored as it was: fine, and the anchor moves to the restored chain.
    busy("client", "add", "Rae Poe")
    busy("db", "restore", str(backup), "--yes")
    assert lines(check(busy))["audit anchor"].startswith("ok (holds anchored row")
    # The backup edited with the sqlite3 module afterwards: refused, nothing changed.
    with_triggers_dropped(backup, "UPDATE client SET name = 'Someone Else' WHERE id = 1")
    before = db_path.read_bytes()
    result = busy("db", "restore", str(backup), "--yes", ok=False)
    assert result.exit_code == 2
    assert "differs from its manifest b.db.manifest.json" in result.stderr
    assert "Someone" not in result.stderr
    assert db_path.read_bytes() == before
