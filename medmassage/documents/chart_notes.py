"""The chart notes of a period (issue 13): every visit's full, signed note, for an adjuster.

Workers' comp (WA L&I attaches chart notes to every bill) and auto PIP adjusters ask for the
signed visit notes of a period. `build_notes` gathers them for one case and period into a plain
`ChartNotes`; `ChartNotes.to_dict()` is the JSON contract (`notes -f json`, README), and
documents/notes_layout.py draws the PDF, HTML and Markdown from the same dict. `visit_notes` is
one visit's (`session show ID -o visit.pdf`).

The visits come from chart.load_visits (numbers, techniques, CPT lines and their standing under
the authorizations, as `progress` and `summary` read them); void sessions, which it leaves out,
from sessions.session_detail. Only what those do not read is queried here: the notes, the
signing time and the addenda.

Writing chart notes records nothing: they are not a report sent (no report-due clock restarts),
and, like `export` and `superbill`, no audit row is written for reading the record.

Times (signed, voided, addenda) are shown in the practice's time zone: the profile's
`time_zone` when it has one, else this computer's, and the document says which.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from medmassage.documents.progress_report import VisitRow, load_visits
from medmassage.documents.summary import Period, require_profile, start_of_care, visit_flags
from medmassage.errors import InputError
from medmassage.record.cases import diagnoses
from medmassage.record.profile import identity
from medmassage.record.sessions import NOTE_FIELDS, get_session_row, session_detail
from medmassage.rules.catalog import CPT_CODES


@dataclass
class Zone:
    """Where the document's times are shown: a named zone from the profile, or the computer's
    (None: each time converted with the computer's rules, daylight saving included)."""

    name: str | None
    tz: tzinfo | None

    def at(self, stamp: str) -> datetime:
        moment = datetime.fromisoformat(stamp)
        return moment.astimezone(self.tz) if self.tz is not None else moment.astimezone()

    def to_dict(self) -> dict:
        offset = datetime.now().astimezone(self.tz).strftime("%z")
        return {
            "name": self.name,
            "source": "profile" if self.name else "computer",
            "offset_now": f"{offset[:3]}:{offset[3:]}",
        }


def practice_zone(profile: dict) -> Zone:
    """The profile's `time_zone` (an IANA name such as America/Los_Angeles) if the profile has
    that setting and it is set; otherwise the computer's local zone."""
    name = profile.get("time_zone")
    if not name:
        return Zone(None, None)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return Zone(name, ZoneInfo(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            "time-zone", name, "not a known time zone name (e.g. America/Los_Angeles)"
        ) from None


@dataclass
class VisitNote:
    session_id: int
    visit: int | None  # its number on the claim; None when void
    day: str
    start_time: str | None
    status: str  # draft, signed, void
    minutes: int
    regions: list[str]
    techniques: list[tuple[str, int]]
    cpt: list[tuple[str, int, int]]  # (code, minutes, units)
    units_rule: str
    pain_pre: int
    pain_post: int
    notes: dict[str, str | None]
    addenda: list[dict]  # id, created (ISO stamp), author, text
    signed_at: str | None  # ISO stamp as recorded
    void_reason: str | None
    voided_at: str | None
    flags: list[str]

    @property
    def units(self) -> int:
        return sum(u for _, _, u in self.cpt)

    def to_dict(self, therapist: dict, zone: Zone) -> dict:
        signed = self.signed_at is not None
        return {
            "session_id": self.session_id,
            "visit": self.visit,
            "date": self.day,
            "start_time": self.start_time,
            "status": self.status,
            "minutes": self.minutes,
            "regions": self.regions,
            "techniques": [{"technique": t, "minutes": m} for t, m in self.techniques],
            "cpt": [
                {"code": c, "label": _cpt_label(c), "minutes": m, "units": u}
                for c, m, u in self.cpt
            ],
            "units": self.units,
            "units_rule": self.units_rule,
            "pain_pre": self.pain_pre,
            "pain_post": self.pain_post,
            "relief": self.pain_pre - self.pain_post,
            "notes": {k: self.notes.get(k) for k in NOTE_FIELDS},
            "addenda": [
                {
                    "id": a["id"],
                    "written": _iso(zone.at(a["created"])),
                    "author": a["author"],
                    "text": a["text"],
                }
                for a in self.addenda
            ],
            "signature": {
                "signed": signed,
                "signed_at": _iso(zone.at(self.signed_at)) if signed else None,
                **{
                    k: therapist.get(k)
                    for k in ("name", "credentials", "license_number", "license_state", "npi")
                },
            },
            "void": (
                {
                    "reason": self.void_reason,
                    "voided_at": _iso(zone.at(self.voided_at)) if self.voided_at else None,
                }
                if self.status == "void"
                else None
            ),
            "flags": self.flags,
        }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _cpt_label(code: str) -> str:
    known = CPT_CODES.get(code)
    return known.label if known else code


@dataclass
class ChartNotes:
    written: date
    period: Period
    therapist: dict
    client: dict
    case: dict
    diagnoses: list[dict]
    visits: list[VisitNote]  # the sessions of the period, void ones included, oldest first
    zone: Zone
    areas_ordered: list[str]  # by the authorizations in force during the period
    single: bool = False  # one visit (session show), not a period

    def totals(self) -> dict:
        kept = [v for v in self.visits if v.status != "void"]
        units_by_cpt: dict[str, int] = {}
        for v in kept:
            for code, _, units in v.cpt:
                units_by_cpt[code] = units_by_cpt.get(code, 0) + units
        return {
            "visits": len(kept),
            "signed": sum(v.status == "signed" for v in kept),
            "unsigned": sum(v.status == "draft" for v in kept),
            "void": len(self.visits) - len(kept),
            "minutes": sum(v.minutes for v in kept),
            "units": sum(v.units for v in kept),
            "units_by_cpt": dict(sorted(units_by_cpt.items())),
        }

    def regions_treated(self) -> list[dict]:
        """The regions of the period's visits (void ones left out), with how many visits treated
        each, in the order first treated: what the body diagram shades."""
        counts: dict[str, int] = {}
        for v in self.visits:
            if v.status != "void":
                for region in v.regions:
                    counts[region] = counts.get(region, 0) + 1
        return [{"region": r, "visits": n} for r, n in counts.items()]

    def to_dict(self) -> dict:
        """The stable JSON contract of `notes -f json` (documented in the README)."""
        c = self.case
        return {
            "document": "chart-note" if self.single else "chart-notes",
            "written": self.written.isoformat(),
            "period": self.period.to_dict(),
            "time_zone": self.zone.to_dict(),
            "therapist": self.therapist,
            "client": self.client,
            "case": {
                k: c[k]
                for k in (
                    "id",
                    "status",
                    "payer_type",
                    "payer_name",
                    "policy",
                    "claim",
                    "injury_date",
                    "adjuster",
                    "units_rule",
                )
            },
            "diagnoses": self.diagnoses,
            "visits": [v.to_dict(self.therapist, self.zone) for v in self.visits],
            "totals": self.totals(),
            "regions_treated": self.regions_treated(),
            "areas_ordered": self.areas_ordered,
        }


def default_period(conn: sqlite3.Connection, case_id: int, on: date) -> Period:
    """The whole case: from the start of care (intake or first visit) up to `on`."""
    first = start_of_care(conn, case_id) or on
    return Period(min(first, on), on)


def _kept(v: VisitRow, row: sqlite3.Row, addenda: list[dict]) -> VisitNote:
    return VisitNote(
        session_id=v.session_id,
        visit=v.visit,
        day=v.day,
        start_time=v.start_time,
        status=v.status,
        minutes=v.minutes,
        regions=v.regions,
        techniques=v.techniques,
        cpt=v.cpt,
        units_rule=row["units_rule"],
        pain_pre=v.pre,
        pain_post=v.post,
        notes={k: row[k] for k in NOTE_FIELDS},
        addenda=addenda,
        signed_at=row["signed_at"],
        void_reason=None,
        voided_at=None,
        flags=visit_flags(v),
    )


def _void(detail: dict) -> VisitNote:
    return VisitNote(
        session_id=detail["id"],
        visit=None,
        day=detail["date"],
        start_time=detail["start_time"],
        status="void",
        minutes=detail["minutes"],
        regions=detail["regions"],
        techniques=[(t["technique"], t["minutes"]) for t in detail["techniques"]],
        cpt=[(c["cpt"], c["minutes"], c["units"]) for c in detail["cpt"]],
        units_rule=detail["units_rule"],
        pain_pre=detail["pain_pre"],
        pain_post=detail["pain_post"],
        notes={k: detail[k] for k in NOTE_FIELDS},
        addenda=detail["addenda"],
        signed_at=detail["signed_at"],
        void_reason=detail["void_reason"],
        voided_at=detail["voided_at"],
        flags=["void"],
    )


def build_notes(
    conn: sqlite3.Connection,
    case_id: int,
    period: Period,
    written: date,
    *,
    session_id: int | None = None,
) -> ChartNotes:
    """The notes of every session of the case dated in `period` (or of `session_id` alone)."""
    profile = require_profile(conn)
    zone = practice_zone(profile)
    case = dict(conn.execute("SELECT * FROM care_case WHERE id = ?", (case_id,)).fetchone())
    client = dict(
        conn.execute(
            "SELECT id, name, dob FROM client WHERE id = ?", (case["client_id"],)
        ).fetchone()
    )
    bounds = (case_id, period.first.isoformat(), period.last.isoformat())
    rows = {
        r["id"]: r
        for r in conn.execute(
            f"SELECT id, status, units_rule, signed_at, {', '.join(NOTE_FIELDS)} FROM session "
            "WHERE case_id = ? AND date BETWEEN ? AND ?",
            bounds,
        )
        if session_id is None or r["id"] == session_id
    }
    if not rows:
        raise InputError(
            "period",
            f"{period.first.isoformat()} to {period.last.isoformat()}",
            f"no visits of case {case_id} in this period; choose another with --from/--to",
        )
    addenda: dict[int, list[dict]] = {}
    for a in conn.execute(
        "SELECT a.id, a.session_id, a.created, a.author, a.text FROM addendum a "
        "JOIN session s ON s.id = a.session_id "
        "WHERE s.case_id = ? AND s.date BETWEEN ? AND ? ORDER BY a.id",
        bounds,
    ):
        if a["session_id"] in rows:
            addenda.setdefault(a["session_id"], []).append(
                {k: a[k] for k in ("id", "created", "author", "text")}
            )
    every, _, coverage = load_visits(conn, case_id)
    visits = [
        _kept(v, rows[v.session_id], addenda.get(v.session_id, []))
        for v in every
        if v.session_id in rows
    ]
    visits += [_void(session_detail(conn, i)) for i, r in rows.items() if r["status"] == "void"]
    visits.sort(key=lambda v: (v.day, v.start_time or "", v.session_id))
    return ChartNotes(
        written=written,
        period=period,
        therapist=identity(profile),
        client=client,
        case=case,
        diagnoses=diagnoses(conn, case_id),
        visits=visits,
        zone=zone,
        areas_ordered=coverage.areas_ordered(
            period.first, period.last, (v.session_id for v in visits if v.status != "void")
        ),
        single=session_id is not None,
    )


def visit_notes(conn: sqlite3.Connection, session_id: int, written: date) -> ChartNotes:
    """One session's chart note, in the layout of the period's (`session show ID -o FILE`)."""
    row = get_session_row(conn, session_id)
    day = date.fromisoformat(row["date"])
    return build_notes(conn, row["case_id"], Period(day, day), written, session_id=session_id)
