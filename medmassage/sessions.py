"""Sessions (visits): log with CPT units and guards, list, show, sign, amend, void.

A signed session is locked by database triggers; corrections are addenda beside the original,
and void keeps the row with its reason.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import NamedTuple

from medmassage import db
from medmassage.billing import Billing, bill
from medmassage.cases import report_status
from medmassage.catalog import STRICT_RX_PAYERS
from medmassage.dates import monday_of, now_stamp
from medmassage.errors import InputError, RuleRefused
from medmassage.progress import over_authorized, rule_text, rx_flag
from medmassage.validate import (
    MAX_MINUTES,
    TEXT_MAX,
    clean_text,
    frequency_per_week,
    parse_minutes,
    parse_pain,
    parse_regions,
    parse_row_id,
    parse_technique,
    required_text,
)

NOTE_FIELDS = ("subjective", "objective", "assessment", "plan", "homecare", "feedback")
NOTE_HEADINGS = {
    "subjective": "Subjective",
    "objective": "Objective",
    "assessment": "Assessment",
    "plan": "Plan",
    "homecare": "Home care",
    "feedback": "Client feedback",
}


class SessionInput(NamedTuple):
    """What `session log` was given, as typed. Validated by log_session."""

    pre: str
    post: str
    techniques: list[str]
    regions: list[str]
    day: date
    start_time: str | None = None
    minutes: str | None = None
    notes: dict[str, str | None] | None = None  # subjective, objective, … by NOTE_FIELDS key
    sign: bool = False
    allow_expired: str | None = None


class Logged(NamedTuple):
    session_id: int
    case_id: int
    visit: int
    visits_authorized: int
    day: date
    minutes: int
    billing: Billing
    signed: bool
    warnings: list[str]


def custom_techniques(conn: sqlite3.Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute("SELECT name, cpt FROM custom_technique")}


def add_custom_technique(conn: sqlite3.Connection, name: str, cpt: str) -> None:
    """A technique of the therapist's own, billed under one of the known CPT codes."""
    import re

    from medmassage.catalog import TECHNIQUES
    from medmassage.validate import parse_cpt

    key = name.strip().lower().replace(" ", "-")
    if not re.match(r"^[a-z][a-z0-9-]{1,59}$", key):
        raise InputError("name", name, "lower-case letters, digits and dashes, 2–60 characters")
    code = parse_cpt(cpt)
    with db.transaction(conn):
        if key in TECHNIQUES or key in custom_techniques(conn):
            raise InputError("name", name, "this technique already exists")
        conn.execute(
            "INSERT INTO custom_technique (name, cpt, created) VALUES (?, ?, ?)",
            (key, code, now_stamp()),
        )
        db.audit(conn, "add", "technique", None)


class PreparedSession(NamedTuple):
    """A session's values once validated: what `session log` and `import sessions` both store."""

    pre: int
    post: int
    regions: list[str]
    techniques: dict[str, tuple[str, int]]  # name → (cpt, minutes), in the order first given
    minutes: int
    notes: dict[str, str | None]
    override: str | None  # the --allow-expired reason, if one was given

    @property
    def code_minutes(self) -> list[tuple[str, int]]:
        return list(self.techniques.values())


class Notice(NamedTuple):
    """A warning about a logged session; `kind` lets a bulk import count them by kind."""

    kind: str
    text: str


# What each kind of warning means, for summaries that count them (import sessions).
NOTICE_KINDS: dict[str, str] = {
    "rx-expired": "after the prescription's valid-until date (flagged)",
    "rx-not-yet-valid": "before the prescription date (flagged)",
    "over-authorized": "beyond the visits authorized (flagged)",
    "under-8-minutes": "under 8 timed minutes: no timed units",
    "ama-midpoint": "a CPT line under the AMA 8-minute midpoint: 0 units",
    "same-day": "another visit on the same day for the case: check the units",
    "frequency": "more visits in a week than the order's frequency",
    "regions-not-ordered": "regions not on the prescription",
    "pain-higher": "pain higher after the session than before",
}


class RxProblem(NamedTuple):
    """A visit outside the prescription: a warning, or for workers' comp a refusal."""

    kind: str  # a NOTICE_KINDS key
    field: str
    value: str
    reason: str  # "is after the prescription's valid-until date 2026-12-31"
    warning: str  # the same in plain words, for the warning


