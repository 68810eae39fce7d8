"""Sessions (visits): log with CPT units and guards, list, show, sign, amend, void.

A signed session is locked by database triggers; corrections are addenda beside the original,
and void keeps the row with its reason.
"""

import json
import sqlite3
from datetime import date
from typing import NamedTuple

from medmassage.errors import InputError, RuleRefused, Withheld
from medmassage.record.authorizations import (
    Authorization,
    CaseCoverage,
    case_coverage,
    case_visits,
    standings_of,
)
from medmassage.record.cases import report_status
from medmassage.rules.catalog import STRICT_RX_PAYERS
from medmassage.rules.coverage import Visit, cover, outside_flag, window_for
from medmassage.rules.dates import monday_of, now_stamp
from medmassage.rules.progress import rule_text
from medmassage.rules.units import Billing, bill
from medmassage.rules.validate import (
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
from medmassage.store import db

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
    """What `session log` (and `session edit`) report about the visit written."""

    session_id: int
    case_id: int
    visit: int  # its number on the claim (the case)
    visits_authorized: int | None  # what its authorization allows (None: outside them all)
    day: date
    minutes: int
    billing: Billing
    signed: bool
    warnings: list[str]
    place: int | None = None  # its place among its authorization's visits
    authorization: Authorization | None = None
    authorizations: int = 1  # how many the case has
    rx_flag: str | None = None
    phrases: tuple[str, ...] = ()  # phrase shortcuts expanded in the note (phrases.py)
    unknown_phrases: tuple[str, ...] = ()  # `;name` tokens left as typed: no such phrase

    @property
    def standing(self) -> str:
        """ "visit 3 of 12", or with renewals "visit 11 on the claim, 3 of 6 under renewal 2
        of 2026-11-16", or "visit 7 (outside the prescription)"."""
        if self.authorization is None:
            return f"visit {self.visit} (outside the prescription)"
        if self.authorizations == 1:
            return f"visit {self.visit} of {self.visits_authorized}"
        return (
            f"visit {self.visit} on the claim ({self.place} of {self.visits_authorized} "
            f"under {self.authorization.label})"
        )


def custom_techniques(conn: sqlite3.Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute("SELECT name, cpt FROM custom_technique")}


def add_custom_technique(conn: sqlite3.Connection, name: str, cpt: str) -> None:
    """A technique of the therapist's own, billed under one of the known CPT codes."""
    import re

    from medmassage.rules.catalog import TECHNIQUES
    from medmassage.rules.validate import parse_cpt

    key = name.strip().lower().replace(" ", "-")
    if not re.match(r"^[a-z][a-z0-9-]{1,59}$", key):
        raise InputError("name", name, "lower-case letters, digits and dashes, 2–60 characters")
    _not_a_spelling(key, name)
    code = parse_cpt(cpt)
    with db.transaction(conn):
        if key in TECHNIQUES or key in custom_techniques(conn):
            raise InputError("name", name, "this technique already exists")
        conn.execute(
            "INSERT INTO custom_technique (name, cpt, created) VALUES (?, ?, ?)",
            (key, code, now_stamp()),
        )
        db.audit(conn, "add", "technique", None)


def _not_a_spelling(key: str, name: str) -> None:
    """A technique of one's own may not take a name the catalog reads as a shipped one (`ice`,
    `MFR`) or as several (`massage`): each spelling names exactly one technique."""
    from medmassage.rules.catalog import AMBIGUOUS_TECHNIQUES, spelling_key, technique_name

    if spelling_key(key) in AMBIGUOUS_TECHNIQUES:
        raise InputError("name", name, "already stands for several techniques; choose another")
    try:
        meant = technique_name(key)
    except InputError:
        return
    if meant != key:
        raise InputError(
            "name", name, f"already means {meant} (see: medmassage catalog techniques)"
        )


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
    "rx-gap": "between two authorizations (flagged)",
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
    """The prescription/authorization check of one visit as it is logged (SPEC §5, §10)."""

    flag: str | None  # None, or a coverage.OUTSIDE_FLAGS value
    over: bool  # beyond the visits its authorization allows
    problems: list[RxProblem]

    def refused(self, case: sqlite3.Row | dict, override: str | None) -> bool:
        """Workers' comp refuses a visit outside the prescription unless a reason is given."""
        return bool(self.problems) and case["payer_type"] in STRICT_RX_PAYERS and override is None

    @property
    def logged_flag(self) -> str | None:
        """As stored in `session.logged_rx_flag` (history): a visit in a gap between two
        authorizations came after the earlier one expired."""
        return "expired" if self.flag == "gap" else self.flag


def rx_guard(authorizations: list[Authorization], used: dict[int, int], day: date) -> RxGuard:
    """Check a new visit on `day` against the authorization in force that day (coverage rule),
    `used` holding the visits already under each authorization (ids)."""
    every = [a.window for a in authorizations]
    window = window_for(every, day)
    iso = day.isoformat()
    if window is None:
        flag = outside_flag(every, day)
        if flag == "not-yet-valid":
            first = min(a.valid_from for a in authorizations).isoformat()
            problem = RxProblem(
                "rx-not-yet-valid",
                "date",
                iso,
                f"is before the prescription date {first}",
                f"the prescription starts on {first} (session date {iso})",
            )
        elif flag == "expired":
            last = max(a.valid_until for a in authorizations).isoformat()
            problem = RxProblem(
                "rx-expired",
                "date",
                iso,
                f"is after the prescription's valid-until date {last}",
                f"the prescription expired on {last} (session date {iso})",
            )
        else:
            before = max((a for a in authorizations if a.valid_until < day), key=_ends)
            after = min((a for a in authorizations if a.valid_from > day), key=_starts)
            problem = RxProblem(
                "rx-gap",
                "date",
                iso,
                f"falls between {before.label}, valid until {before.valid_until.isoformat()}, "
                f"and {after.label}, valid from {after.valid_from.isoformat()}",
                f"no authorization covers {iso}: {before.label} ended "
                f"{before.valid_until.isoformat()}, {after.label} starts "
                f"{after.valid_from.isoformat()}",
            )
        return RxGuard(flag, False, [problem])
    count = used.get(window.id, 0) + 1
    if count <= window.visits:
        return RxGuard(None, False, [])
    current = next(a for a in authorizations if a.id == window.id)
    under = f" under {current.label}" if len(authorizations) > 1 else ""
    beyond = f"visit {count}{under} is beyond the {window.visits} visits authorized"
    problem = RxProblem(
        "over-authorized",
        "visits",
        str(count),
        f"is beyond the {window.visits} visits authorized{under}",
        beyond,
    )
    return RxGuard(None, True, [problem])


def _ends(a: Authorization) -> date:
    return a.valid_until


def _starts(a: Authorization) -> date:
    return a.valid_from


def check_case_open(case: sqlite3.Row | dict) -> None:
    if case["status"] != "open":
        # The date, not the reason: a close reason is free text (often about the client).
        since = f" (since {case['close_date']})" if case["close_date"] else ""
        raise InputError("case", case["id"], f"is closed{since}; open a new case to treat")


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
        "logged_rx_flag": guard.logged_flag,
        "logged_over_authorized": int(guard.over),
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
    """Validate, compute units and guards, and write the session in one transaction. Phrase
    shortcuts in the note (`;tol`) are expanded first, so the limits apply to the note saved."""
    check_case_open(case)
    expanded = _expanded(conn, given.notes)
    given = given._replace(notes=expanded.notes)
    prepared = prepare_session(given, custom_techniques(conn))
    with db.transaction(conn):
        others = case_visits(conn, case["id"])
        placed = _place(conn, case, prepared, given.day, given.start_time, others)
        session_id = db.insert(
            conn,
            "session",
            session_values(case, prepared, given.day, given.start_time, placed.guard, now_stamp()),
        )
        _write_lines(conn, session_id, prepared, placed.billing)
        db.audit(conn, "log", "session", session_id)
        if given.sign:
            _sign(conn, session_id)
        logged = placed.logged(conn, case, session_id, others, signed=given.sign)
        return logged._replace(phrases=expanded.used, unknown_phrases=expanded.unknown)


class _NoPhrases(NamedTuple):
    notes: dict[str, str | None]
    used: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


def _expanded(conn: sqlite3.Connection, notes: dict[str, str | None] | None):
    """The note with its phrase shortcuts expanded (phrases.expand_notes). A note without a
    `;` has none: phrases.py is not even imported (session log's start-up stays flat)."""
    if not any(";" in (v or "") for v in (notes or {}).values()):
        return _NoPhrases(dict(notes or {}))
    from medmassage.record.phrases import expand_notes

    return expand_notes(conn, notes)


class LastVisit(NamedTuple):
    """The visit `session log --again` repeats (and guided entry offers): its parts as session
    log takes them."""

    session_id: int
    day: date
    techniques: list[tuple[str, int]]  # (name, minutes), in the order logged
    regions: list[str]
    minutes: int  # the session's total
    homecare: str | None

    @property
    def technique_specs(self) -> list[str]:
        """`myofascial-release=20`…, as --technique takes them."""
        return [f"{name}={minutes}" for name, minutes in self.techniques]


def last_visit(conn: sqlite3.Connection, case_id: int, day: date) -> LastVisit | None:
    """The case's latest visit on or before `day` that is not void (a draft counts: it is what
    was done), or None."""
    row = conn.execute(
        "SELECT id, date, regions, minutes, homecare FROM session "
        "WHERE case_id = ? AND status != 'void' AND date <= ? "
        "ORDER BY date DESC, coalesce(start_time, '') DESC, id DESC LIMIT 1",
        (case_id, day.isoformat()),
    ).fetchone()
    if row is None:
        return None
    techniques = conn.execute(
        "SELECT technique, minutes FROM session_technique WHERE session_id = ? ORDER BY position",
        (row["id"],),
    ).fetchall()
    return LastVisit(
        session_id=row["id"],
        day=date.fromisoformat(row["date"]),
        techniques=[(t[0], t[1]) for t in techniques],
        regions=json.loads(row["regions"]),
        minutes=row["minutes"],
        homecare=row["homecare"],
    )


def previous_visit(conn: sqlite3.Connection, case: sqlite3.Row, day: date) -> LastVisit:
    """last_visit, or the one-line refusal of `session log --again` when there is none."""
    found = last_visit(conn, case["id"], day)
    if found is None:
        raise InputError(
            "case",
            case["id"],
            f"has no earlier visit to repeat with --again (void ones do not count) on or before "
            f"{day.isoformat()}; give --technique NAME=MIN and --region R",
        )
    return found


REPEATED_PARTS = ("techniques", "regions", "minutes", "home care")


def repeat_visit(given: SessionInput, last: LastVisit) -> SessionInput:
    """`session log --again`: the parts not given are the last visit's — its techniques with
    their minutes, regions, total minutes (with its techniques only: new techniques are their
    own sum unless --minutes says) and home care; never its subjective or objective text."""
    techniques = given.techniques or last.technique_specs
    minutes = given.minutes
    if minutes is None and not given.techniques:
        minutes = str(last.minutes)
    notes = dict(given.notes or {})
    if not (notes.get("homecare") or "").strip() and last.homecare:
        notes["homecare"] = last.homecare
    return given._replace(
        techniques=techniques,
        regions=given.regions or last.regions,
        minutes=minutes,
        notes=notes,
    )


def repeated_parts(typed: SessionInput, final: SessionInput, last: LastVisit) -> list[str]:
    """Which REPEATED_PARTS of `final` (what is saved) came from `last` rather than from what
    was typed (options, notes file, editor)."""
    notes = final.notes or {}
    typed_notes = typed.notes or {}
    parts = []
    if not typed.techniques:
        parts.append("techniques")
    if not typed.regions:
        parts.append("regions")
    if typed.minutes is None and not typed.techniques:
        parts.append("minutes")
    if last.homecare and not typed_notes.get("homecare") and notes.get("homecare") == last.homecare:
        parts.append("home care")
    return parts


def check_session(conn: sqlite3.Connection, case: sqlite3.Row, given: SessionInput) -> None:
    """What log_session checks before it writes, writing nothing: run before a note is typed
    in $EDITOR, so a refused visit is refused before the therapist writes the note."""
    check_case_open(case)
    prepared = prepare_session(given, custom_techniques(conn))
    _place(conn, case, prepared, given.day, given.start_time, case_visits(conn, case["id"]))


class _Placed(NamedTuple):
    """A visit checked against the rest of its case, before it is written."""

    prepared: PreparedSession
    billing: Billing
    day: date
    start_time: str | None
    guard: RxGuard
    coverage: CaseCoverage  # of the case's other visits

    def logged(
        self,
        conn: sqlite3.Connection,
        case: sqlite3.Row,
        session_id: int,
        others: list[Visit],
        *,
        signed: bool,
    ) -> Logged:
        """What session log (or edit) tells the therapist about the visit just written."""
        authorizations = self.coverage.authorizations
        visits = [*others, Visit(session_id, self.day, self.start_time)]
        after = CaseCoverage(authorizations, cover([a.window for a in authorizations], visits))
        standing = after.by_session[session_id]
        before = self.coverage.by_session
        # A late entry takes an earlier place: a visit after it may be pushed over the limit.
        pushed = [
            s
            for s in after.standings
            if s.session_id != session_id
            and s.over_authorized
            and not before[s.session_id].over_authorized
        ]
        warnings = []
        for p in self.guard.problems:
            if p.kind == "over-authorized" and pushed:
                warnings.append(
                    f"{p.warning}: this visit comes before session {pushed[-1].session_id}, "
                    "which is now flagged over authorized"
                )
            else:
                warnings.append(f"{p.warning} — flagged on this session")
        days = [v.day for v in others]
        start = monday_of(self.day)
        notices = [
            *billing_warnings(self.billing),
            *visit_warnings(
                after.current(self.day),
                self.day,
                self.prepared,
                sum(1 for d in days if d == self.day),
                sum(1 for d in days if monday_of(d) == start),
            ),
        ]
        warnings.extend(n.text for n in notices)
        due, rule = report_status(conn, case, [*days, self.day], self.day)
        if due.due:
            warnings.append(
                f"progress report due: {'; '.join(due.reasons)} "
                f"({case['payer_type']}: {rule_text(rule)})"
            )
        authorization = after.by_id(standing.authorization_id)
        return Logged(
            session_id=session_id,
            case_id=case["id"],
            visit=standing.visit,
            visits_authorized=authorization.visits if authorization else None,
            day=self.day,
            minutes=self.prepared.minutes,
            billing=self.billing,
            signed=signed,
            warnings=warnings,
            place=standing.place,
            authorization=authorization,
            authorizations=len(authorizations),
            rx_flag=standing.rx_flag,
        )


def _place(
    conn: sqlite3.Connection,
    case: sqlite3.Row,
    prepared: PreparedSession,
    day: date,
    start_time: str | None,
    others: list[Visit],
) -> _Placed:
    """Bill a visit and check it against its authorization; workers' comp refuses one outside
    the prescription or over its authorization unless a reason is given (SPEC §10)."""
    billing = bill(prepared.code_minutes, case["units_rule"])
    coverage = case_coverage(conn, case["id"], others)
    guard = rx_guard(coverage.authorizations, coverage.used, day)
    if guard.refused(case, prepared.override):
        refusals = "; ".join(_refusal(p) for p in guard.problems)
        raise RuleRefused(
            f"{refusals} — workers' comp pays for no treatment "
            "outside the prescription, so nothing was saved; renew it (medmassage case renew "
            f"{case['id']} …), or record why with --allow-expired REASON"
        )
    return _Placed(prepared, billing, day, start_time, guard, coverage)


def _write_lines(
    conn: sqlite3.Connection, session_id: int, prepared: PreparedSession, billing: Billing
) -> None:
    conn.executemany(TECHNIQUE_INSERT, technique_rows(session_id, prepared))
    conn.executemany(CPT_INSERT, cpt_rows(session_id, billing))


class SessionEdit(NamedTuple):
    """What `session edit` was given; None = keep as it is."""

    pre: str | None = None
    post: str | None = None
    techniques: list[str] | None = None
    regions: list[str] | None = None
    day: date | None = None
    start_time: str | None = None  # with `day` only: the time typed with the date (or none)
    minutes: str | None = None
    notes: dict[str, str | None] | None = None  # the sections given ("" clears one)
    allow_expired: str | None = None
    case_id: int | None = None  # move the draft to another case of the same client
    sign: bool = False

    @property
    def empty(self) -> bool:
        return all(
            v is None or v is False or v == {} for k, v in self._asdict().items() if k != "sign"
        )


def editable_draft(conn: sqlite3.Connection, session_id: int) -> sqlite3.Row:
    """The session if it is a draft; a signed or void one is refused with the way forward."""
    row = get_session_row(conn, session_id)
    if row["status"] == "signed":
        raise InputError(
            "session",
            session_id,
            f"is signed and locked ({row['signed_at']}); correct it with an addendum: "
            f"medmassage session amend {session_id} --text …",
        )
    if row["status"] == "void":
        raise InputError(
            "session", session_id, "is void; log the visit again with: medmassage session log …"
        )
    return row


def draft_notes(row: sqlite3.Row) -> dict[str, str | None]:
    return {k: row[k] for k in NOTE_FIELDS}


def edit_session(conn: sqlite3.Connection, session_id: int, change: SessionEdit) -> Logged:
    """`session edit`: change a draft as session log would have written it; units, the
    prescription check and the warnings are worked out again. Audited."""
    with db.transaction(conn):
        row = editable_draft(conn, session_id)
        case = conn.execute(
            "SELECT * FROM care_case WHERE id = ?", (change.case_id or row["case_id"],)
        ).fetchone()
        if change.case_id is not None:
            if case is None:
                raise InputError("case", change.case_id, "no case has this id")
            owner = conn.execute(
                "SELECT client_id FROM care_case WHERE id = ?", (row["case_id"],)
            ).fetchone()[0]
            if case["client_id"] != owner:
                raise InputError("case", change.case_id, "belongs to another client")
        recorded = conn.execute(
            "SELECT technique, minutes FROM session_technique WHERE session_id = ? "
            "ORDER BY position",
            (session_id,),
        ).fetchall()
        techniques = change.techniques or [f"{r[0]}={r[1]}" for r in recorded]
        minutes = change.minutes
        if minutes is None and not (
            change.techniques and row["minutes"] == sum(r[1] for r in recorded)
        ):
            minutes = str(row["minutes"])  # given when logged: kept (a new sum follows below)
        notes = draft_notes(row)
        for key, value in (change.notes or {}).items():
            notes[key] = value or None
        expanded = _expanded(conn, notes)  # a `;name` left in the draft expands once added
        notes = expanded.notes
        day = change.day or date.fromisoformat(row["date"])
        start_time = change.start_time if change.day is not None else row["start_time"]
        given = SessionInput(
            pre=change.pre if change.pre is not None else str(row["pain_pre"]),
            post=change.post if change.post is not None else str(row["pain_post"]),
            techniques=techniques,
            regions=change.regions if change.regions is not None else json.loads(row["regions"]),
            day=day,
            start_time=start_time,
            minutes=minutes,  # None: the techniques' sum, as session log has it
            notes=notes,
            allow_expired=change.allow_expired
            if change.allow_expired is not None
            else row["override_reason"],
        )
        prepared = prepare_session(given, custom_techniques(conn))
        others = [v for v in case_visits(conn, case["id"]) if v.session_id != session_id]
        placed = _place(conn, case, prepared, day, start_time, others)
        values = session_values(case, prepared, day, start_time, placed.guard, row["created"])
        db.update(conn, "session", session_id, values)
        conn.execute("DELETE FROM session_technique WHERE session_id = ?", (session_id,))
        conn.execute("DELETE FROM session_cpt WHERE session_id = ?", (session_id,))
        _write_lines(conn, session_id, prepared, placed.billing)
        db.audit(conn, "edit", "session", session_id)
        if change.sign:
            _sign(conn, session_id)
        logged = placed.logged(conn, case, session_id, others, signed=change.sign)
        return logged._replace(phrases=expanded.used, unknown_phrases=expanded.unknown)


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
    authorization: Authorization,
    day: date,
    prepared: PreparedSession,
    earlier_same_day: int,
    earlier_same_week: int,
) -> list[Notice]:
    """Warnings about a visit beside the case's other visits (`earlier_*`: how many other
    non-void visits of the case fall on the same day, and in the same Mon–Sun week), against
    the order of the authorization for that day (frequency, areas)."""
    out = []
    if earlier_same_day:
        out.append(
            Notice(
                "same-day",
                f"another visit is already logged on {day.isoformat()} for this case; "
                "the CMS rule totals timed minutes per day — check the units",
            )
        )
    per_week = frequency_per_week(authorization.frequency)
    if per_week is not None:
        in_week = earlier_same_week + 1
        if in_week > per_week:
            out.append(
                Notice(
                    "frequency",
                    f"{in_week} visits in the week of {monday_of(day).isoformat()} (Mon–Sun); "
                    f"the order is {authorization.frequency}",
                )
            )
    ordered = authorization.areas
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


