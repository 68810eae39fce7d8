"""A case's authorizations (prescriptions and payer approvals): recorded, renewed, read (SPEC §10).

The rules that place visits under them are the pure functions of coverage.py; this module reads
and writes the rows, and puts the two together for a case (`case_coverage`).
"""

import json
import sqlite3
from collections.abc import Iterable
from datetime import date, timedelta
from typing import NamedTuple

from medmassage.errors import InputError
from medmassage.rules.coverage import (
    InForce,
    Standing,
    Visit,
    Window,
    cover,
    in_force,
    segments,
    used,
    window_for,
)
from medmassage.rules.dates import now_stamp, parse_date
from medmassage.store import db


class Authorization(NamedTuple):
    """One authorization as read, with its number in the case (1 = the first written)."""

    id: int
    case_id: int
    number: int
    prescriber: str
    prescriber_credentials: str | None
    prescriber_npi: str | None
    written: date
    valid_from: date
    valid_until: date
    visits: int
    frequency: str | None
    areas_ordered: str  # the JSON list as stored (parsed by `areas` only when asked)
    auth_number: str | None
    note: str | None

    @property
    def areas(self) -> list[str]:
        return json.loads(self.areas_ordered)

    @property
    def window(self) -> Window:
        return Window(self.id, self.written, self.valid_from, self.valid_until, self.visits)

    @property
    def prescriber_line(self) -> str:
        """ "Susan Lee, MD": the name with the credentials, as documents print it."""
        if self.prescriber_credentials:
            return f"{self.prescriber}, {self.prescriber_credentials}"
        return self.prescriber

    @property
    def label(self) -> str:
        """How messages and documents name it: 'the prescription of 2026-10-21' for the first,
        'renewal 2 of 2026-11-16' for a later one."""
        if self.number == 1:
            return f"the prescription of {self.written.isoformat()}"
        return f"renewal {self.number} of {self.written.isoformat()}"

    @property
    def span(self) -> str:
        return f"{self.valid_from.isoformat()} to {self.valid_until.isoformat()}"

    def to_dict(self, visits_used: int | None = None) -> dict:
        """The stable JSON of an authorization (`case show`, `progress`, `summary`)."""
        data = {
            "id": self.id,
            "number": self.number,
            "prescriber": self.prescriber,
            "prescriber_credentials": self.prescriber_credentials,
            "prescriber_npi": self.prescriber_npi,
            "written": self.written.isoformat(),
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "visits_allowed": self.visits,
            "frequency": self.frequency,
            "areas_ordered": self.areas,
            "auth_number": self.auth_number,
            "note": self.note,
        }
        if visits_used is not None:
            data["visits_used"] = visits_used
        return data


_COLUMNS = (
    "id, case_id, prescriber, prescriber_credentials, prescriber_npi, written, valid_from, "
    "valid_until, visits, frequency, areas_ordered, auth_number, note"
)


def _rows_to_authorizations(rows: list[sqlite3.Row]) -> list[Authorization]:
    out = []
    for number, r in enumerate(rows, start=1):
        out.append(
            Authorization(
                id=r[0],
                case_id=r[1],
                number=number,
                prescriber=r[2],
                prescriber_credentials=r[3],
                prescriber_npi=r[4],
                written=date.fromisoformat(r[5]),
                valid_from=date.fromisoformat(r[6]),
                valid_until=date.fromisoformat(r[7]),
                visits=r[8],
                frequency=r[9],
                areas_ordered=r[10],
                auth_number=r[11],
                note=r[12],
            )
        )
    return out


