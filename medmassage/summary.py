"""The insurer progress summary (SPEC §7.2): what an adjuster needs to approve more visits.

`build_summary` gathers the facts for one case and reporting period into a plain `Summary`;
`Summary.to_dict()` is the stable JSON contract, and documents/ draws the PDF, HTML and
Markdown from the same dict, so every format carries the same facts. `record_report` notes that
a report was sent, which restarts the report-due clock (SPEC §5).
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass, field
from datetime import date, timedelta

from medmassage import db
from medmassage.cases import diagnoses, last_report
from medmassage.catalog import CPT_CODES, MCID
from medmassage.chart import VisitRow, load_visits, measure_changes
from medmassage.dates import now_stamp
from medmassage.errors import InputError
from medmassage.intake import get_intake, goals
from medmassage.profile import get_profile, missing_for_documents
from medmassage.progress import change
from medmassage.validate import frequency_per_week

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
    action: str  # 'continue' or 'discharge'
    frequency: str | None
    weeks: int | None
    visits: int | None
    through: date | None
    needs_authorization: bool
    needs_new_rx: bool
    reason: str | None

    @property
    def text(self) -> str:
        if self.action == "discharge":
            return "Discharge from care" + (f": {self.reason}." if self.reason else ".")
        count = f" ({self.visits} visit{'s' if self.visits != 1 else ''})" if self.visits else ""
        weeks = f"{self.weeks} week" + ("s" if self.weeks != 1 else "")
        out = (
            f"Continue treatment {self.frequency} for {weeks}{count}, "
            f"through {self.through.isoformat() if self.through else ''}."
        )
        if self.needs_authorization:
            out += " This requires authorization of further visits."
        if self.needs_new_rx:
            out += " The prescription must be renewed to continue past its valid-until date."
        return out

    def to_dict(self) -> dict:
        return {
            "action": self.action,
            "frequency": self.frequency,
            "weeks": self.weeks,
            "visits": self.visits,
            "through": self.through.isoformat() if self.through else None,
            "needs_authorization": self.needs_authorization,
            "needs_new_rx": self.needs_new_rx,
            "text": self.text,
        }


def recommend(
    case: dict,
    visits_remaining: int,
    on: date,
    *,
    discharge: bool = False,
    frequency: str | None = None,
    weeks: int | None = None,
) -> Recommendation:
    """Continue at the ordered frequency for as long as the remaining authorized visits last
    (or DEFAULT_REQUEST_WEEKS when none remain), unless the case is closed or discharge is asked.
    """
    if discharge or case["status"] == "closed":
        return Recommendation(
            "discharge", None, None, None, None, False, False, case.get("close_reason")
        )
    freq = frequency or case["frequency"] or "1x/week"
    per_week = frequency_per_week(freq)
    if weeks is None:
        if per_week and visits_remaining > 0:
            weeks = math.ceil(visits_remaining / per_week)
        else:
            weeks = DEFAULT_REQUEST_WEEKS
    planned = per_week * weeks if per_week else None
    through = on + timedelta(weeks=weeks)
    needs_auth = planned > visits_remaining if planned is not None else visits_remaining == 0
    needs_rx = through > date.fromisoformat(case["rx_until"])
    return Recommendation("continue", freq, weeks, planned, through, needs_auth, needs_rx, None)


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
    visits_used: int
    outcomes: list[dict]
    goals: list[dict]
    assessment: str
    assessment_from: str | None  # 'session N on DATE' or 'given'
    plan: str
    plan_from: str | None
    recommendation: Recommendation
    flags: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # for the therapist, not the document

    @property
    def visits_remaining(self) -> int:
        return max(self.case["visits_authorized"] - self.visits_used, 0)

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
        c = self.case
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
                "referrer": c["referrer"],
                "referrer_npi": c["referrer_npi"],
                "rx_date": c["rx_date"],
                "rx_until": c["rx_until"],
                "frequency": c["frequency"],
                "areas_ordered": c["areas_ordered"],
                "units_rule": c["units_rule"],
            },
            "diagnoses": self.diagnoses,
            "authorization": {
                "visits_authorized": c["visits_authorized"],
                "visits_used": self.visits_used,
                "visits_remaining": self.visits_remaining,
            },
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
                }
                for v in self.visits
            ],
            "totals": self.totals(),
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
            "assessment": self.assessment,
            "assessment_from": self.assessment_from,
            "plan": self.plan,
            "plan_from": self.plan_from,
            "recommendation": self.recommendation.to_dict(),
            "flags": self.flags,
        }


def mcid_text(measure: str) -> str:
    """The clinically important change of a measure, in words: '≥ 2 points or ≥ 30 %'."""
    rule = MCID[measure]
    text = f"≥ {rule.points:g} points"
    return text + (f" or ≥ {rule.percent:g} %" if rule.percent is not None else "")


def visit_flags(v: VisitRow) -> list[str]:
    out = []
    if v.status != "signed":
        out.append("unsigned")
    if v.rx_flag == "expired":
        out.append("after Rx expired")
    elif v.rx_flag == "not-yet-valid":
        out.append("before Rx date")
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


def _latest_note(visits: list[VisitRow], notes: dict[int, sqlite3.Row], column: str):
    for v in reversed(visits):
        text = notes[v.session_id][column]
        if text and text.strip():
            return text.strip(), f"visit {v.visit} on {v.day}"
    return "", None


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
    case["areas_ordered"] = json.loads(case["areas_ordered"])
    client = dict(
        conn.execute(
            "SELECT id, name, dob FROM client WHERE id = ?", (case["client_id"],)
        ).fetchone()
    )
    every, _ = load_visits(conn, case_id)
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
            "SELECT id, assessment, plan FROM session WHERE case_id = ?", (case_id,)
        )
    }
    intake = get_intake(conn, case_id)
    if intake is not None:
        baseline = (intake["pain"], intake["date"], "intake")
    else:
        baseline = (upto[0].pre, upto[0].day, "first visit")
    current = (in_period[-1].pre, in_period[-1].day)

    warnings = []
    if assessment is not None:
        assessment_text, assessment_from = assessment.strip(), "given"
    else:
        assessment_text, assessment_from = _latest_note(in_period, notes, "assessment")
        if not assessment_text:
            warnings.append("no assessment in this period's notes; give one with --assessment")
    if plan is not None:
        plan_text, plan_from = plan.strip(), "given"
    else:
        plan_text, plan_from = _latest_note(in_period, notes, "plan")
        if not plan_text:
            warnings.append("no plan in this period's notes; give one with --plan")
    unsigned = [v.session_id for v in in_period if v.status != "signed"]
    if unsigned:
        warnings.append(
            f"{len(unsigned)} visit(s) in the period are unsigned drafts (sessions "
            + ", ".join(map(str, unsigned))
            + "); sign them with: medmassage session sign ID"
        )

    used = len(upto)
    flags = []
    rx_until = date.fromisoformat(case["rx_until"])
    after_rx = [v for v in in_period if v.rx_flag == "expired"]
    if after_rx:
        flags.append(
            f"Prescription expired on {rx_until.isoformat()}: {len(after_rx)} visit(s) in this "
            "period were after it."
        )
    elif written > rx_until:
        flags.append(f"Prescription expired on {rx_until.isoformat()}.")
    before_rx = [v for v in in_period if v.rx_flag == "not-yet-valid"]
    if before_rx:
        flags.append(
            f"{len(before_rx)} visit(s) in this period were before the prescription date "
            f"({case['rx_date']})."
        )
    over = [v for v in in_period if v.over_authorized]
    if used > case["visits_authorized"] or over:
        flags.append(
            f"Authorization exceeded: {used} visits used of {case['visits_authorized']} authorized."
        )
    overridden: dict[str, list[VisitRow]] = {}
    for v in in_period:
        if v.override_reason:
            overridden.setdefault(v.override_reason, []).append(v)
    for reason, group in overridden.items():
        which = ", ".join(f"{v.visit} ({v.day})" for v in group)
        flags.append(
            f"Visit{'s' if len(group) > 1 else ''} {which} logged past the guard: {reason}"
        )

    summary = Summary(
        written=written,
        period=period,
        therapist={k: profile[k] for k in profile if k not in ("fees", "report_rules")},
        client=client,
        case=case,
        diagnoses=diagnoses(conn, case_id),
        visits=in_period,
        all_visits=upto,
        visits_used=used,
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
            max(case["visits_authorized"] - used, 0),
            written,
            discharge=discharge,
            frequency=frequency,
            weeks=weeks,
        ),
        flags=flags,
        warnings=warnings,
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
    from medmassage.reports import case_states

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
