"""A client's chart for one case: loads the records and assembles the progress report (SPEC §7.1).

The report is plain data (dataclasses and a JSON-ready dict); render.py draws it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date

from medmassage.record.authorizations import Authorization, CaseCoverage, case_coverage
from medmassage.record.cases import diagnoses, report_status
from medmassage.record.intake import get_intake, goals
from medmassage.rules.catalog import MCID
from medmassage.rules.coverage import Visit
from medmassage.rules.progress import Change, ReportDue, change, relief, rule_text, sparkline


@dataclass
class VisitRow:
    visit: int
    session_id: int
    day: str
    start_time: str | None
    minutes: int
    techniques: list[tuple[str, int]]
    regions: list[str]
    pre: int
    post: int
    relief: int
    cpt: list[tuple[str, int, int]]  # (code, minutes, units)
    units: int
    status: str
    # Derived from the record when read (coverage.cover), never the values stored at logging:
    rx_flag: str | None
    over_authorized: bool
    override_reason: str | None
    authorization_id: int | None = None  # None: outside the prescription
    authorization_visit: int | None = None  # its place among that authorization's visits
    visits_allowed: int | None = None

    @property
    def flags(self) -> list[str]:

        return [self.status, *visit_flag_words(self.rx_flag, self.over_authorized)]


@dataclass
class MeasureChange:
    measure: str
    label: str
    activity: str | None
    baseline: float
    baseline_date: str
    latest: float
    latest_date: str
    change: Change


@dataclass
class Progress:
    client: dict
    case: dict
    diagnoses: list[dict]
    visits: list[VisitRow]
    voided: int
    baseline: int | None
    baseline_source: str | None
    current: int | None
    pain_change: Change | None
    average_relief: float | None
    trend: str
    measures: list[MeasureChange]
    goals: list[dict]
    coverage: CaseCoverage
    report: ReportDue
    report_rule: str
    on: date

    @property
    def authorization(self) -> Authorization:
        """The authorization in force today (else the last to have ended, or the next)."""
        return self.coverage.current(self.on)

    @property
    def authorization_state(self) -> str:
        found = self.coverage.in_force(self.on)
        assert found is not None
        return found.state

    @property
    def visits_used(self) -> int:
        """Visits under the authorization in force (the whole claim: len(visits))."""
        return self.coverage.used.get(self.authorization.id, 0)

    @property
    def visits_remaining(self) -> int:
        return max(self.authorization.visits - self.visits_used, 0)

    def to_dict(self) -> dict:
        """The stable JSON contract of `progress -f json` (documented in the README)."""
        pc = self.pain_change
        current = self.authorization
        used = self.coverage.used
        return {
            "client": {"id": self.client["id"], "name": self.client["name"]},
            "case": {
                "id": self.case["id"],
                "status": self.case["status"],
                "payer_type": self.case["payer_type"],
                "payer_name": self.case["payer_name"],
                "units_rule": self.case["units_rule"],
                "rx_date": current.written.isoformat(),
                "rx_until": current.valid_until.isoformat(),
                "rx_expired": self.authorization_state in ("expired", "gap"),
                "frequency": current.frequency,
                "diagnoses": self.diagnoses,
            },
            "as_of": self.on.isoformat(),
            "visits": [
                {
                    "visit": v.visit,
                    "session_id": v.session_id,
                    "date": v.day,
                    "minutes": v.minutes,
                    "techniques": [{"name": n, "minutes": m} for n, m in v.techniques],
                    "regions": v.regions,
                    "pain_pre": v.pre,
                    "pain_post": v.post,
                    "relief": v.relief,
                    "cpt": [{"code": c, "minutes": m, "units": u} for c, m, u in v.cpt],
                    "units": v.units,
                    "status": v.status,
                    "rx_flag": v.rx_flag,
                    "over_authorized": v.over_authorized,
                    "authorization_id": v.authorization_id,
                    "authorization_visit": v.authorization_visit,
                }
                for v in self.visits
            ],
            "voided_sessions": self.voided,
            "pain": {
                "baseline": self.baseline,
                "baseline_source": self.baseline_source,
                "current": self.current,
                "change_points": pc.improvement if pc else None,
                "change_percent": pc.percent if pc else None,
                "mcid_met": pc.mcid_met if pc else None,
                "average_relief": self.average_relief,
                "trend": self.trend,
            },
            "measures": [
                {
                    "measure": m.measure,
                    "activity": m.activity,
                    "baseline": m.baseline,
                    "baseline_date": m.baseline_date,
                    "latest": m.latest,
                    "latest_date": m.latest_date,
                    "improvement": m.change.improvement,
                    "mcid_points": MCID[m.measure].points,
                    "mcid_met": m.change.mcid_met,
                }
                for m in self.measures
            ],
            "goals": self.goals,
            "authorization": {
                "visits_authorized": current.visits,
                "visits_used": self.visits_used,
                "visits_remaining": self.visits_remaining,
                "id": current.id,
                "number": current.number,
                "state": self.authorization_state,
                "visits_on_claim": len(self.visits),
            },
            "authorizations": [a.to_dict(used.get(a.id, 0)) for a in self.coverage.authorizations],
            "progress_report": {
                "rule": self.report_rule,
                "due": self.report.due,
                "reasons": list(self.report.reasons),
                "visits_since": self.report.visits_since,
                "counted_from": self.report.anchor.isoformat() if self.report.anchor else None,
                "counted_from_kind": self.report.anchor_kind,
                "next_visit": self.report.next_visit,
                "next_date": self.report.next_date.isoformat() if self.report.next_date else None,
            },
        }


def load_visits(conn: sqlite3.Connection, case_id: int) -> tuple[list[VisitRow], int, CaseCoverage]:
    """The case's visits in order, with techniques, CPT lines and their standing under the
    authorizations (derived now); the count voided; the case's coverage."""
    sessions = conn.execute(
        "SELECT * FROM session WHERE case_id = ? ORDER BY date, coalesce(start_time, ''), id",
        (case_id,),
    ).fetchall()
    techniques: dict[int, list[tuple[str, int]]] = {}
    for r in conn.execute(
        "SELECT t.session_id, t.technique, t.minutes FROM session_technique t "
        "JOIN session s ON s.id = t.session_id WHERE s.case_id = ? ORDER BY t.position",
        (case_id,),
    ):
        techniques.setdefault(r[0], []).append((r[1], r[2]))
    cpt: dict[int, list[tuple[str, int, int]]] = {}
    for r in conn.execute(
        "SELECT p.session_id, p.cpt, p.minutes, p.units FROM session_cpt p "
        "JOIN session s ON s.id = p.session_id WHERE s.case_id = ? ORDER BY p.position",
        (case_id,),
    ):
        cpt.setdefault(r[0], []).append((r[1], r[2], r[3]))
    kept = [s for s in sessions if s["status"] != "void"]
    coverage = case_coverage(
        conn,
        case_id,
        [Visit(s["id"], date.fromisoformat(s["date"]), s["start_time"]) for s in kept],
    )
    rows = []
    standings = coverage.by_session
    for s in kept:
        standing = standings[s["id"]]
        lines = cpt.get(s["id"], [])
        rows.append(
            VisitRow(
                visit=standing.visit,
                session_id=s["id"],
                day=s["date"],
                start_time=s["start_time"],
                minutes=s["minutes"],
                techniques=techniques.get(s["id"], []),
                regions=json.loads(s["regions"]),
                pre=s["pain_pre"],
                post=s["pain_post"],
                relief=relief(s["pain_pre"], s["pain_post"]),
                cpt=lines,
                units=sum(u for _, _, u in lines),
                status=s["status"],
                rx_flag=standing.rx_flag,
                over_authorized=standing.over_authorized,
                override_reason=s["override_reason"],
                authorization_id=standing.authorization_id,
                authorization_visit=standing.place,
                visits_allowed=standing.allowed,
            )
        )
    return rows, len(sessions) - len(kept), coverage


