# ruff: noqa: F811 (the fixtures imported from test_audit_chain are named as parameters)
"""`db check` on a large practice computes the record digests in a second process and runs
integrity_check in a thread (medmassage/store/check_worker.py). Its findings must be the same as the
sequential path's, and a worker that fails, or that read another snapshot, must never be
trusted: `db check` then computes the digests itself."""

import pytest

from medmassage.store import check_worker
from medmassage.store import digests as records
from medmassage.store.db import connect
from tests.test_audit_chain import busy, check, config_dir, lines, log  # noqa: F401 (fixtures)
from tests.test_tamper import signed_session, with_triggers_dropped


@pytest.fixture
def parallel(monkeypatch):
    """Every practice counts as large: the worker and the thread run even for a few rows."""
    monkeypatch.setenv("MEDMASSAGE_CHECK_PARALLEL_FROM", "0")


def test_the_worker_gives_the_digests_this_process_computes(busy, db_path):
    conn, _ = connect(db_path)
    try:
        conn.execute("BEGIN")
        marker = check_worker.newest_audit_id(conn)
        worker = check_worker.start(conn)
        assert worker is not None
        got = worker.digests(marker)
        assert got == list(records.current_digests(conn))
        assert len(got) >= 5  # clients, a case, authorizations, sessions, a report, profile
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def test_a_worker_that_read_another_snapshot_is_not_trusted(busy, db_path):
    conn, _ = connect(db_path)
    try:
        conn.execute("BEGIN")
        marker = check_worker.newest_audit_id(conn)
        worker = check_worker.start(conn)
        assert worker is not None
        assert worker.digests(marker - 1) is None  # as if the tool wrote in between
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def test_a_killed_worker_is_not_trusted(busy, db_path):
    conn, _ = connect(db_path)
    try:
        conn.execute("BEGIN")
        marker = check_worker.newest_audit_id(conn)
        worker = check_worker.start(conn)
        assert worker is not None
        worker.process.kill()
        assert worker.digests(marker) is None
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def test_integrity_thread_reports_what_sqlite_finds(busy, db_path):
    conn, _ = connect(db_path)
    try:
        conn.execute("BEGIN")
        found = check_worker.IntegrityThread(conn).result()
        assert found == (["ok"], [])
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def test_an_untouched_practice_checks_ok_in_parallel(busy, parallel):
    result = check(busy)
    assert result.exit_code == 0, result.stdout + result.stderr
    found = lines(result)
    assert list(found)[:2] == ["integrity_check", "foreign_key_check"]  # the order as always
    assert all(detail.startswith("ok") for detail in found.values()), result.stdout


def test_an_edit_outside_is_found_in_parallel(busy, db_path, parallel):
    session = signed_session(db_path)
    with_triggers_dropped(
        db_path, "UPDATE session SET pain_post = 0 WHERE id = ?", params=(session,)
    )
    result = check(busy)
    assert result.exit_code == 1
    assert f"session {session} changed" in lines(result)["record contents"]


def test_a_broken_foreign_key_is_found_in_parallel(busy, db_path, parallel):
    with_triggers_dropped(db_path, "UPDATE session_cpt SET session_id = 9999 WHERE rowid = 1")
    result = check(busy)
    assert result.exit_code == 1
    assert "points to a missing session row" in lines(result)["foreign_key_check"]