def load(conn: sqlite3.Connection, case_id: int) -> list[Authorization]:
    """A case's authorizations in the order written (coverage.precedence)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM authorization WHERE case_id = ? ORDER BY written, id",
        (case_id,),
    ).fetchall()
    return _rows_to_authorizations(rows)


def load_many(conn: sqlite3.Connection, case_ids: list[int]) -> dict[int, list[Authorization]]:
    """The authorizations of many cases in one query."""
    grouped: dict[int, list[sqlite3.Row]] = {case_id: [] for case_id in case_ids}
    for r in conn.execute(
        f"SELECT {_COLUMNS} FROM authorization "
        "WHERE case_id IN (SELECT value FROM json_each(?)) ORDER BY case_id, written, id",
        (json.dumps(case_ids),),
    ):
        grouped[r[1]].append(r)
    return {case_id: _rows_to_authorizations(rows) for case_id, rows in grouped.items()}


def load_numbered(conn: sqlite3.Connection, numbers: dict[int, int]) -> dict[int, Authorization]:
    """Authorizations by id, each given its number in its case (`numbers`: id -> number, from
    the place of its window in load_windows): the one in force of many cases, without reading
    every renewal in full."""
    found = {}
    for r in conn.execute(
        f"SELECT {_COLUMNS} FROM authorization WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(numbers)),),
    ):
        found[r[0]] = _rows_to_authorizations([r])[0]._replace(number=numbers[r[0]])
    return found


def windows(authorizations: list[Authorization]) -> list[Window]:
    return [a.window for a in authorizations]


def case_visits(conn: sqlite3.Connection, case_id: int) -> list[Visit]:
    """The case's non-void visits, in visit order."""
    return [
        Visit(r[0], date.fromisoformat(r[1]), r[2])
        for r in conn.execute(
            "SELECT id, date, start_time FROM session WHERE case_id = ? AND status != 'void' "
            "ORDER BY date, coalesce(start_time, ''), id",
            (case_id,),
        )
    ]


class CaseCoverage(NamedTuple):
    """A case's authorizations and where each of its visits stands (derived, never stored)."""

    authorizations: list[Authorization]
    standings: list[Standing]  # every non-void visit, in visit order

    @property
    def by_session(self) -> dict[int, Standing]:
        return {s.session_id: s for s in self.standings}

    @property
    def used(self) -> dict[int, int]:
        return used(self.standings)

    def by_id(self, authorization_id: int | None) -> Authorization | None:
        return next((a for a in self.authorizations if a.id == authorization_id), None)

    def in_force(self, on: date) -> InForce | None:
        return in_force(windows(self.authorizations), on)

    def current(self, on: date) -> Authorization:
        """The authorization that speaks for the case on `on` (in force, else the last to have
        ended, else the first to begin)."""
        found = self.in_force(on)
        assert found is not None, "a case always has an authorization"
        match = self.by_id(found.window.id)
        assert match is not None
        return match

    def areas_ordered(self, first: date, last: date, session_ids: Iterable[int]) -> list[str]:
        """The body areas a period's treatment was ordered for: those of every authorization
        valid on some day of the period, of the one that speaks for the case on its last day,
        and of those the period's (non-void) visits fall under. Each area once, in the order
        the authorizations name them. The summary and the chart notes both ask this."""
        kept = set(session_ids)
        ordered_by = {s.authorization_id for s in self.standings if s.session_id in kept}
        ordered_by.add(self.current(last).id)
        areas: dict[str, None] = {}
        for a in self.authorizations:
            if a.id in ordered_by or (a.valid_from <= last and a.valid_until >= first):
                areas.update(dict.fromkeys(a.areas))
        return list(areas)


def case_coverage(
    conn: sqlite3.Connection, case_id: int, visits: list[Visit] | None = None
) -> CaseCoverage:
    """Load a case's authorizations and place its visits (`visits`: already read)."""
    authorizations = load(conn, case_id)
    found = case_visits(conn, case_id) if visits is None else visits
    return CaseCoverage(authorizations, cover(windows(authorizations), found))


# --- recording --------------------------------------------------------------------------------


class AuthorizationInput(NamedTuple):
    """An authorization as typed (`case open`, `case renew`). None = not given."""

    written: str
    valid_until: str
    visits: str
    valid_from: str | None = None
    prescriber: str | None = None
    prescriber_credentials: str | None = None
    prescriber_npi: str | None = None
    frequency: str | None = None
    areas: list[str] | None = None
    auth_number: str | None = None
    note: str | None = None