def measure_changes(
    conn: sqlite3.Connection, case_id: int, until: date | None = None
) -> list[MeasureChange]:
    """Each outcome measure (PSFS: each activity) from its first score to its latest, up to
    and including `until` when given."""
    series: dict[tuple[str, str | None], list[sqlite3.Row]] = {}
    for r in conn.execute(
        "SELECT date, kind, activity, score FROM measure WHERE case_id = ? AND date <= ? "
        "ORDER BY date, id",
        (case_id, (until or date.max).isoformat()),
    ):
        key = (r["kind"], r["activity"].lower() if r["activity"] else None)
        series.setdefault(key, []).append(r)
    order = list(MCID)
    out = []
    for (kind, _), rows in sorted(
        series.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1] or "")
    ):
        first, last = rows[0], rows[-1]
        out.append(
            MeasureChange(
                measure=kind,
                label=MCID[kind].label,
                activity=first["activity"],
                baseline=first["score"],
                baseline_date=first["date"],
                latest=last["score"],
                latest_date=last["date"],
                change=change(kind, first["score"], last["score"]),
            )
        )
    return out


def build_progress(conn: sqlite3.Connection, case_id: int, on: date) -> Progress:
    case = dict(conn.execute("SELECT * FROM care_case WHERE id = ?", (case_id,)).fetchone())
    client = dict(
        conn.execute(
            "SELECT id, name, dob FROM client WHERE id = ?", (case["client_id"],)
        ).fetchone()
    )
    visits, voided, coverage = load_visits(conn, case_id)
    intake = get_intake(conn, case_id)
    if intake is not None:
        baseline, source = intake["pain"], "intake"
    elif visits:
        baseline, source = visits[0].pre, "first visit"
    else:
        baseline, source = None, None
    current = visits[-1].pre if visits else None
    pain_change = (
        change("nprs", baseline, current) if baseline is not None and current is not None else None
    )
    average_relief = round(sum(v.relief for v in visits) / len(visits), 1) if visits else None
    due, rule = report_status(conn, case, [date.fromisoformat(v.day) for v in visits], on)
    return Progress(
        client=client,
        case=case,
        diagnoses=diagnoses(conn, case_id),
        visits=visits,
        voided=voided,
        baseline=baseline,
        baseline_source=source,
        current=current,
        pain_change=pain_change,
        average_relief=average_relief,
        trend=sparkline([v.pre for v in visits]),
        measures=measure_changes(conn, case_id),
        goals=goals(conn, case_id),
        coverage=coverage,
        report=due,
        report_rule=rule_text(rule),
        on=on,
    )


# How the tables name a visit's standing (coverage.OUTSIDE_FLAGS, over authorized).
RX_FLAG_WORDS = {"expired": "Rx expired", "not-yet-valid": "before Rx", "gap": "between Rx"}


def visit_flag_words(rx_flag: str | None, over_authorized: bool) -> list[str]:
    out = [RX_FLAG_WORDS[rx_flag]] if rx_flag else []
    if over_authorized:
        out.append("over auth")
    return out
