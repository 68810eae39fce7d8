"""`db check`: every check it runs over the database and the files beside it — the audit
chain (store/audit.py), every record's content against its chained digest (store/digests.py, in
a second process at scale: store/check_worker.py), the protective triggers by their SQL text,
the anchor, SQLite's own integrity and foreign-key checks, and file modes. Also one record on its
own (`session show ID --verify`).
"""

import os
import sqlite3
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from medmassage.errors import RuntimeProblem
from medmassage.store.audit import _UUID, ChainResult, check_anchor, key_files, keys_dir, verify


def verify_record(conn: sqlite3.Connection, entity: str, entity_id: int) -> tuple[bool, str]:
    """One record checked on its own (`session show ID --verify`): the whole chain verified
    under the key here, and the record's content digest equal to the latest one it chained.
    Returns (ok, what was found), in ids, times and digests only."""
    from medmassage.store import digests

    key = (entity, entity_id)
    found = verify(conn, want=key)
    if found.problem:
        return False, f"the audit log does not verify: {found.problem}"
    current = digests.digests_of(conn, [key])[key]
    chained = (found.digests or {}).get(key)
    if chained is None:
        return False, "no content digest was chained for it (added outside medmassage?)"
    audit_id, at, action = (found.chained_at or {})[key]
    if current != chained:
        return False, (
            f"its content differs from the digest chained at audit row {audit_id} ({action}, "
            f"{at}): changed outside medmassage"
        )
    matches = f"content digest sha256:{current} as chained at audit row {audit_id} ({action}, {at})"
    if found.warning:
        return False, f"{matches}, but the audit log cannot be verified here: {found.warning}"
    return True, f"{matches}; audit log of {found.rows} rows verified under the key here"


# --- the other checks of `db check` ---------------------------------------------------------------


class Check(NamedTuple):
    name: str
    ok: bool
    detail: str
    warning: bool = False


def file_modes(paths: Sequence[Path]) -> dict[Path, int]:
    """The permission bits of the files that exist (taken before opening the database, which
    tightens them)."""
    found = {}
    for p in paths:
        try:
            found[p] = stat.S_IMODE(p.stat().st_mode)
        except OSError:
            continue
    return found


def mode_problems(modes: dict[Path, int], folders: Sequence[Path] = ()) -> list[str]:
    """Files readable or writable by others (want 600), folders likewise (want 700)."""
    problems = [
        f"{p} is mode {m:o}: open to other users (want 600)" for p, m in modes.items() if m & 0o077
    ]
    for folder in folders:
        try:
            m = stat.S_IMODE(folder.stat().st_mode)
        except OSError:
            continue
        if m & 0o077:
            problems.append(f"{folder} is mode {m:o}: open to other users (want 700)")
    return problems


