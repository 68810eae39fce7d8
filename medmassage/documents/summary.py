"""The insurer progress summary (SPEC §7.2): what an adjuster needs to approve more visits.

`build_summary` gathers the facts for one case and reporting period into a plain `Summary`;
`Summary.to_dict()` is the stable JSON contract, and documents/ draws the PDF, HTML and
Markdown from the same dict, so every format carries the same facts. `record_report` notes that
a report was sent, which restarts the report-due clock (SPEC §5).
"""

import json
import math
import sqlite3
from dataclasses import dataclass, field
from datetime import date, timedelta

from medmassage.documents.progress_report import VisitRow, load_visits, measure_changes
from medmassage.errors import InputError
from medmassage.record.authorizations import Authorization, windows
from medmassage.record.cases import diagnoses, last_report
from medmassage.record.intake import get_intake, goals
from medmassage.record.profile import get_profile, identity, missing_for_documents
from medmassage.rules.catalog import CONDITIONS, CPT_CODES, MCID, REGIONS
from medmassage.rules.coverage import covered_until
from medmassage.rules.dates import now_stamp
from medmassage.rules.progress import change
from medmassage.rules.validate import frequency_parts
from medmassage.store import db

# Weeks of care recommended when no authorized visits remain to size the request by.
DEFAULT_REQUEST_WEEKS = 4


class Period:
    """A reporting period: inclusive first and last day."""

    def __init__(self, first: date, last: date) -> None:
        self.first, self.last = first, last

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last

    def to_dict(self) -> dict:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def require_profile(conn: sqlite3.Connection) -> dict:
    """The therapist's profile, refusing when an insurer document would lack who wrote it."""
    profile = get_profile(conn)
    missing = missing_for_documents(profile)
    if missing:
        flags = " ".join(f"--{m.replace('_', '-')} …" for m in missing)
        raise InputError(
            "profile",
            ", ".join(m.replace("_", " ") for m in missing),
            f"missing; insurer documents need them: medmassage profile set {flags}",
        )
    return profile


def start_of_care(conn: sqlite3.Connection, case_id: int) -> date | None:
    """The intake date or the first visit, whichever came first."""
    row = conn.execute(
        "SELECT min(d) FROM (SELECT date AS d FROM intake WHERE case_id = ?1 "
        "UNION ALL SELECT date FROM session WHERE case_id = ?1 AND status != 'void')",
        (case_id,),
    ).fetchone()
    return date.fromisoformat(row[0]) if row and row[0] else None


def default_period(conn: sqlite3.Connection, case_id: int, on: date) -> Period:
    """Since the last summary sent before `on` (or the start of care), up to `on`.

    Reports recorded on `on` itself are passed over, so writing today's summary again (after
    fixing a note, say) covers the same period instead of an empty one.
    """
    last = last_report(conn, case_id, written_before=on)
    if last is not None:
        # Visits logged after that report, though dated within its period, were not in it.
        first = min([last.period_to + timedelta(days=1), *last.late])
    else:
        first = start_of_care(conn, case_id) or on
    return Period(min(first, on), on)


def check_period(first: date | None, last: date | None, default: Period, on: date) -> Period:
    period = Period(first or default.first, last or default.last)
    if period.last > on:
        raise InputError("to", period.last.isoformat(), f"is in the future (today is {on})")
    if period.first > period.last:
        raise InputError(
            "from",
            period.first.isoformat(),
            f"is after the end of the period ({period.last.isoformat()})",
        )
    return period