def authorization_values(
    given: AuthorizationInput, previous: Authorization | None = None
) -> dict[str, object]:
    """Validate an authorization; what is not given comes from `previous` (a renewal keeps the
    prescriber, frequency and areas of the last one unless told otherwise). Checks nothing
    against the other authorizations (add_authorization does)."""
    from medmassage.rules.validate import (
        NAME_MAX,
        clean_text,
        parse_frequency,
        parse_int,
        parse_npi,
        parse_regions,
        required_text,
    )

    written = parse_date("rx-date", given.written, allow_future=False)
    start = parse_date("from", given.valid_from) if given.valid_from else written
    until = parse_date("rx-until", given.valid_until)
    if until < start:
        what = "--from" if given.valid_from else "the Rx date"
        raise InputError(
            "rx-until", given.valid_until, f"must be on or after {what} {start.isoformat()}"
        )
    visits = parse_int("visits", given.visits, 1, 999, "visits authorized")
    if given.prescriber is not None or previous is None:
        prescriber = required_text("referrer", given.prescriber, max_len=NAME_MAX)
    else:
        prescriber = previous.prescriber
    same_prescriber = previous is not None and prescriber == previous.prescriber
    credentials = clean_text(
        "referrer-credentials", given.prescriber_credentials, max_len=40, multiline=False
    )
    npi = parse_npi("referrer-npi", given.prescriber_npi)
    if same_prescriber and previous is not None:
        credentials = credentials or previous.prescriber_credentials
        npi = npi or previous.prescriber_npi
    frequency = parse_frequency(given.frequency)
    if given.frequency is None and previous is not None:
        frequency = previous.frequency
    if given.areas:
        areas = parse_regions(given.areas, required=False)
    else:
        areas = list(previous.areas) if previous is not None else []
    return {
        "prescriber": prescriber,
        "prescriber_credentials": credentials,
        "prescriber_npi": npi,
        "written": written.isoformat(),
        "valid_from": start.isoformat(),
        "valid_until": until.isoformat(),
        "visits": visits,
        "frequency": frequency,
        "areas_ordered": json.dumps(areas),
        "auth_number": clean_text("auth-number", given.auth_number, max_len=80, multiline=False),
        "note": clean_text("note", given.note, max_len=2000),
    }


def add_authorization(conn: sqlite3.Connection, case_id: int, values: dict[str, object]) -> int:
    """Insert an authorization (inside the caller's transaction), refusing one whose window
    overlaps another written the same day: which of the two would be in force is then unknown.
    """
    for other in load(conn, case_id):
        if (
            other.written.isoformat() == values["written"]
            and other.valid_from.isoformat() <= str(values["valid_until"])
            and str(values["valid_from"]) <= other.valid_until.isoformat()
        ):
            raise InputError(
                "rx-date",
                values["written"],
                f"{other.label} ({other.span}) was written the same day and its dates overlap "
                "these; authorizations written the same day must not overlap (give a --from "
                "after its end, or another --rx-date)",
            )
    authorization_id = db.insert(
        conn, "authorization", {"case_id": case_id, **values, "created": now_stamp()}
    )
    db.audit(conn, "add", "authorization", authorization_id)
    return authorization_id


class Renewed(NamedTuple):
    authorization: Authorization
    warnings: list[str]
    changed: list[tuple[Standing, Standing]]  # visits whose standing the renewal changed


def renew_case(conn: sqlite3.Connection, case: sqlite3.Row, given: AuthorizationInput) -> Renewed:
    """`case renew`: the case's next authorization. Visits already logged whose standing it
    changes (a backdated approval covering them, say) are reported."""
    with db.transaction(conn):
        before = case_coverage(conn, case["id"])
        latest = before.authorizations[-1] if before.authorizations else None
        values = authorization_values(given, previous=latest)
        authorization_id = add_authorization(conn, case["id"], values)
        after = case_coverage(conn, case["id"])
    new = after.by_id(authorization_id)
    assert new is not None
    old = before.by_session
    changed = [(old[s.session_id], s) for s in after.standings if old[s.session_id] != s]
    warnings = _renewal_warnings(new, after)
    if case["status"] == "closed":
        warnings.append(
            f"case {case['id']} is closed: the renewal covers the visits already logged in its "
            "dates; a new visit needs an open case"
        )
    return Renewed(new, warnings, changed)