class RxGuard(NamedTuple):
    """The prescription/authorization check of one visit (SPEC §5)."""

    flag: str | None  # 'expired', 'not-yet-valid' or None
    over: bool  # beyond the visits authorized
    problems: list[RxProblem]

    def refused(self, case: sqlite3.Row | dict, override: str | None) -> bool:
        """Workers' comp refuses a visit outside the prescription unless a reason is given."""
        return bool(self.problems) and case["payer_type"] in STRICT_RX_PAYERS and override is None


def check_case_open(case: sqlite3.Row | dict) -> None:
    if case["status"] != "open":
        raise InputError(
            "case", case["id"], f"is closed ({case['close_reason']}); open a new case to treat"
        )


def prepare_session(given: SessionInput, custom: dict[str, str]) -> PreparedSession:
    """Validate what was typed (no database access): pain, regions, techniques, minutes, notes.

    `custom` holds the therapist's own techniques (custom_techniques(conn)).
    """
    pre = parse_pain("pre", given.pre)
    post = parse_pain("post", given.post)
    regions = parse_regions(given.regions)
    if not given.techniques:
        raise InputError(
            "technique", None, "give at least one --technique NAME=MINUTES, e.g. swedish=30"
        )
    merged: dict[str, tuple[str, int]] = {}
    for spec in given.techniques:
        name, cpt, minutes = parse_technique(spec, custom)
        previous = merged.get(name, (cpt, 0))[1]
        merged[name] = (cpt, previous + minutes)
    technique_minutes = sum(m for _, m in merged.values())
    if technique_minutes > MAX_MINUTES:
        raise InputError(
            "technique minutes",
            technique_minutes,
            f"the techniques add up to more than a session's {MAX_MINUTES} minutes",
        )
    if given.minutes is not None:
        total = parse_minutes("minutes", given.minutes)
        if total < technique_minutes:
            raise InputError(
                "minutes",
                given.minutes,
                f"the session cannot be shorter than its techniques ({technique_minutes} min)",
            )
    else:
        total = technique_minutes
    notes = clean_notes(given.notes)
    override = (
        required_text("allow-expired", given.allow_expired, max_len=1000)
        if given.allow_expired is not None
        else None
    )
    return PreparedSession(pre, post, regions, merged, total, notes, override)


def clean_notes(notes: dict[str, str | None] | None) -> dict[str, str | None]:
    """The SOAP note, home care and feedback as stored: each checked and cleaned (clean_text)."""
    given = notes or {}
    return {key: clean_text(key, given.get(key), max_len=TEXT_MAX) for key in NOTE_FIELDS}


def rx_guard(case: sqlite3.Row | dict, day: date, visits_used: int) -> RxGuard:
    """Rx dates and visits authorized for a visit on `day` that is the case's `visits_used`th."""
    flag = rx_flag(day, date.fromisoformat(case["rx_date"]), date.fromisoformat(case["rx_until"]))
    over = over_authorized(visits_used, case["visits_authorized"])
    problems: list[RxProblem] = []
    if flag == "expired":
        problems.append(
            RxProblem(
                "rx-expired",
                "date",
                day.isoformat(),
                f"is after the prescription's valid-until date {case['rx_until']}",
                f"the prescription expired on {case['rx_until']} (session date {day.isoformat()})",
            )
        )
    elif flag == "not-yet-valid":
        problems.append(
            RxProblem(
                "rx-not-yet-valid",
                "date",
                day.isoformat(),
                f"is before the prescription date {case['rx_date']}",
                f"the prescription starts on {case['rx_date']} (session date {day.isoformat()})",
            )
        )
    if over:
        beyond = f"visit {visits_used} is beyond the {case['visits_authorized']} visits authorized"
        problems.append(
            RxProblem(
                "over-authorized",
                "visits",
                str(visits_used),
                f"is beyond the {case['visits_authorized']} visits authorized",
                beyond,
            )
        )
    return RxGuard(flag, over, problems)


def session_values(
    case: sqlite3.Row | dict,
    prepared: PreparedSession,
    day: date,
    start_time: str | None,
    guard: RxGuard,
    created: str,
) -> dict[str, object]:
    """The `session` row of a visit (a draft; signing is a separate step)."""
    return {
        "case_id": case["id"],
        "date": day.isoformat(),
        "start_time": start_time,
        "minutes": prepared.minutes,
        "pain_pre": prepared.pre,
        "pain_post": prepared.post,
        "regions": json.dumps(prepared.regions),
        **prepared.notes,
        "units_rule": case["units_rule"],
        "rx_flag": guard.flag,
        "over_authorized": int(guard.over),
        "override_reason": prepared.override if guard.problems else None,
        "created": created,
    }