def sign_sessions(conn: sqlite3.Connection, session_ids: list[int]) -> None:
    """`session sign ID…`: sign drafts, all or none (one that is signed or void refuses all)."""
    with db.transaction(conn):
        for session_id in dict.fromkeys(session_ids):
            row = get_session_row(conn, session_id)
            if row["status"] == "signed":
                raise InputError("session", session_id, f"is already signed ({row['signed_at']})")
            if row["status"] == "void":
                raise InputError("session", session_id, "is void and cannot be signed")
        sign_drafts(conn, list(dict.fromkeys(session_ids)))


class Amended(NamedTuple):
    addendum_id: int
    phrases: tuple[str, ...] = ()  # phrase shortcuts expanded in the addendum
    unknown_phrases: tuple[str, ...] = ()


def amend_session(conn: sqlite3.Connection, session_id: int, text: str) -> Amended:
    """Add an addendum; its phrase shortcuts (`;tol`) are expanded as in a note."""
    if ";" in (text or ""):
        from medmassage.record.phrases import expand_text

        body, used, unknown = expand_text(conn, text)
    else:
        body, used, unknown = text, (), ()
    body = required_text("text", body, max_len=20_000)
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
    return Amended(addendum_id, used, unknown)


def void_session(conn: sqlite3.Connection, session_id: int, reason: str) -> None:
    why = required_text("reason", reason, max_len=1000)
    with db.transaction(conn):
        row = get_session_row(conn, session_id)
        if row["status"] == "void":
            # When, not why: the reason is free text, and may be about the client.
            voided = f" (since {row['voided_at'][:10]})" if row["voided_at"] else ""
            raise InputError("session", session_id, f"is already void{voided}")
        conn.execute(
            "UPDATE session SET status = 'void', void_reason = ?, voided_at = ? WHERE id = ?",
            (why, now_stamp(), session_id),
        )
        db.audit(conn, "void", "session", session_id)