def _renewal_warnings(new: Authorization, coverage: CaseCoverage) -> list[str]:
    """A renewal that leaves days uncovered before it starts says so."""
    every = windows(coverage.authorizations)
    ended = [a for a in coverage.authorizations if a.valid_until < new.valid_from]
    if not ended:
        return []
    last = max(ended, key=lambda a: a.valid_until)
    first_gap_day = last.valid_until + timedelta(days=1)
    if window_for(every, first_gap_day) is not None:
        return []
    return [
        f"gap: {last.label} ends {last.valid_until.isoformat()} and {new.label} starts "
        f"{new.valid_from.isoformat()}; visits in between are outside the prescription"
    ]


def load_windows(conn: sqlite3.Connection, case_ids: list[int]) -> dict[int, list[Window]]:
    """What the coverage rule needs of many cases' authorizations, in the order written (the
    number of each is its place + 1): lighter than load_many for listings of every case."""
    grouped: dict[int, list[Window]] = {case_id: [] for case_id in case_ids}
    days: dict[str, date] = {}

    def day(iso: str) -> date:
        found = days.get(iso)
        if found is None:
            found = days[iso] = date.fromisoformat(iso)
        return found

    for case_id, authorization_id, written, start, until, visits in conn.execute(
        "SELECT case_id, id, written, valid_from, valid_until, visits FROM authorization "
        "WHERE case_id IN (SELECT value FROM json_each(?)) ORDER BY case_id, written, id",
        (json.dumps(case_ids),),
    ):
        grouped[case_id].append(
            Window(authorization_id, day(written), day(start), day(until), visits)
        )
    return grouped


_RUNS_PER_QUERY = 2000  # 8,000 bound values: SQLite 3.37 allows 32,766


def used_counts(
    conn: sqlite3.Connection,
    by_case: dict[int, list[Window]],
    on: date | None = None,
    only: set[int] | None = None,
) -> dict[int, int]:
    """Non-void visits (dated up to `on`) per authorization id, for many cases at once, counted
    in SQL through the (case_id, date, status) index: each authorization's days cut into runs
    by the same rule as coverage.cover (coverage.segments), one index range per run. `only`:
    count these authorization ids alone (the others are 0)."""
    runs = []
    for case_id, found in by_case.items():
        for seg in segments(found):
            if only is not None and seg.authorization_id not in only:
                continue
            last = seg.last if on is None else min(seg.last, on)
            if seg.first <= last:
                first = seg.first.isoformat()
                runs.append((seg.authorization_id, case_id, first, last.isoformat()))
    counts = {w.id: 0 for found in by_case.values() for w in found}
    for start in range(0, len(runs), _RUNS_PER_QUERY):
        batch = runs[start : start + _RUNS_PER_QUERY]
        # One index range of the covering (case_id, date, status) index per run, counted in a
        # subquery: bound VALUES rows, because json_each with json_extract per row cost four
        # times as much (the JSON re-parsed for every column), and a GROUP BY a temp B-tree.
        rows = ", ".join(["(?, ?, ?, ?)"] * len(batch))
        for authorization_id, count in conn.execute(
            f"WITH run(authorization_id, case_id, first, last) AS (VALUES {rows}) "
            "SELECT authorization_id, (SELECT count(*) FROM session s WHERE s.case_id = "
            "run.case_id AND s.date BETWEEN run.first AND run.last AND s.status != 'void') "
            "FROM run",
            [value for r in batch for value in r],
        ):
            counts[authorization_id] += count
    return counts


def standings_of(conn: sqlite3.Connection, case_ids: list[int]) -> dict[int, Standing]:
    """Every non-void visit's standing (by session id) in the cases named, in two queries."""
    by_case = load_many(conn, case_ids)
    visits: dict[int, list[Visit]] = {case_id: [] for case_id in case_ids}
    days: dict[str, date] = {}
    for case_id, session_id, iso, start_time in conn.execute(
        "SELECT case_id, id, date, start_time FROM session WHERE status != 'void' "
        "AND case_id IN (SELECT value FROM json_each(?))",
        (json.dumps(case_ids),),
    ):
        day = days.get(iso) or days.setdefault(iso, date.fromisoformat(iso))
        visits[case_id].append(Visit(session_id, day, start_time))
    return {
        s.session_id: s
        for case_id, authorizations in by_case.items()
        for s in cover(windows(authorizations), visits[case_id])
    }