def technique_rows(
    session_id: int, prepared: PreparedSession
) -> list[tuple[int, int, str, str, int]]:
    """(session_id, position, technique, cpt, minutes) rows for `session_technique`."""
    return [
        (session_id, position, name, cpt, minutes)
        for position, (name, (cpt, minutes)) in enumerate(prepared.techniques.items(), start=1)
    ]


def cpt_rows(session_id: int, billing: Billing) -> list[tuple[int, int, str, int, int]]:
    """(session_id, position, cpt, minutes, units) rows for `session_cpt`."""
    return [
        (session_id, position, line.code, line.minutes, line.units)
        for position, line in enumerate(billing.lines, start=1)
    ]


TECHNIQUE_INSERT = (
    "INSERT INTO session_technique (session_id, position, technique, cpt, minutes) "
    "VALUES (?, ?, ?, ?, ?)"
)
CPT_INSERT = (
    "INSERT INTO session_cpt (session_id, position, cpt, minutes, units) VALUES (?, ?, ?, ?, ?)"
)


def log_session(conn: sqlite3.Connection, case: sqlite3.Row, given: SessionInput) -> Logged:
    """Validate, compute units and guards, and write the session in one transaction."""
    check_case_open(case)
    prepared = prepare_session(given, custom_techniques(conn))
    billing = bill(prepared.code_minutes, case["units_rule"])
    day = given.day
    warnings: list[str] = []

    with db.transaction(conn):
        visit_days = [
            date.fromisoformat(r[0])
            for r in conn.execute(
                "SELECT date FROM session WHERE case_id = ? AND status != 'void'", (case["id"],)
            )
        ]
        guard = rx_guard(case, day, len(visit_days) + 1)
        if guard.refused(case, prepared.override):
            refusals = "; ".join(_refusal(p) for p in guard.problems)
            raise RuleRefused(
                f"{refusals} — workers' comp pays for no treatment "
                "outside the prescription, so nothing was saved; get a renewed prescription or "
                "authorization, or record why with --allow-expired REASON"
            )
        warnings.extend(f"{p.warning} — flagged on this session" for p in guard.problems)

        session_id = db.insert(
            conn,
            "session",
            session_values(case, prepared, day, given.start_time, guard, now_stamp()),
        )
        conn.executemany(TECHNIQUE_INSERT, technique_rows(session_id, prepared))
        conn.executemany(CPT_INSERT, cpt_rows(session_id, billing))
        db.audit(conn, "log", "session", session_id)
        visit = visit_number(conn, get_session_row(conn, session_id))
        if given.sign:
            _sign(conn, session_id)

        same_day = sum(1 for d in visit_days if d == day)
        start = monday_of(day)
        same_week = sum(1 for d in visit_days if monday_of(d) == start)
        notices = [
            *billing_warnings(billing),
            *visit_warnings(case, day, prepared, same_day, same_week),
        ]
        warnings.extend(n.text for n in notices)
        due, rule = report_status(conn, case, [*visit_days, day], day)
        if due.due:
            warnings.append(
                f"progress report due: {'; '.join(due.reasons)} "
                f"({case['payer_type']}: {rule_text(rule)})"
            )

    return Logged(
        session_id=session_id,
        case_id=case["id"],
        visit=visit,
        visits_authorized=case["visits_authorized"],
        day=day,
        minutes=prepared.minutes,
        billing=billing,
        signed=given.sign,
        warnings=warnings,
    )


def _refusal(problem: RxProblem) -> str:
    """`date: 2027-01-05 is after …` / `visits: visit 13 is beyond …`, as session log says it."""
    if problem.kind == "over-authorized":
        return f"visits: {problem.warning}"
    return f"{problem.field}: {problem.value} {problem.reason}"


def billing_warnings(billing: Billing) -> list[Notice]:
    out = []
    if billing.under_eight_minutes:
        out.append(
            Notice(
                "under-8-minutes",
                f"under 8 timed minutes ({billing.timed_minutes} min): "
                "no timed units can be billed",
            )
        )
    elif billing.rule == "ama":
        for line in billing.lines:
            if line.timed and line.units == 0:
                out.append(
                    Notice(
                        "ama-midpoint",
                        f"{line.code}: {line.minutes} min is under the 8-minute midpoint: "
                        "0 units (AMA)",
                    )
                )
    return out