@dataclass
class Recommendation:
    """What the summary asks the payer for. `visits` is always the frequency times the weeks
    (or months): the sentence's arithmetic holds."""

    action: str  # 'continue', 'renew' (no visits left, or the prescription has lapsed), 'discharge'
    frequency: str | None
    weeks: int | None
    visits: int | None
    through: date | None
    needs_authorization: bool
    needs_new_rx: bool
    reason: str | None
    months: int | None = None  # instead of weeks, for an order given per month
    visits_remaining: int = 0
    start: date | None = None  # a renewal asked for: from this day

    @property
    def text(self) -> str:
        if self.action == "discharge":
            return "Discharge from care" + (f": {self.reason}." if self.reason else ".")
        if self.months is not None:
            span = f"{self.months} month" + ("s" if self.months != 1 else "")
        else:
            span = f"{self.weeks} week" + ("s" if self.weeks != 1 else "")
        count = f" ({self.visits} visit{'s' if self.visits != 1 else ''})" if self.visits else ""
        through = self.through.isoformat() if self.through else ""
        if self.action == "renew":
            reasons = []
            if self.visits_remaining == 0:
                reasons.append("the authorized visits are used")
            if self.needs_new_rx:
                reasons.append("the prescription has lapsed")
            why = " and ".join(reasons)
            start = self.start.isoformat() if self.start else ""
            return (
                f"Renewal requested ({why}): treatment {self.frequency} for {span}{count}, "
                f"from {start} through {through}."
            )
        out = f"Continue treatment {self.frequency} for {span}{count}, through {through}."
        if self.needs_authorization and self.visits is not None:
            more = self.visits - self.visits_remaining
            out += (
                f" This requires authorization of {more} more visit{'s' if more != 1 else ''}"
                f" ({self.visits_remaining} remain authorized)."
            )
        if self.needs_new_rx:
            out += " The prescription must be renewed to continue past its valid-until date."
        return out

    def to_dict(self) -> dict:
        return {
            "action": self.action,
            "frequency": self.frequency,
            "weeks": self.weeks,
            "months": self.months,
            "visits": self.visits,
            "through": self.through.isoformat() if self.through else None,
            "needs_authorization": self.needs_authorization,
            "needs_new_rx": self.needs_new_rx,
            "text": self.text,
        }


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def recommend(
    case: dict,
    authorization: Authorization,
    in_force: bool,
    covered_until: date | None,
    visits_remaining: int,
    on: date,
    *,
    discharge: bool = False,
    frequency: str | None = None,
    weeks: int | None = None,
) -> Recommendation:
    """Continue at the ordered frequency for as long as the remaining authorized visits last;
    when none remain, or no authorization is in force, ask for a renewal (DEFAULT_REQUEST_WEEKS
    of care at the frequency); discharge when asked or when the case is closed."""
    if discharge or case["status"] == "closed":
        return Recommendation(
            "discharge", None, None, None, None, False, False, case.get("close_reason")
        )
    freq = frequency or authorization.frequency or "1x/week"
    count, unit = frequency_parts(freq)
    renew = visits_remaining == 0 or not in_force
    if unit == "month":
        if weeks is not None:
            raise InputError(
                "weeks",
                weeks,
                f"the frequency {freq} is per month: leave --weeks out, "
                "or give a weekly --frequency",
            )
        if renew:
            months = max(DEFAULT_REQUEST_WEEKS // 4, 1)
        else:
            months = math.ceil(visits_remaining / count)
        planned, through, span_weeks = count * months, _add_months(on, months), None
    else:
        per_week = count * 7 if unit == "day" else count
        if weeks is not None:
            span_weeks = weeks
        elif renew:
            span_weeks = DEFAULT_REQUEST_WEEKS
        else:
            span_weeks = math.ceil(visits_remaining / per_week)
        months, planned, through = None, per_week * span_weeks, on + timedelta(weeks=span_weeks)
    if renew:
        return Recommendation(
            "renew", freq, span_weeks, planned, through, True, not in_force, None,
            months=months, visits_remaining=visits_remaining, start=on,
        )  # fmt: skip
    needs_auth = planned > visits_remaining
    needs_rx = covered_until is None or through > covered_until
    return Recommendation(
        "continue", freq, span_weeks, planned, through, needs_auth, needs_rx, None,
        months=months, visits_remaining=visits_remaining,
    )  # fmt: skip


@dataclass
class Summary:
    written: date
    period: Period
    therapist: dict
    client: dict
    case: dict
    diagnoses: list[dict]
    visits: list[VisitRow]  # the visits in the period
    all_visits: list[VisitRow]  # every visit up to the end of the period (for the chart)
    authorizations: list[Authorization]  # all of the case's, in the order written
    authorization: Authorization  # the one in force at the end of the period (or last ended)
    authorization_state: str  # coverage.InForce.state
    used_by: dict[int, int]  # visits per authorization id, up to the end of the period
    outcomes: list[dict]
    goals: list[dict]
    assessment: str
    assessment_from: str | None  # 'visit N on DATE' or 'given'
    plan: str
    plan_from: str | None
    recommendation: Recommendation
    flags: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # for the therapist, not the document
    intake: dict = field(default_factory=dict)  # chief complaint and history (INTAKE_KEYS)
    treatment: dict = field(default_factory=dict)  # techniques and regions of the period
    objective: str = ""
    objective_from: str | None = None
    home_program: str = ""
    home_program_from: str | None = None
    # Which visit each note text comes from (None: none found, or given for this report).
    note_sources: dict = field(default_factory=dict)

    @property
    def visits_used(self) -> int:
        return self.used_by.get(self.authorization.id, 0)

    @property
    def visits_remaining(self) -> int:
        return max(self.authorization.visits - self.visits_used, 0)

    def totals(self) -> dict:
        units_by_cpt: dict[str, int] = {}
        for v in self.visits:
            for code, _, units in v.cpt:
                units_by_cpt[code] = units_by_cpt.get(code, 0) + units
        n = len(self.visits)
        return {
            "visits": n,
            "minutes": sum(v.minutes for v in self.visits),
            "units": sum(v.units for v in self.visits),
            "units_by_cpt": dict(sorted(units_by_cpt.items())),
            "average_pain_pre": round(sum(v.pre for v in self.visits) / n, 1) if n else None,
            "average_pain_post": round(sum(v.post for v in self.visits) / n, 1) if n else None,
            "average_relief": round(sum(v.relief for v in self.visits) / n, 1) if n else None,
        }

    def to_dict(self) -> dict:
        """The stable JSON contract of `summary -f json` (documented in the README)."""
        c, a = self.case, self.authorization
        period_ids = {v.session_id for v in self.visits}
        return {
            "document": "progress-summary",
            "written": self.written.isoformat(),
            "period": self.period.to_dict(),
            "therapist": self.therapist,
            "client": self.client,
            "case": {
                "id": c["id"],
                "status": c["status"],
                "payer_type": c["payer_type"],
                "payer_name": c["payer_name"],
                "policy": c["policy"],
                "claim": c["claim"],
                "injury_date": c["injury_date"],
                "adjuster": c["adjuster"],
                "referrer": a.prescriber_line,
                "referrer_npi": a.prescriber_npi,
                "rx_date": a.written.isoformat(),
                "rx_until": a.valid_until.isoformat(),
                "frequency": a.frequency,
                "areas_ordered": a.areas,
                "units_rule": c["units_rule"],
            },
            "diagnoses": self.diagnoses,
            "intake": self.intake,
            "authorization": {
                "visits_authorized": a.visits,
                "visits_used": self.visits_used,
                "visits_remaining": self.visits_remaining,
                "id": a.id,
                "number": a.number,
                "state": self.authorization_state,
                "valid_from": a.valid_from.isoformat(),
                "valid_until": a.valid_until.isoformat(),
                "auth_number": a.auth_number,
                "visits_on_claim": len(self.all_visits),
            },
            "authorizations": [x.to_dict(self.used_by.get(x.id, 0)) for x in self.authorizations],
            "visits": [
                {
                    "visit": v.visit,
                    "session_id": v.session_id,
                    "date": v.day,
                    "minutes": v.minutes,
                    "cpt": [
                        {"code": code, "label": CPT_CODES[code].label, "minutes": m, "units": u}
                        for code, m, u in v.cpt
                    ],
                    "units": v.units,
                    "pain_pre": v.pre,
                    "pain_post": v.post,
                    "relief": v.relief,
                    "signed": v.status == "signed",
                    "flags": visit_flags(v),
                    "authorization_id": v.authorization_id,
                    "authorization_visit": v.authorization_visit,
                }
                for v in self.visits
            ],
            "totals": self.totals(),
            "treatment": self.treatment,
            "outcomes": self.outcomes,
            "goals": self.goals,
            "pain_chart": [
                {
                    "visit": v.visit,
                    "date": v.day,
                    "pain_pre": v.pre,
                    "pain_post": v.post,
                    "in_period": v.session_id in period_ids,
                }
                for v in self.all_visits
            ],
            "objective": self.objective,
            "objective_from": self.objective_from,
            "assessment": self.assessment,
            "assessment_from": self.assessment_from,
            "plan": self.plan,
            "plan_from": self.plan_from,
            "home_program": self.home_program,
            "home_program_from": self.home_program_from,
            "note_sources": self.note_sources,
            "recommendation": self.recommendation.to_dict(),
            "flags": self.flags,
        }


def mcid_text(measure: str) -> str:
    """The clinically important change of a measure, in words: '≥ 2 points or ≥ 30 %'."""
    rule = MCID[measure]
    text = f"≥ {rule.points:g} points"
    return text + (f" or ≥ {rule.percent:g} %" if rule.percent is not None else "")


# How an insurer document names a visit's standing (the tables say it shorter: progress_view.py).
DOCUMENT_RX_FLAGS = {
    "expired": "after Rx expired",
    "not-yet-valid": "before Rx date",
    "gap": "between authorizations",
}


def visit_flags(v: VisitRow) -> list[str]:
    out = []
    if v.status != "signed":
        out.append("unsigned")
    if v.rx_flag:
        out.append(DOCUMENT_RX_FLAGS[v.rx_flag])
    if v.over_authorized:
        out.append("over authorized visits")
    return out


def _outcomes(
    conn: sqlite3.Connection,
    case_id: int,
    baseline: tuple[int, str, str],
    current: tuple[int, str],
    until: date,
) -> list[dict]:
    """Outcome table rows: NPRS from intake (or first visit) to the latest pre-session pain, then
    every measure recorded (NDI, ODI, PSFS activities) from its first score to its latest."""
    pain = change("nprs", baseline[0], current[0])
    rows = [
        {
            "measure": "nprs",
            "label": MCID["nprs"].label,
            "activity": None,
            "baseline": baseline[0],
            "baseline_date": baseline[1],
            "baseline_source": baseline[2],
            "current": current[0],
            "current_date": current[1],
            "change": pain.improvement,
            "change_percent": pain.percent,
            "mcid": mcid_text("nprs"),
            "mcid_met": pain.mcid_met,
        }
    ]
    for m in measure_changes(conn, case_id, until=until):
        if m.measure == "nprs":
            continue  # pain is the row above, from the intake and the visits (SPEC §5)
        rule = MCID[m.measure]
        rows.append(
            {
                "measure": m.measure,
                "label": rule.label,
                "activity": m.activity,
                "baseline": m.baseline,
                "baseline_date": m.baseline_date,
                "baseline_source": "measure",
                "current": m.latest,
                "current_date": m.latest_date,
                "change": m.change.improvement,
                "change_percent": m.change.percent,
                "mcid": mcid_text(m.measure),
                "mcid_met": m.change.mcid_met,
            }
        )
    return rows


def _latest_note(
    visits: list[VisitRow], notes: dict[int, sqlite3.Row], column: str
) -> tuple[str, str | None, VisitRow | None]:
    """The latest non-empty `column` of the period's notes: (text, 'visit N on DATE', visit)."""
    for v in reversed(visits):
        text = notes[v.session_id][column]
        if text and text.strip():
            return text.strip(), f"visit {v.visit} on {v.day}", v
    return "", None, None


def _note_source(found: VisitRow | None, last: VisitRow) -> dict | None:
    if found is None:
        return None
    return {
        "visit": found.visit,
        "session_id": found.session_id,
        "date": found.day,
        "signed": found.status == "signed",
        "last_visit": found.session_id == last.session_id,
    }


# The intake facts an adjuster reads first (SPEC §3); medications and contraindications stay in
# the chart (minimum necessary).
INTAKE_KEYS = (
    "date", "chief_complaint", "conditions", "onset_date", "mechanism", "history",
    "limitations", "aggravating", "relieving",
)  # fmt: skip


def _intake_facts(intake: dict | None) -> dict:
    """Chief complaint and history from the case's intake; every key null when there is none."""
    if intake is None:
        return dict.fromkeys(INTAKE_KEYS)
    return {
        "date": intake["date"],
        "chief_complaint": intake["complaint"],
        "conditions": [CONDITIONS[k].label if k in CONDITIONS else k for k in intake["conditions"]],
        "onset_date": intake["onset_date"],
        "mechanism": intake["mechanism"],
        "history": intake["history"],
        "limitations": intake["limitations"],
        "aggravating": intake["aggravating"],
        "relieving": intake["relieving"],
    }


def _treatment(conn: sqlite3.Connection, in_period: list[VisitRow], ordered: list[str]) -> dict:
    """Techniques of the period with their CPT code, total minutes and visits (most minutes
    first), the regions treated with the visits that treated them and whether an
    authorization of the period ordered them, and the areas ordered (CaseCoverage.areas_ordered)."""
    ids = json.dumps([v.session_id for v in in_period])
    techniques = [
        {
            "technique": r[0],
            "cpt": r[1],
            "cpt_label": CPT_CODES[r[1]].label if r[1] in CPT_CODES else None,
            "minutes": r[2],
            "visits": r[3],
        }
        for r in conn.execute(
            "SELECT technique, cpt, sum(minutes), count(DISTINCT session_id) "
            "FROM session_technique WHERE session_id IN (SELECT value FROM json_each(?)) "
            "GROUP BY technique, cpt ORDER BY sum(minutes) DESC, technique, cpt",
            (ids,),
        )
    ]
    counts: dict[str, int] = {}
    for v in in_period:
        for region in v.regions:
            counts[region] = counts.get(region, 0) + 1
    place = {r: i for i, r in enumerate(REGIONS)}
    regions = [
        {"region": r, "visits": n, "ordered": r in ordered}
        for r, n in sorted(counts.items(), key=lambda rn: (-rn[1], place.get(rn[0], 99)))
    ]
    return {"techniques": techniques, "regions": regions, "areas_ordered": ordered}


def _attention(
    authorizations: list[Authorization],
    current: Authorization,
    state: str,
    in_period: list[VisitRow],
    used_by: dict[int, int],
) -> list[str]:
    """The sentences of the attention box, from each visit's standing as derived now: a visit a
    backdated renewal covers, or one a void moved back within the limit, raises none."""
    flags = []
    last_day = max(a.valid_until for a in authorizations).isoformat()
    after_rx = [v for v in in_period if v.rx_flag == "expired"]
    if after_rx:
        flags.append(
            f"Prescription expired on {last_day}: {len(after_rx)} visit(s) in this period were "
            "after it."
        )
    elif state in ("expired", "gap"):
        flags.append(f"Prescription expired on {current.valid_until.isoformat()}.")
    gap = [v for v in in_period if v.rx_flag == "gap"]
    if gap:
        flags.append(
            f"{len(gap)} visit(s) in this period fell between authorizations, covered by none ("
            + ", ".join(v.day for v in gap)
            + ")."
        )
    before_rx = [v for v in in_period if v.rx_flag == "not-yet-valid"]
    if before_rx:
        first = min(a.valid_from for a in authorizations).isoformat()
        flags.append(
            f"{len(before_rx)} visit(s) in this period were before the prescription date ({first})."
        )
    many = len(authorizations) > 1
    for a in authorizations:
        over = [v for v in in_period if v.over_authorized and v.authorization_id == a.id]
        if over or (a.id == current.id and used_by.get(a.id, 0) > a.visits):
            under = f" under {a.label}" if many else ""
            flags.append(
                f"Authorization exceeded{under}: {used_by.get(a.id, 0)} visits used of "
                f"{a.visits} authorized."
            )
    overridden: dict[str, list[VisitRow]] = {}
    for v in in_period:
        if v.override_reason and (v.rx_flag or v.over_authorized):
            overridden.setdefault(v.override_reason, []).append(v)
    for reason, group in overridden.items():
        which = ", ".join(f"{v.visit} ({v.day})" for v in group)
        flags.append(
            f"Visit{'s' if len(group) > 1 else ''} {which} logged past the guard: {reason}"
        )
    return flags


def build_summary(
    conn: sqlite3.Connection,
    case_id: int,
    period: Period,
    written: date,
    *,
    assessment: str | None = None,
    plan: str | None = None,
    discharge: bool = False,
    frequency: str | None = None,
    weeks: int | None = None,
) -> Summary:
    profile = require_profile(conn)
    case = dict(conn.execute("SELECT * FROM care_case WHERE id = ?", (case_id,)).fetchone())
    client = dict(
        conn.execute(
            "SELECT id, name, dob FROM client WHERE id = ?", (case["client_id"],)
        ).fetchone()
    )
    every, _, coverage = load_visits(conn, case_id)
    upto = [v for v in every if date.fromisoformat(v.day) <= period.last]
    in_period = [v for v in upto if date.fromisoformat(v.day) in period]
    if not in_period:
        raise InputError(
            "period",
            f"{period.first.isoformat()} to {period.last.isoformat()}",
            f"no visits of case {case_id} in this period; choose another with --from/--to",
        )
    notes = {
        r["id"]: r
        for r in conn.execute(
            "SELECT id, objective, assessment, plan, homecare FROM session WHERE case_id = ?",
            (case_id,),
        )
    }
    intake = get_intake(conn, case_id)
    if intake is not None:
        baseline = (intake["pain"], intake["date"], "intake")
    else:
        baseline = (upto[0].pre, upto[0].day, "first visit")
    current = (in_period[-1].pre, in_period[-1].day)

    warnings = []
    last_visit = in_period[-1]
    texts: dict[str, tuple[str, str | None]] = {}
    sources: dict[str, dict | None] = {}
    for key, column, given in (
        ("objective", "objective", None),
        ("assessment", "assessment", assessment),
        ("plan", "plan", plan),
        ("home_program", "homecare", None),
    ):
        if given is not None:
            texts[key], sources[key] = (given.strip(), "given"), None
            continue
        text, where, found = _latest_note(in_period, notes, column)
        texts[key], sources[key] = (text, where), _note_source(found, last_visit)
        if key not in ("assessment", "plan"):
            continue
        if not text:
            warnings.append(f"no {key} in this period's notes; give one with --{key}")
        elif found is not None and found.session_id != last_visit.session_id:
            # An adjuster reads the assessment as today's: one from an earlier visit says so.
            warnings.append(
                f"the {key} is from {where}, not the period's last visit (visit "
                f"{last_visit.visit} on {last_visit.day} has none); give one with --{key}"
            )
    assessment_text, assessment_from = texts["assessment"]
    plan_text, plan_from = texts["plan"]
    unsigned = [v.session_id for v in in_period if v.status != "signed"]
    if unsigned:
        warnings.append(
            f"{len(unsigned)} visit(s) in the period are unsigned drafts (sessions "
            + ", ".join(map(str, unsigned))
            + "); sign them with: medmassage session sign ID"
        )

    found = coverage.in_force(period.last)
    assert found is not None
    authorization = coverage.by_id(found.window.id)
    assert authorization is not None
    used_by: dict[int, int] = {}
    for v in upto:
        if v.authorization_id is not None:
            used_by[v.authorization_id] = used_by.get(v.authorization_id, 0) + 1
    flags = _attention(coverage.authorizations, authorization, found.state, in_period, used_by)
    ordered = coverage.areas_ordered(period.first, period.last, (v.session_id for v in in_period))
    summary = Summary(
        written=written,
        period=period,
        therapist=identity(profile),
        client=client,
        case=case,
        diagnoses=diagnoses(conn, case_id),
        visits=in_period,
        all_visits=upto,
        authorizations=coverage.authorizations,
        authorization=authorization,
        authorization_state=found.state,
        used_by=used_by,
        outcomes=_outcomes(conn, case_id, baseline, current, period.last),
        goals=[
            {k: g[k] for k in ("text", "target", "target_date", "status")}
            for g in goals(conn, case_id)
        ],
        assessment=assessment_text,
        assessment_from=assessment_from,
        plan=plan_text,
        plan_from=plan_from,
        recommendation=recommend(
            case,
            authorization,
            found.state == "in force",
            covered_until(windows(coverage.authorizations), period.last),
            max(authorization.visits - used_by.get(authorization.id, 0), 0),
            written,
            discharge=discharge,
            frequency=frequency,
            weeks=weeks,
        ),
        flags=flags,
        warnings=warnings,
        intake=_intake_facts(intake),
        treatment=_treatment(conn, in_period, ordered),
        objective=texts["objective"][0],
        objective_from=texts["objective"][1],
        home_program=texts["home_program"][0],
        home_program_from=texts["home_program"][1],
        note_sources=sources,
    )
    return summary


def record_report(conn: sqlite3.Connection, case_id: int, written: date, period: Period) -> bool:
    """Note that a progress report for `period` was sent on `written`. Call inside the command's
    transaction. Writing the same report again on the same day is not a second report: returns
    False and records nothing."""
    exists = conn.execute(
        "SELECT 1 FROM progress_report WHERE case_id = ? AND written = ? AND period_from = ? "
        "AND period_to = ?",
        (case_id, written.isoformat(), period.first.isoformat(), period.last.isoformat()),
    ).fetchone()
    if exists:
        return False
    report_id = db.insert(
        conn,
        "progress_report",
        {
            "case_id": case_id,
            "written": written.isoformat(),
            "period_from": period.first.isoformat(),
            "period_to": period.last.isoformat(),
            "last_session_id": conn.execute("SELECT max(id) FROM session").fetchone()[0],
            "created": now_stamp(),
        },
    )
    db.audit(conn, "write", "progress_report", report_id)
    return True


def reports(conn: sqlite3.Connection, case_id: int) -> list[dict]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT id, written, period_from, period_to FROM progress_report WHERE case_id = ? "
            "ORDER BY written, id",
            (case_id,),
        )
    ]


def due_cases(conn: sqlite3.Connection, on: date) -> list[dict]:
    """Open cases whose progress report is due on `on` (SPEC §5), ordered by client name: the
    same case states as `report due` (reports.case_states), so the two lists cannot differ."""
    from medmassage.documents.reports import case_states

    return [
        {
            "case_id": s.case_id,
            "client_id": s.client_id,
            "client": s.client,
            "payer_type": s.payer_type,
            "reasons": list(s.report.reasons),
        }
        for s in case_states(conn, on)
        if s.report.due
    ]


def file_stem(client_name: str, case_id: int, written: date) -> str:
    """A file name for `summary --all-due`: ascii-folded name, case id and date."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", client_name).encode("ascii", "ignore").decode()
    slug = "-".join("".join(ch if ch.isalnum() else " " for ch in folded.lower()).split())
    return f"{slug or 'client'}-case{case_id}-progress-{written.isoformat()}"
