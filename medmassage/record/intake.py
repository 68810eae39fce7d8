"""Intake assessments, functional goals and outcome measures (NPRS, NDI, ODI, PSFS)."""

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date

from medmassage.errors import InputError
from medmassage.record.cases import diagnoses
from medmassage.record.goals import insert_goal
from medmassage.rules.catalog import CONDITIONS
from medmassage.rules.dates import now_stamp, parse_date, today
from medmassage.rules.validate import (
    clean_text,
    parse_condition,
    parse_goal,
    parse_pain,
    parse_psfs,
    parse_regions,
    parse_score,
    required_text,
)
from medmassage.store import db

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
        _insert_goals(conn, case["id"], goals)
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


# --- corrections --------------------------------------------------------------------------------

# Intake columns that an edit may clear with "" (the rest are required).
_OPTIONAL_TEXT = {
    "mechanism": 1000,
    "aggravating": 2000,
    "relieving": 2000,
    "history": 20_000,
    "medications": 5000,
    "contraindications": 5000,
}


def edit_intake(conn: sqlite3.Connection, case: sqlite3.Row, given: IntakeInput) -> list[str]:
    """`intake edit`: complete or correct a case's intake. Fields left None stay as they are;
    "" clears an optional one; a list given replaces the list; goals given are added; NDI, ODI
    and PSFS given replace the intake day's scores. The intake pain is also the NPRS baseline
    measure, which follows it. Returns the names of what changed; audited."""
    row = conn.execute("SELECT * FROM intake WHERE case_id = ?", (case["id"],)).fetchone()
    if row is None:
        raise InputError(
            "case", case["id"], "has no intake yet; record one with: medmassage intake CLIENT …"
        )
    values: dict[str, object] = {}
    if given.complaint is not None:
        values["complaint"] = required_text("complaint", given.complaint, max_len=2000)
    if given.pain is not None:
        values["pain"] = parse_pain("pain", str(given.pain))
    if given.regions:
        values["regions"] = json.dumps(parse_regions(given.regions))
    if given.day is not None:
        values["date"] = given.day.isoformat()
    if given.conditions:
        values["conditions"] = json.dumps([parse_condition(c) for c in given.conditions])
    if given.limitations:
        values["limitations"] = json.dumps(
            [t for t in (clean_text("limitation", x, max_len=1000) for x in given.limitations) if t]
        )
    for field_name, limit in _OPTIONAL_TEXT.items():
        value = getattr(given, field_name)
        if value is not None:
            values[field_name] = clean_text(field_name, value, max_len=limit)
    for field_name, column, what in (
        ("onset", "onset_date", "onset"),
        ("consent_date", "consent_date", "consent-date"),
    ):
        value = getattr(given, field_name)
        if value is not None:
            values[column] = (
                parse_date(what, value, allow_future=False).isoformat() if value.strip() else None
            )
    goals = []
    for spec in given.goals:
        text, target, by = parse_goal(spec)
        goals.append((text, target, parse_date("goal date", by) if by else None))
    measures = clean_measures(MeasureInput(ndi=given.ndi, odi=given.odi, psfs=given.psfs))
    changed = [k for k, v in values.items() if row[k] != v]
    old_day = row["date"]
    new_day = str(values.get("date", old_day))
    with db.transaction(conn):
        if changed:
            db.update(conn, "intake", row["id"], {k: values[k] for k in changed})
            db.audit(conn, "edit", "intake", row["id"])
        if "pain" in changed or "date" in changed:
            _move_baseline(conn, case["id"], old_day, row["pain"], new_day, values)
        for kind, activity, score in measures:
            _replace_measure(conn, case["id"], new_day, kind, activity, score)
            changed.append(kind if activity is None else f"psfs {activity}")
        _insert_goals(conn, case["id"], goals)
        if goals:
            changed.append("goals")
    return changed


def _insert_goals(conn: sqlite3.Connection, case_id: int, goals: list) -> None:
    """The goals given at intake (or added by `intake edit`), each audited."""
    for text, target, by_day in goals:
        insert_goal(conn, case_id, text, target, by_day)


def _move_baseline(
    conn: sqlite3.Connection,
    case_id: int,
    old_day: str,
    old_pain: int,
    new_day: str,
    values: dict[str, object],
) -> None:
    """The NPRS measure recorded with the intake follows its pain and date."""
    found = conn.execute(
        "SELECT id FROM measure WHERE case_id = ? AND kind = 'nprs' AND date = ? AND score = ? "
        "ORDER BY id LIMIT 1",
        (case_id, old_day, float(old_pain)),
    ).fetchone()
    pain = float(values.get("pain", old_pain))  # type: ignore[arg-type]
    if found is None:
        _insert_measures(conn, case_id, date.fromisoformat(new_day), [("nprs", None, pain)])
        return
    db.update(conn, "measure", found[0], {"date": new_day, "score": pain})
    db.audit(conn, "edit", "measure", found[0])


def _replace_measure(
    conn: sqlite3.Connection,
    case_id: int,
    day: str,
    kind: str,
    activity: str | None,
    score: float,
) -> None:
    """A baseline score given again at `intake edit` replaces the one of the intake day."""
    found = conn.execute(
        "SELECT id FROM measure WHERE case_id = ? AND kind = ? AND date = ? "
        "AND (activity IS NULL AND ? IS NULL OR lower(activity) = lower(?)) ORDER BY id LIMIT 1",
        (case_id, kind, day, activity, activity),
    ).fetchone()
    if found is None:
        _insert_measures(conn, case_id, date.fromisoformat(day), [(kind, activity, score)])
        return
    db.update(conn, "measure", found[0], {"score": float(score)})
    db.audit(conn, "edit", "measure", found[0])