def visit_warnings(
    case: sqlite3.Row | dict,
    day: date,
    prepared: PreparedSession,
    earlier_same_day: int,
    earlier_same_week: int,
) -> list[Notice]:
    """Warnings about a visit beside the case's other visits (`earlier_*`: how many other
    non-void visits of the case fall on the same day, and in the same Mon–Sun week)."""
    out = []
    if earlier_same_day:
        out.append(
            Notice(
                "same-day",
                f"another visit is already logged on {day.isoformat()} for this case; "
                "the CMS rule totals timed minutes per day — check the units",
            )
        )
    per_week = frequency_per_week(case["frequency"])
    if per_week is not None:
        in_week = earlier_same_week + 1
        if in_week > per_week:
            out.append(
                Notice(
                    "frequency",
                    f"{in_week} visits in the week of {monday_of(day).isoformat()} (Mon–Sun); "
                    f"the order is {case['frequency']}",
                )
            )
    ordered = json.loads(case["areas_ordered"])
    if ordered:
        outside = [r for r in prepared.regions if r not in ordered]
        if outside:
            out.append(
                Notice(
                    "regions-not-ordered",
                    f"regions not on the prescription: {', '.join(outside)} "
                    f"(ordered: {', '.join(ordered)}) — note why in the subjective section",
                )
            )
    if prepared.post > prepared.pre:
        out.append(
            Notice(
                "pain-higher",
                f"pain was higher after the session ({prepared.pre} → {prepared.post})",
            )
        )
    return out


def _sign(conn: sqlite3.Connection, session_id: int) -> None:
    sign_drafts(conn, [session_id])


def sign_drafts(conn: sqlite3.Connection, session_ids: list[int]) -> None:
    """Sign drafts just written in this transaction (session log --sign, import --sign)."""
    stamp = now_stamp()
    conn.executemany(
        "UPDATE session SET status = 'signed', signed_at = ? WHERE id = ?",
        [(stamp, session_id) for session_id in session_ids],
    )
    for session_id in session_ids:
        db.audit(conn, "sign", "session", session_id)


def parse_session_id(value: str | int) -> int:
    return parse_row_id("session", value, "session list")


