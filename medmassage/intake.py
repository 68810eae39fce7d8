"""Intake assessments, functional goals and outcome measures (NPRS, NDI, ODI, PSFS)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date

from medmassage import db
from medmassage.cases import diagnoses
from medmassage.catalog import CONDITIONS
from medmassage.dates import now_stamp, parse_date, today
from medmassage.errors import InputError
from medmassage.validate import (
    clean_text,
    parse_condition,
    parse_goal,
    parse_pain,
    parse_psfs,
    parse_regions,
    parse_score,
    required_text,
)

# The answers intake cannot do without; on a terminal the CLI asks for the missing ones.
REQUIRED = ("complaint", "pain", "regions")


@dataclass
class IntakeInput:
    complaint: str | None
    pain: str | None
    regions: list[str]
    day: date | None = None
    conditions: list[str] = field(default_factory=list)
    onset: str | None = None
    mechanism: str | None = None
    aggravating: str | None = None
    relieving: str | None = None
    limitations: list[str] = field(default_factory=list)
    history: str | None = None
    medications: str | None = None
    contraindications: str | None = None
    consent_date: str | None = None
    goals: list[str] = field(default_factory=list)
    ndi: str | None = None
    odi: str | None = None
    psfs: list[str] = field(default_factory=list)


@dataclass
class MeasureInput:
    nprs: str | None = None
    ndi: str | None = None
    odi: str | None = None
    psfs: list[str] = field(default_factory=list)


def missing_answers(given: IntakeInput) -> list[str]:
    missing = []
    if not (given.complaint or "").strip():
        missing.append("complaint")
    if given.pain is None or not str(given.pain).strip():
        missing.append("pain")
    if not given.regions:
        missing.append("regions")
    return missing


def clean_measures(given: MeasureInput) -> list[tuple[str, str | None, float]]:
    """(kind, activity, score) rows. NDI and ODI are 0–100 % scores; NPRS and PSFS 0–10."""
    rows: list[tuple[str, str | None, float]] = []
    if given.nprs is not None:
        rows.append(("nprs", None, parse_pain("nprs", given.nprs)))
    if given.ndi is not None:
        rows.append(("ndi", None, parse_score("ndi", given.ndi, 0, 100, "NDI (percent)")))
    if given.odi is not None:
        rows.append(("odi", None, parse_score("odi", given.odi, 0, 100, "ODI (percent)")))
    activities: set[str] = set()
    for spec in given.psfs:
        activity, score = parse_psfs(spec)
        if activity.lower() in activities:
            raise InputError("psfs", spec, "each activity once per date")
        activities.add(activity.lower())
        rows.append(("psfs", activity, score))
    return rows


def _insert_measures(
    conn: sqlite3.Connection, case_id: int, day: date, rows: list[tuple[str, str | None, float]]
) -> None:
    for kind, activity, score in rows:
        measure_id = db.insert(
            conn,
            "measure",
            {
                "case_id": case_id,
                "date": day.isoformat(),
                "kind": kind,
                "activity": activity,
                "score": float(score),
                "created": now_stamp(),
            },
        )
        db.audit(conn, "add", "measure", measure_id)


def record_intake(
    conn: sqlite3.Connection, case: sqlite3.Row, given: IntakeInput
) -> tuple[int, list[str]]:
    """Validate and store the intake, its goals and baseline measures. Returns (id, warnings)."""
    missing = missing_answers(given)
    if missing:
        raise InputError(
            missing[0],
            None,
            "required: give --complaint TEXT, --pain 0-10 and --region R (or run on a terminal "
            "to be asked)",
        )
    day = given.day or today()
    complaint = required_text("complaint", given.complaint, max_len=2000)
    pain = parse_pain("pain", str(given.pain))
    regions = parse_regions(given.regions)
    conditions = [parse_condition(c) for c in given.conditions]
    onset = parse_date("onset", given.onset, allow_future=False) if given.onset else None
    consent = (
        parse_date("consent-date", given.consent_date, allow_future=False)
        if given.consent_date
        else None
    )
    limitations = [
        text
        for text in (clean_text("limitation", lim, max_len=1000) for lim in given.limitations)
        if text
    ]
    goals = []
    for spec in given.goals:
        text, target, by = parse_goal(spec)
        by_day = parse_date("goal date", by) if by else None
        goals.append((text, target, by_day))
    measures = clean_measures(MeasureInput(ndi=given.ndi, odi=given.odi, psfs=given.psfs))
    row = {
        "case_id": case["id"],
        "date": day.isoformat(),
        "complaint": complaint,
        "conditions": json.dumps(conditions),
        "onset_date": onset.isoformat() if onset else None,
        "mechanism": clean_text("mechanism", given.mechanism, max_len=1000),
        "regions": json.dumps(regions),
        "pain": pain,
        "aggravating": clean_text("aggravating", given.aggravating, max_len=2000),
        "relieving": clean_text("relieving", given.relieving, max_len=2000),
        "limitations": json.dumps(limitations),
        "history": clean_text("history", given.history, max_len=20_000),
        "medications": clean_text("medications", given.medications, max_len=5000),
        "contraindications": clean_text("contraindications", given.contraindications, max_len=5000),
        "consent_date": consent.isoformat() if consent else None,
        "created": now_stamp(),
    }
    warnings = _condition_warnings(conn, case["id"], conditions)
    with db.transaction(conn):
        existing = conn.execute(
            "SELECT date FROM intake WHERE case_id = ?", (case["id"],)
        ).fetchone()
        if existing:
            raise InputError(
                "case",
                case["id"],
                f"already has an intake (dated {existing[0]}); record re-assessments with "
                "`medmassage measure add`",
            )
        intake_id = db.insert(conn, "intake", row)
        db.audit(conn, "add", "intake", intake_id)
        for text, target, by_day in goals:
            goal_id = db.insert(
                conn,
                "goal",
                {
                    "case_id": case["id"],
                    "text": text,
                    "target": target,
                    "target_date": by_day.isoformat() if by_day else None,
                    "created": now_stamp(),
                },
            )
            db.audit(conn, "add", "goal", goal_id)
        # The intake pain is also the NPRS baseline measure.
        _insert_measures(conn, case["id"], day, [("nprs", None, pain), *measures])
    if consent is None:
        warnings.append("no consent date recorded (written informed consent, valid one year)")
    return intake_id, warnings


def _condition_warnings(conn: sqlite3.Connection, case_id: int, conditions: list[str]) -> list[str]:
    """Insurers read literally: a condition whose usual codes are not on the Rx gets a note."""
    codes = {d["code"] for d in diagnoses(conn, case_id)}
    out = []
    for key in conditions:
        usual = CONDITIONS[key].codes
        if not codes.intersection(usual):
            out.append(
                f"condition {key}: the case's diagnosis codes ({', '.join(sorted(codes))}) are "
                f"not among those usual for it ({', '.join(usual[:4])}"
                + ("…" if len(usual) > 4 else "")
                + ") — check the prescription"
            )
    return out


def add_measures(
    conn: sqlite3.Connection, case: sqlite3.Row, given: MeasureInput, day: date
) -> int:
    rows = clean_measures(given)
    if not rows:
        raise InputError(
            "measure", None, 'give at least one of --nprs N, --ndi N, --odi N, --psfs "ACTIVITY=N"'
        )
    with db.transaction(conn):
        _insert_measures(conn, case["id"], day, rows)
    return len(rows)


def get_intake(conn: sqlite3.Connection, case_id: int) -> dict | None:
    row = conn.execute("SELECT * FROM intake WHERE case_id = ?", (case_id,)).fetchone()
    if row is None:
        return None
    data = dict(row)
    for key in ("conditions", "regions", "limitations"):
        data[key] = json.loads(data[key])
    return data


def goals(conn: sqlite3.Connection, case_id: int) -> list[dict]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT id, text, target, target_date, status FROM goal WHERE case_id = ? ORDER BY id",
            (case_id,),
        )
    ]
