"""Functional goals of a case (set at intake or later) and their status: progressing, met, not met.

The progress summary reports each goal with its status, so the therapist updates it as the
client improves (`goal set ID --status met`).
"""

from __future__ import annotations

import sqlite3

from medmassage.errors import InputError
from medmassage.rules.dates import now_stamp, parse_date
from medmassage.rules.validate import parse_goal, parse_row_id
from medmassage.store import db

GOAL_STATUSES = ("progressing", "met", "not-met")


def add_goal(conn: sqlite3.Connection, case_id: int, spec: str) -> int:
    text, target, by = parse_goal(spec)
    by_day = parse_date("goal date", by) if by else None
    with db.transaction(conn):
        return insert_goal(conn, case_id, text, target, by_day)


def insert_goal(
    conn: sqlite3.Connection, case_id: int, text: str, target: str | None, by_day
) -> int:
    """One goal, audited, in the caller's transaction (`goal add`, `intake`, `intake edit`)."""
    goal_id = db.insert(
        conn,
        "goal",
        {
            "case_id": case_id,
            "text": text,
            "target": target,
            "target_date": by_day.isoformat() if by_day else None,
            "created": now_stamp(),
        },
    )
    db.audit(conn, "add", "goal", goal_id)
    return goal_id


def parse_status(value: str) -> str:
    status = value.strip().lower().replace(" ", "-").replace("_", "-")
    if status not in GOAL_STATUSES:
        raise InputError("status", value, "one of " + ", ".join(GOAL_STATUSES))
    return status


def set_goal_status(conn: sqlite3.Connection, goal_ref: str, status: str) -> dict:
    """Change a goal's status; returns the goal (with its case and client) for the message."""
    goal_id = parse_row_id("goal", goal_ref, "goal list CLIENT")
    chosen = parse_status(status)
    with db.transaction(conn):
        row = conn.execute(
            "SELECT g.id, g.text, g.status, g.case_id, c.name AS client FROM goal g "
            "JOIN care_case k ON k.id = g.case_id JOIN client c ON c.id = k.client_id "
            "WHERE g.id = ?",
            (goal_id,),
        ).fetchone()
        if row is None:
            raise InputError(
                "goal", goal_ref, "no goal has this id (see: medmassage goal list CLIENT)"
            )
        db.update(conn, "goal", goal_id, {"status": chosen})
        db.audit(conn, "status", "goal", goal_id)
    return {**dict(row), "status": chosen, "was": row["status"]}