def session_detail(conn: sqlite3.Connection, session_id: int) -> dict:
    row = get_session_row(conn, session_id)
    data = dict(row)
    data["regions"] = json.loads(row["regions"])
    case = conn.execute(
        """SELECT k.id, k.payer_type, c.id AS client_id, c.name
           FROM care_case k JOIN client c ON c.id = k.client_id WHERE k.id = ?""",
        (row["case_id"],),
    ).fetchone()
    data["client_id"] = case["client_id"]
    data["client"] = case["name"]
    data["payer_type"] = case["payer_type"]
    coverage = case_coverage(conn, row["case_id"])
    standing = coverage.by_session.get(session_id)  # None when void
    authorization = coverage.by_id(standing.authorization_id) if standing else None
    data["visit"] = standing.visit if standing else None
    data["authorizations"] = len(coverage.authorizations)
    data["authorization"] = authorization.to_dict() if authorization else None
    data["authorization_visit"] = standing.place if standing else None
    data["visits_authorized"] = authorization.visits if authorization else None
    data["rx_flag"] = standing.rx_flag if standing else None
    data["over_authorized"] = standing.over_authorized if standing else False
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
    drafts: bool = False,
) -> list[dict]:
    """Sessions, oldest first, each with its visit number and flags as derived now (void ones
    have none); `drafts`: unsigned drafts only."""
    from medmassage.record.session_query import session_filters

    where, params = session_filters(client_id, case_id, start, end)
    where.insert(0, "1 = 1")
    if drafts:
        where.append("s.status = 'draft'")
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
    out = [dict(r) for r in rows]
    standings = standings_of(conn, sorted({r["case_id"] for r in out}))
    for r in out:
        standing = standings.get(r["id"])
        r["visit"] = standing.visit if standing else None
        r["rx_flag"] = standing.rx_flag if standing else None
        r["over_authorized"] = standing.over_authorized if standing else False
    return out