def check_database(
    conn: sqlite3.Connection,
    db_modes: dict[Path, int],
    latest_version: int,
    accept_new_key: bool = False,
) -> list[Check]:
    """integrity_check, foreign_key_check, schema version, protective triggers, file modes
    (the database's as found before opening), the audit chain. One read transaction: a
    consistent snapshot even while another process writes."""
    from medmassage.store import check_worker
    from medmassage.store.db import trigger_problems

    checks: list[Check] = []
    walked: list[ChainResult] = []

    def run(name: str, body) -> None:
        try:
            checks.append(body(name))
        except (sqlite3.Error, RuntimeProblem, OSError) as e:
            checks.append(Check(name, False, f"could not run: {e}"))
        except Exception as e:  # a driver whose errors are not sqlite3's (sqlcipher3)
            checks.append(Check(name, False, f"could not run: {type(e).__name__}: {e}"))

    def integrity(name: str) -> Check:
        done = background.result() if background else None
        lines = done[0] if done else [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if lines == ["ok"]:
            return Check(name, True, "ok")
        more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
        return Check(name, False, f"{lines[0]}{more}")

    def foreign_keys(name: str) -> Check:
        done = background.result() if background else None
        rows = done[1] if done else conn.execute("PRAGMA foreign_key_check").fetchall()
        if not rows:
            return Check(name, True, "ok")
        table, rowid, parent = rows[0][0], rows[0][1], rows[0][2]
        more = f" (and {len(rows) - 1} more)" if len(rows) > 1 else ""
        return Check(name, False, f"{table} row {rowid} points to a missing {parent} row{more}")

    def version(name: str) -> Check:
        found = conn.execute("PRAGMA user_version").fetchone()[0]
        if found == latest_version:
            return Check(name, True, f"ok ({found})")
        return Check(name, False, f"schema version {found}, expected {latest_version}")

    def triggers(name: str) -> Check:
        problems = trigger_problems(conn)
        if not problems:
            return Check(name, True, "ok")
        missing = [p.rsplit(" ", 1)[0] for p in problems if p.endswith(" missing")]
        altered = [p.rsplit(" ", 1)[0] for p in problems if p.endswith(" altered")]
        parts = []
        if missing:
            parts.append(f"missing: {', '.join(missing)} (dropped outside medmassage)")
        if altered:
            parts.append(
                f"altered: {', '.join(altered)} (their SQL is not medmassage's: replaced "
                "outside medmassage)"
            )
        return Check(name, False, "; ".join(parts))

    def modes(name: str) -> Check:
        if os.name == "nt":
            return Check(name, True, "ok (not checked on Windows: no POSIX modes)")
        meta = conn.execute("SELECT practice_uuid FROM practice_meta WHERE id = 1").fetchone()
        uuid = meta[0] if meta and isinstance(meta[0], str) and _UUID.fullmatch(meta[0]) else None
        keys = key_files(uuid) if uuid else []
        folders = [keys_dir()] if keys else []
        problems = mode_problems({**db_modes, **file_modes(keys)}, folders)
        if problems:
            return Check(name, False, "; ".join(problems))
        return Check(
            name, True, "ok (database" + (" and audit key" if keys else "") + " owner-only)"
        )

    def chain(name: str) -> Check:
        found = verify(conn)
        walked.append(found)
        return Check(name, found.problem is None, found.detail, warning=bool(found.warning))

    def contents(name: str) -> Check:
        from medmassage.store import digests

        found = walked[0] if walked else None
        if found is None or found.digests is None:
            return Check(name, False, "not checked: the audit chain could not be read whole")
        total = len(found.digests)
        current = worker.digests(marker) if worker else None
        if current is None:
            current = digests.current_digests(conn)
        changed = digests.compare(current, found.digests)
        if changed:
            return Check(name, False, digests.describe(changed))
        return Check(name, True, f"ok ({total} records match their audit log)")

    def anchor(name: str) -> Check:
        found = check_anchor(conn, accept_new_key)
        return Check(name, found.ok, found.detail, warning=found.warning)

    conn.execute("BEGIN")
    worker = background = None
    try:
        marker = conn.execute("SELECT max(id) FROM audit").fetchone()[0]  # the snapshot starts
        sessions = conn.execute("SELECT count(*) FROM session").fetchone()[0]
        if sessions >= check_worker.threshold():
            # A large practice: digests in a second process, integrity_check in a thread,
            # while this process walks the chain (check_worker.py says why and how).
            worker = check_worker.start(conn)
            background = check_worker.IntegrityThread(conn)
    except (sqlite3.Error, OSError):  # a table gone: each check below says what it finds
        marker = None
    try:
        # Run in the order that lets the background work overlap; reported in this order.
        order = (
            "integrity_check",
            "foreign_key_check",
            "schema version",
            "protective triggers",
            "file modes",
            "audit chain",
            "record contents",
            "audit anchor",
        )
        for name, body in (
            ("schema version", version),
            ("protective triggers", triggers),
            ("file modes", modes),
            ("audit chain", chain),
            ("record contents", contents),
            ("integrity_check", integrity),
            ("foreign_key_check", foreign_keys),
            ("audit anchor", anchor),
        ):
            run(name, body)
    finally:
        if worker:
            worker.stop()
        conn.execute("ROLLBACK")
    checks.sort(key=lambda c: order.index(c.name))
    return checks