def get_session_row(conn: sqlite3.Connection, session_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM session WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise InputError(
            "session", session_id, "no session has this id (see: medmassage session list)"
        )
    return row


def sign_session(conn: sqlite3.Connection, session_id: int) -> None:
    with db.transaction(conn):
        row = get_session_row(conn, session_id)
        if row["status"] == "signed":
            raise InputError("session", session_id, f"is already signed ({row['signed_at']})")
        if row["status"] == "void":
            raise InputError("session", session_id, "is void and cannot be signed")
        _sign(conn, session_id)


def amend_session(conn: sqlite3.Connection, session_id: int, text: str) -> int:
    body = required_text("text", text, max_len=20_000)
    with db.transaction(conn):
        row = get_session_row(conn, session_id)
        if row["status"] == "void":
            raise InputError("session", session_id, "is void; addenda go on the sessions in use")
        addendum_id = db.insert(
            conn,
            "addendum",
            {"session_id": session_id, "text": body, "author": db.actor(), "created": now_stamp()},
        )
        db.audit(conn, "amend", "session", session_id)
    return addendum_id


def void_session(conn: sqlite3.Connection, session_id: int, reason: str) -> None:
    why = required_text("reason", reason, max_len=1000)
    with db.transaction(conn):
        row = get_session_row(conn, session_id)
        if row["status"] == "void":
            raise InputError("session", session_id, f"is already void ({row['void_reason']})")
        conn.execute(
            "UPDATE session SET status = 'void', void_reason = ?, voided_at = ? WHERE id = ?",
            (why, now_stamp(), session_id),
        )
        db.audit(conn, "void", "session", session_id)


def visit_number(conn: sqlite3.Connection, row: sqlite3.Row) -> int | None:
    """The visit's place among the case's non-void visits (by date, time, then entry order)."""
    if row["status"] == "void":
        return None
    return conn.execute(
        """SELECT count(*) FROM session
           WHERE case_id = ? AND status != 'void'
             AND (date < ? OR (date = ? AND (coalesce(start_time, '') < coalesce(?, '')
                  OR (coalesce(start_time, '') = coalesce(?, '') AND id <= ?))))""",
        (
            row["case_id"],
            row["date"],
            row["date"],
            row["start_time"],
            row["start_time"],
            row["id"],
        ),
    ).fetchone()[0]


def session_detail(conn: sqlite3.Connection, session_id: int) -> dict:
    row = get_session_row(conn, session_id)
    data = dict(row)
    data["regions"] = json.loads(row["regions"])
    case = conn.execute(
        """SELECT k.id, k.payer_type, k.visits_authorized, c.id AS client_id, c.name
           FROM care_case k JOIN client c ON c.id = k.client_id WHERE k.id = ?""",
        (row["case_id"],),
    ).fetchone()
    data["client_id"] = case["client_id"]
    data["client"] = case["name"]
    data["payer_type"] = case["payer_type"]
    data["visit"] = visit_number(conn, row)
    data["visits_authorized"] = case["visits_authorized"]
    data["techniques"] = [
        dict(r)
        for r in conn.execute(
            "SELECT technique, cpt, minutes FROM session_technique WHERE session_id = ? "
            "ORDER BY position",
            (session_id,),
        )
    ]
    data["cpt"] = [
        dict(r)
        for r in conn.execute(
            "SELECT cpt, minutes, units FROM session_cpt WHERE session_id = ? ORDER BY position",
            (session_id,),
        )
    ]
    data["addenda"] = [
        dict(r)
        for r in conn.execute(
            "SELECT id, created, author, text FROM addendum WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
    ]
    return data


def list_sessions(
    conn: sqlite3.Connection,
    client_id: int | None = None,
    case_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[dict]:
    where, params = ["1 = 1"], []
    if client_id is not None:
        where.append("k.client_id = ?")
        params.append(client_id)
    if case_id is not None:
        where.append("s.case_id = ?")
        params.append(case_id)
    if start is not None:
        where.append("s.date >= ?")
        params.append(start.isoformat())
    if end is not None:
        where.append("s.date <= ?")
        params.append(end.isoformat())
    rows = conn.execute(
        f"""
        SELECT s.id, s.date, s.start_time, c.id AS client_id, c.name AS client, s.case_id,
               k.payer_type, s.minutes, s.pain_pre, s.pain_post,
               (SELECT coalesce(sum(units), 0) FROM session_cpt p WHERE p.session_id = s.id)
                   AS units,
               s.status
        FROM session s JOIN care_case k ON k.id = s.case_id JOIN client c ON c.id = k.client_id
        WHERE {" AND ".join(where)}
        ORDER BY s.date, coalesce(s.start_time, ''), s.id
        """,
        params,
    ).fetchall()
    return [dict(r) for r in rows]


# --- SOAP notes from a file or $EDITOR ----------------------------------------------------------

SOAP_TEMPLATE = """\
# Subjective
{subjective}
# Objective
{objective}
# Assessment
{assessment}
# Plan
{plan}
# Home care
{homecare}
# Client feedback
{feedback}
"""


def soap_template(notes: dict[str, str | None] | None = None) -> str:
    notes = notes or {}
    return SOAP_TEMPLATE.format(**{k: notes.get(k) or "" for k in NOTE_FIELDS})


def parse_soap_text(text: str) -> dict[str, str | None]:
    """Read notes written under `# Subjective`, `# Objective`, … headings.

    Text before the first heading goes to the subjective section; unknown headings are an error
    so a typo does not silently drop a paragraph.
    """
    by_heading = {v.lower(): k for k, v in NOTE_HEADINGS.items()}
    by_heading.update({k: k for k in NOTE_FIELDS})
    by_heading.update({"s": "subjective", "o": "objective", "a": "assessment", "p": "plan"})
    sections: dict[str, list[str]] = {k: [] for k in NOTE_FIELDS}
    current = "subjective"
    for line in text.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip().rstrip(":").lower()
            if heading not in by_heading:
                raise InputError(
                    "notes",
                    line.strip(),
                    "unknown heading; use " + ", ".join(f"# {h}" for h in NOTE_HEADINGS.values()),
                )
            current = by_heading[heading]
            continue
        sections[current].append(line)
    return {k: ("\n".join(v).strip() or None) for k, v in sections.items()}


def visits_used(conn: sqlite3.Connection, case_id: int) -> int:
    return conn.execute(
        "SELECT count(*) FROM session WHERE case_id = ? AND status != 'void'", (case_id,)
    ).fetchone()[0]