# --- SOAP notes from a file or $EDITOR ----------------------------------------------------------

# Lines starting with "#!" are instructions in the editor, not part of the note.
COMMENT = "#!"
SOAP_TEMPLATE = """\
#! Write the note under the headings. Save it unchanged, or empty, to save nothing.
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


def _near_heading(heading: str) -> str | None:
    """The heading a line like `# Assesment` meant, if it is that close to one."""
    import difflib

    names = {h.lower(): h for h in NOTE_HEADINGS.values()}
    found = difflib.get_close_matches(heading, list(names), n=1, cutoff=0.7)
    return names[found[0]] if found else None


def parse_soap_text(text: str) -> dict[str, str | None]:
    """Read notes written under `# Subjective`, `# Objective`, … headings.

    Text before the first heading goes to the subjective section; unknown headings are an error
    so a typo does not silently drop a paragraph. Lines starting with "#!" are left out.
    """
    by_heading = {v.lower(): k for k, v in NOTE_HEADINGS.items()}
    by_heading.update({k: k for k in NOTE_FIELDS})
    by_heading.update({"s": "subjective", "o": "objective", "a": "assessment", "p": "plan"})
    sections: dict[str, list[str]] = {k: [] for k in NOTE_FIELDS}
    current = "subjective"
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(COMMENT):
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip().rstrip(":").lower()
            if heading not in by_heading:
                use = "use " + ", ".join(f"# {h}" for h in NOTE_HEADINGS.values())
                near = _near_heading(heading)
                if near:  # a misspelt heading (# Assesment): shown, with the one meant
                    raise InputError(
                        "notes",
                        line.strip(),
                        f"unknown heading; {use} (line {number}: did you mean # {near}?)",
                    )
                # Any other line starting with "#" ("#3 tender at…") is note text: not repeated.
                raise InputError(
                    "notes",
                    Withheld(len(line)),
                    f"line {number} starts with '#' but is not a heading; {use}, or start the "
                    "line with a space",
                )
            current = by_heading[heading]
            continue
        sections[current].append(line)
    return {k: ("\n".join(v).strip() or None) for k, v in sections.items()}
