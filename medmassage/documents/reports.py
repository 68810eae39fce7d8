"""Scripting reports (SPEC §7.3): `report monthly`, `report period` and `report due`.

Each report is plain data built from a handful of SQL aggregate queries (GROUP BY over the
`session_date` index; never a Python loop over every session), so `report monthly` stays
fast on a practice with 100,000 sessions. The CLI renders it: table on a terminal, JSON when
piped, CSV, Markdown. Nothing here touches the terminal. The rules themselves (report due,
MCID) are the pure functions of progress.py, called with the facts gathered here.

The JSON and CSV shapes are a stable contract (the README copies this docstring's examples).

`report monthly` / `report period`: one flat object in JSON; in CSV a header and one row, with
the same keys in the same order (PERIOD_KEYS):

    period_from, period_to, visits, clients_seen, new_clients, new_cases, clients_discharged,
    cases_closed, minutes, units, units_97010, units_97110, units_97112, units_97124,
    units_97140, visits_health, units_health, visits_workers_comp, units_workers_comp,
    visits_auto_pip, units_auto_pip, visits_fsa_hsa, units_fsa_hsa, visits_self_pay,
    units_self_pay, average_pain_pre, average_pain_post, average_relief, clients_reaching_mcid,
    summaries_written, progress_reports_due, rx_expiring, rx_expired, cases_over_authorized

- A period still running ends today (`period_to` is never after today).
- Voided sessions never count. `visits`, `minutes`, units and pain are over the visits dated in
  the period; `clients_seen` counts distinct clients with a visit in it.
- `new_clients`: clients created in the period (the local date of `client.created`);
  `new_cases`: cases opened in it; `clients_discharged`: clients whose discharge date is in it;
  `cases_closed`: cases closed in it (a discharge closes the client's open cases too).
- `units` and `units_CPT`: billed units (CPT lines as logged); `visits_PAYER`/`units_PAYER`
  per payer type (hyphens become underscores). Every code and payer type is always present.
- `average_pain_pre`, `average_pain_post`, `average_relief` (pre − post): one decimal, `null`
  (empty in CSV) when there were no visits.
- `clients_reaching_mcid`: clients seen in the period with a case whose NPRS change, from the
  baseline (intake pain, else the first visit's pre-pain) to the pre-pain of the latest visit
  up to `period_to`, reaches the MCID (≥ 2 points or ≥ 30 % of baseline).
- `summaries_written`: progress summaries recorded as sent (`summary … -o FILE`) in the period.
- As of `period_to`, over the cases open then: `progress_reports_due` (the payer's rule),
  `rx_expiring` (an authorization in force whose unbroken cover ends by the 14th day after),
  `rx_expired` (no authorization in force: the last one ended, or a gap), `cases_over_authorized`
  (cases with a visit beyond the visits of its authorization, any of them: coverage.py).

Example (`report monthly --month 2026-10 -f json`):

    {"period_from": "2026-10-01", "period_to": "2026-10-31", "visits": 6, "clients_seen": 3,
     "new_clients": 2, "new_cases": 2, "clients_discharged": 0, "cases_closed": 0,
     "minutes": 290, "units": 20, "units_97010": 0, "units_97110": 2, "units_97112": 0,
     "units_97124": 10, "units_97140": 8, "visits_health": 2, "units_health": 6,
     "visits_workers_comp": 2, "units_workers_comp": 6, "visits_auto_pip": 0,
     "units_auto_pip": 0, "visits_fsa_hsa": 0, "units_fsa_hsa": 0, "visits_self_pay": 2,
     "units_self_pay": 8, "average_pain_pre": 6.3, "average_pain_post": 3.7,
     "average_relief": 2.7, "clients_reaching_mcid": 1, "summaries_written": 0,
     "progress_reports_due": 1, "rx_expiring": 1, "rx_expired": 0, "cases_over_authorized": 0}

`report due`: a JSON array of flat items; in CSV a header and one row per item (DUE_KEYS):

    kind, client_id, client, case_id, payer_type, date, detail

- Open cases as of today (and, for `unsigned`, any case), ordered by client name, case id, kind.
- `kind` is one of `report-due` (a progress report is due; `date` = the day it fell due),
  `rx-expired` (no authorization in force; `date` = the last one's valid-until date),
  `rx-expiring` (cover ends today or within `--within` days, default 14; `date` = its last day,
  a renewal starting the day after included), `authorization` (the authorization in force has
  all its visits used, or more; `date` = the visit that reached the limit), `uncovered` (visits
  outside every authorization's dates or over an earlier one's visits; `date` = the first),
  `unsigned` (drafts dated before today; `date` = the oldest).
- `detail` is a sentence for people (its wording may change); scripts should use the others.

Example (`report due -f json`):

    [{"kind": "report-due", "client_id": 2, "client": "Bob Comp", "case_id": 2,
      "payer_type": "workers-comp", "date": "2026-11-12",
      "detail": "45 days since start of care"},
     {"kind": "rx-expiring", "client_id": 2, "client": "Bob Comp", "case_id": 2,
      "payer_type": "workers-comp", "date": "2026-12-05",
      "detail": "prescription valid until 2026-12-05: 8 days left"},
     {"kind": "authorization", "client_id": 2, "client": "Bob Comp", "case_id": 2,
      "payer_type": "workers-comp", "date": "2026-11-10",
      "detail": "4 of 3 authorized visits used: 1 over"}]
"""

import json
import sqlite3
from datetime import date, timedelta
from typing import NamedTuple

from medmassage.errors import InputError
from medmassage.record.authorizations import Authorization, load_numbered, load_windows, used_counts
from medmassage.rules.catalog import CPT_CODES, DEFAULT_REPORT_RULES, PAYER_TYPES, ReportRule
from medmassage.rules.coverage import Visit, Window, cover, covered_until, in_force
from medmassage.rules.dates import parse_period, parse_span
from medmassage.rules.progress import ReportDue, VisitCounts, change, report_due_counted
from medmassage.store.db import read_snapshot

RX_WINDOW_DAYS = 14  # "prescriptions expiring" look this many days ahead (report due: --within)
MAX_WITHIN_DAYS = 365
CPT_ORDER: tuple[str, ...] = tuple(sorted(CPT_CODES))
MONTH_HELP = "expected a month: 2026-10, this month or last month"


def _payer_key(payer_type: str) -> str:
    return payer_type.replace("-", "_")


PERIOD_KEYS: tuple[str, ...] = (
    "period_from",
    "period_to",
    "visits",
    "clients_seen",
    "new_clients",
    "new_cases",
    "clients_discharged",
    "cases_closed",
    "minutes",
    "units",
    *(f"units_{code}" for code in CPT_ORDER),
    *(f"{what}_{_payer_key(p)}" for p in PAYER_TYPES for what in ("visits", "units")),
    "average_pain_pre",
    "average_pain_post",
    "average_relief",
    "clients_reaching_mcid",
    "summaries_written",
    "progress_reports_due",
    "rx_expiring",
    "rx_expired",
    "cases_over_authorized",
)

DUE_KEYS: tuple[str, ...] = (
    "kind",
    "client_id",
    "client",
    "case_id",
    "payer_type",
    "date",
    "detail",
)
DUE_KINDS: tuple[str, ...] = (
    "report-due",
    "rx-expired",
    "rx-expiring",
    "authorization",
    "uncovered",
    "unsigned",
)


# --- periods --------------------------------------------------------------------------------------


def month_period(text: str | None, on: date) -> tuple[date, date]:
    """`--month`: a calendar month (`2026-10`, `this month`, `last month`; default this month).
    A month still running ends on `on` (today); a month that has not begun is refused."""
    if text is None:
        first, last = parse_period("month", "this month", base=on)
    else:
        try:
            first, last = parse_period("month", text, base=on)
        except InputError:
            raise InputError("month", text, MONTH_HELP) from None
        if first == last:  # a single day, not a month
            raise InputError("month", text, MONTH_HELP)
    if first > on:
        raise InputError("month", text, f"has not begun (today is {on.isoformat()})")
    return first, min(last, on)


def explicit_period(from_text: str, to_text: str | None, on: date) -> tuple[date, date]:
    """`--from/--to`: days or months (a month given to --from starts on its first day, to --to
    ends on its last). --to defaults to today; a period still running ends today."""
    first, last = parse_span(from_text, to_text, base=on)
    assert first is not None  # --from is required here
    if first > on:
        raise InputError("from", from_text, f"is in the future (today is {on.isoformat()})")
    return first, on if last is None else min(last, on)


def parse_within(text: str | int | None) -> int:
    """`--within N`: days ahead for prescriptions expiring (default 14)."""
    if text is None:
        return RX_WINDOW_DAYS
    from medmassage.rules.validate import parse_int

    return parse_int("within", text, 0, MAX_WITHIN_DAYS, "days")


# --- the state of each open case on a day ---------------------------------------------------------

# A case is open on day :on when its first prescription was written by then and it was not
# closed by then. (Written rather than `opened`: cases entered after the fact still count.)
_OPEN_ON = (  # the cheap test first: most cases of a long practice are long closed
    "(k.status = 'open' OR k.close_date > :on) "
    "AND (SELECT min(a.written) FROM authorization a WHERE a.case_id = k.id) <= :on"
)

# The latest progress report written by :on for each case open on :on (found through the
# (case_id, written) index: not a sort of every report ever written), with the visits dated
# within its period (`before`), and those of them logged after it was written (`late`: not in
# that report, so still to be reported).
_LAST_REPORTS = f"""
SELECT r.case_id, r.period_to,
       (SELECT count(*) FROM session s
        WHERE s.case_id = r.case_id AND s.status != 'void' AND s.date <= min(r.period_to, :on))
        AS before,
       (SELECT count(*) FROM session s
        WHERE s.case_id = r.case_id AND s.status != 'void' AND s.date <= min(r.period_to, :on)
          AND s.id > coalesce(r.last_session_id, 0)) AS late
FROM care_case k JOIN progress_report r ON r.id = (
    SELECT p.id FROM progress_report p WHERE p.case_id = k.id AND p.written <= :on
    ORDER BY p.period_to DESC, p.id DESC LIMIT 1)
WHERE {_OPEN_ON}
"""


class CaseState(NamedTuple):
    """An open case on a day: what `report due` and the snapshot counts are made of."""

    case_id: int
    client_id: int
    client: str
    payer_type: str
    authorization: Authorization  # in force on the day (else the last ended, or the next)
    state: str  # coverage.InForce.state: 'in force', 'expired', 'gap', 'not yet valid'
    covered_until: date | None  # the last day of unbroken cover from the day (None: uncovered)
    next_from: date | None  # in a gap: when the next authorization begins
    visits_used: int  # non-void visits up to the day under that authorization
    visits_on_claim: int  # non-void visits up to the day, in all
    over: int  # visits over the limits of their authorizations (any of them)
    outside: int  # visits in no authorization's window
    authorizations: int  # how many the case has
    report: ReportDue
    # With case_states(dated=True) only (None otherwise): the day the due report fell due,
    # the date of the visit that used the last authorized visit (when all are used), and the
    # first visit not covered (outside, or over the limit of an earlier authorization).
    report_fell_due: date | None = None
    authorization_used_up: date | None = None
    first_uncovered: date | None = None

    @property
    def visits_authorized(self) -> int:
        return self.authorization.visits

    @property
    def rx_until(self) -> date:
        return self.authorization.valid_until

    @property
    def uncovered(self) -> int:
        """Visits no authorization pays for, but those over the one in force (the
        `authorization` item counts them)."""
        over_current = max(self.visits_used - self.visits_authorized, 0)
        return self.outside + self.over - over_current


def _report_rules(conn: sqlite3.Connection) -> dict[str, ReportRule]:
    rules = dict(DEFAULT_REPORT_RULES)
    for payer_type, visits, days in conn.execute(
        "SELECT payer_type, every_visits, every_days FROM report_rule"
    ):
        rules[payer_type] = ReportRule(visits, days)
    return rules


def _fell_due(
    rule: ReportRule, dates: list[date], report: ReportDue, late: int, on: date
) -> date | None:
    """The day a due report fell due: the visit that reached the rule's count, or the day the
    rule's days ran out (once a visit had happened since), whichever came first."""
    if not report.due or report.anchor is None:
        return None
    anchor = report.anchor
    if report.anchor_kind == "start of care":
        since = dates
    else:  # late visits were logged after the last report: they count from its period's end
        since = [anchor] * late + [d for d in dates if d > anchor]
    found = []
    if rule.visits is not None and len(since) >= rule.visits:
        found.append(since[rule.visits - 1])
    if rule.days is not None and since and (on - anchor).days >= rule.days:
        found.append(max(anchor + timedelta(days=rule.days), since[0]))
    return min(found) if found else None


def case_states(conn: sqlite3.Connection, on: date, *, dated: bool = False) -> list[CaseState]:
    """Every case open on `on`, ordered by client name and case id: visits up to `on`, their
    authorizations (the rule of coverage.py, counted per authorization in SQL) and whether its
    progress report was due on `on` (progress.report_due, the same rule as `progress` and
    `session log`), whatever the number of cases and visits.

    `dated` adds the dates behind the counts (report_fell_due, authorization_used_up,
    first_uncovered), from the visits of the cases that need them only."""
    params = {"on": on.isoformat()}
    rules = _report_rules(conn)
    last = {
        case_id: (date.fromisoformat(period_to), before, late)
        for case_id, period_to, before, late in conn.execute(_LAST_REPORTS, params)
    }
    counted: dict[int, tuple[int, date]] = {
        case_id: (visits, date.fromisoformat(first))
        for case_id, visits, first in conn.execute(
            # CROSS JOIN keeps this order: the open cases first, then each one's sessions
            # through the covering (case_id, date, status) index, instead of a scan of every
            # session ever logged.
            f"SELECT k.id, count(*), min(s.date) FROM care_case k CROSS JOIN session s "
            f"ON s.case_id = k.id WHERE {_OPEN_ON} AND s.status != 'void' AND s.date <= :on "
            f"GROUP BY k.id",
            params,
        )
    }
    cases = conn.execute(
        f"SELECT k.id, k.client_id, c.name, k.payer_type "
        f"FROM care_case k JOIN client c ON c.id = k.client_id WHERE {_OPEN_ON} "
        f"ORDER BY c.name COLLATE NOCASE, k.id",
        params,
    ).fetchall()
    by_case = load_windows(conn, [row[0] for row in cases])
    used = used_counts(conn, by_case, on)
    standings = {}
    for case_id, every in by_case.items():
        standing = in_force(every, on)
        assert standing is not None  # an open case has at least one authorization
        standings[case_id] = standing
    # Only the authorization in force is read in full: a renewal's prescriber and areas are
    # not needed to count visits under it.
    current = load_numbered(
        conn, {s.window.id: by_case[k].index(s.window) + 1 for k, s in standings.items()}
    )
    out = []
    for case_id, client_id, client, payer_type in cases:
        every = by_case[case_id]
        standing = standings[case_id]
        authorization = current[standing.window.id]
        visits, first = counted.get(case_id, (0, None))
        period_to, before, late = last.get(case_id, (None, 0, 0))
        covered = sum(used[w.id] for w in every)
        out.append(
            CaseState(
                case_id=case_id,
                client_id=client_id,
                client=client,
                payer_type=payer_type,
                authorization=authorization,
                state=standing.state,
                covered_until=covered_until(every, on),
                next_from=standing.next.valid_from if standing.next else None,
                visits_used=used[authorization.id],
                visits_on_claim=visits,
                over=sum(max(used[w.id] - w.visits, 0) for w in every),
                outside=visits - covered,
                authorizations=len(every),
                report=report_due_counted(
                    rules[payer_type], VisitCounts(visits, first, before), period_to, on, late
                ),
            )
        )
    if dated:
        out = _dated(conn, out, on, rules, last, by_case)
    return out


def _dated(
    conn: sqlite3.Connection,
    states: list[CaseState],
    on: date,
    rules: dict[str, ReportRule],
    last: dict[int, tuple[date, int, int]],
    by_case: dict[int, list[Window]],
) -> list[CaseState]:
    """The states with the dates `report due` shows, read for the cases it lists only: the
    visit dates of those whose report is due, and each visit's standing (coverage.cover) for
    those whose authorization is used up or with visits no authorization covers."""
    params = {"on": on.isoformat()}
    due = [s.case_id for s in states if s.report.due]
    dates: dict[int, list[date]] = {}
    for case_id, joined in conn.execute(
        "SELECT case_id, group_concat(date) FROM session WHERE status != 'void' AND date <= :on "
        "AND case_id IN (SELECT value FROM json_each(:ids)) GROUP BY case_id",
        {**params, "ids": json.dumps(due)},
    ):
        isos = joined.split(",")
        isos.sort()  # ISO dates sort as dates
        dates[case_id] = list(map(date.fromisoformat, isos))
    placed = [
        s.case_id
        for s in states
        if (s.state == "in force" and s.visits_used >= s.visits_authorized) or s.uncovered
    ]
    visits: dict[int, list[Visit]] = {case_id: [] for case_id in placed}
    for case_id, session_id, iso, start_time in conn.execute(
        "SELECT case_id, id, date, start_time FROM session WHERE status != 'void' "
        "AND date <= :on AND case_id IN (SELECT value FROM json_each(:ids))",
        {**params, "ids": json.dumps(placed)},
    ):
        visits[case_id].append(Visit(session_id, date.fromisoformat(iso), start_time))
    out = []
    for s in states:
        changes: dict[str, date | None] = {}
        if s.case_id in dates:
            late = last.get(s.case_id, (None, 0, 0))[2]
            rule = rules[s.payer_type]
            changes["report_fell_due"] = _fell_due(rule, dates[s.case_id], s.report, late, on)
        if s.case_id in visits:
            day_of = {v.session_id: v.day for v in visits[s.case_id]}
            standings = cover(by_case[s.case_id], visits[s.case_id])
            current = s.authorization.id
            under = [x for x in standings if x.authorization_id == current]
            if len(under) >= s.visits_authorized:
                changes["authorization_used_up"] = day_of[under[s.visits_authorized - 1].session_id]
            uncovered = [
                x
                for x in standings
                if x.authorization_id is None
                or (x.over_authorized and x.authorization_id != current)
            ]
            if uncovered:
                changes["first_uncovered"] = day_of[uncovered[0].session_id]
        out.append(s._replace(**changes) if changes else s)
    return out


# --- report due -----------------------------------------------------------------------------------


class DueItem(NamedTuple):
    kind: str  # one of DUE_KINDS
    client_id: int
    client: str
    case_id: int
    payer_type: str
    date: date | None
    detail: str

    def to_dict(self) -> dict:
        """One item of `report due -f json` (keys: DUE_KEYS)."""
        data = self._asdict()
        data["date"] = self.date.isoformat() if self.date else None
        return data


def _days(n: int) -> str:
    return f"{n} day" + ("" if n == 1 else "s")


def items_for(state: CaseState, on: date, within: int) -> list[DueItem]:
    """What needs doing for one open case on `on`, in DUE_KINDS order."""
    s = state

    def item(kind: str, day: date | None, detail: str) -> DueItem:
        return DueItem(kind, s.client_id, s.client, s.case_id, s.payer_type, day, detail)

    out = []
    if s.report.due:
        out.append(item("report-due", s.report_fell_due, "; ".join(s.report.reasons)))
    if s.state in ("expired", "gap"):
        left = (s.rx_until - on).days
        detail = f"prescription valid until {s.rx_until.isoformat()}: expired {_days(-left)} ago"
        if s.next_from is not None:
            detail += f"; the next authorization starts {s.next_from.isoformat()}"
        out.append(item("rx-expired", s.rx_until, detail))
    elif s.covered_until is not None and (s.covered_until - on).days <= within:
        left = (s.covered_until - on).days
        when = "today is the last day" if left == 0 else f"{_days(left)} left"
        until = s.covered_until.isoformat()
        out.append(
            item("rx-expiring", s.covered_until, f"prescription valid until {until}: {when}")
        )
    used, authorized = s.visits_used, s.visits_authorized
    if s.state == "in force" and used >= authorized:
        over = used - authorized
        under = f" under {s.authorization.label}" if s.authorizations > 1 else ""
        detail = f"{used} of {authorized} authorized visits used{under}: " + (
            f"{over} over" if over else "none left"
        )
        out.append(item("authorization", s.authorization_used_up, detail))
    if s.uncovered:
        out.append(
            item(
                "uncovered",
                s.first_uncovered,
                f"{s.uncovered} visit(s) not covered by any authorization (outside its dates or "
                "over its visits): ask for a backdated approval (medmassage case renew "
                f"{s.case_id} --from DATE …)",
            )
        )
    return out


# A draft not signed by the end of the day of the visit is listed (kind `unsigned`). The
# partial index holds the drafts only (a few rows); left to itself, the planner would scan the
# (case_id, date, status) index of every session for the GROUP BY.
_UNSIGNED = """
SELECT k.client_id, c.name, s.case_id, k.payer_type, min(s.date), group_concat(s.id, ' ')
FROM session s INDEXED BY session_drafts
JOIN care_case k ON k.id = s.case_id JOIN client c ON c.id = k.client_id
WHERE s.status = 'draft' AND s.date < :on
GROUP BY s.case_id
"""


def unsigned_items(conn: sqlite3.Connection, on: date) -> list[DueItem]:
    """Drafts dated before `on`, one item per case (closed cases too: a note must be signed)."""
    out = []
    for client_id, client, case_id, payer_type, oldest, ids in conn.execute(
        _UNSIGNED, {"on": on.isoformat()}
    ):
        numbers = sorted(int(x) for x in ids.split())
        shown = " ".join(map(str, numbers))
        out.append(
            DueItem(
                "unsigned",
                client_id,
                client,
                case_id,
                payer_type,
                date.fromisoformat(oldest),
                f"{len(numbers)} unsigned draft(s), the oldest from {oldest}: sign with "
                f"medmassage session sign {shown}",
            )
        )
    return out


def _nocase(name: str) -> str:
    """SQLite's NOCASE: ASCII letters folded, nothing else (the order `case_states` uses)."""
    return "".join(chr(ord(ch) + 32) if "A" <= ch <= "Z" else ch for ch in name)


def due_items(conn: sqlite3.Connection, on: date, within: int = RX_WINDOW_DAYS) -> list[DueItem]:
    """`report due`: progress reports due, prescriptions expired or expiring within `within`
    days, authorizations used up and visits no authorization covers, for every open case on
    `on`; and drafts left unsigned (any case)."""
    with read_snapshot(conn):
        states = case_states(conn, on, dated=True)
        unsigned = unsigned_items(conn, on)
    items = [i for s in states for i in items_for(s, on, within)] + unsigned
    return sorted(items, key=lambda i: (_nocase(i.client), i.case_id, DUE_KINDS.index(i.kind)))


# --- monthly / period report ----------------------------------------------------------------------


class PeriodReport(NamedTuple):
    """`report monthly` and `report period`: activity in a period, and the open cases' state at
    its end. `to_dict()` is the stable, flat JSON/CSV contract (PERIOD_KEYS)."""

    first: date
    last: date
    visits: int
    clients_seen: int
    new_clients: int
    new_cases: int
    clients_discharged: int
    cases_closed: int
    minutes: int
    units: int
    units_by_cpt: dict[str, int]
    visits_by_payer: dict[str, int]
    units_by_payer: dict[str, int]
    average_pain_pre: float | None
    average_pain_post: float | None
    average_relief: float | None
    clients_reaching_mcid: int
    summaries_written: int
    progress_reports_due: int
    rx_expiring: int
    rx_expired: int
    cases_over_authorized: int

    def to_dict(self) -> dict:
        data: dict[str, object] = {
            "period_from": self.first.isoformat(),
            "period_to": self.last.isoformat(),
            "visits": self.visits,
            "clients_seen": self.clients_seen,
            "new_clients": self.new_clients,
            "new_cases": self.new_cases,
            "clients_discharged": self.clients_discharged,
            "cases_closed": self.cases_closed,
            "minutes": self.minutes,
            "units": self.units,
        }
        for code in CPT_ORDER:
            data[f"units_{code}"] = self.units_by_cpt.get(code, 0)
        for payer in PAYER_TYPES:
            data[f"visits_{_payer_key(payer)}"] = self.visits_by_payer.get(payer, 0)
            data[f"units_{_payer_key(payer)}"] = self.units_by_payer.get(payer, 0)
        data.update(
            average_pain_pre=self.average_pain_pre,
            average_pain_post=self.average_pain_post,
            average_relief=self.average_relief,
            clients_reaching_mcid=self.clients_reaching_mcid,
            summaries_written=self.summaries_written,
            progress_reports_due=self.progress_reports_due,
            rx_expiring=self.rx_expiring,
            rx_expired=self.rx_expired,
            cases_over_authorized=self.cases_over_authorized,
        )
        return data


_IN_PERIOD = "s.date BETWEEN :first AND :last AND s.status != 'void'"

# Per case seen in the period: the NPRS baseline (intake pain, else the first visit's pre-pain,
# as chart.build_progress has it) and the pre-pain of the latest visit up to the period's end.
_PAIN_CHANGE = f"""
WITH seen AS (SELECT DISTINCT s.case_id FROM session s WHERE {_IN_PERIOD})
SELECT k.client_id,
       coalesce(
           (SELECT i.pain FROM intake i WHERE i.case_id = k.id),
           (SELECT f.pain_pre FROM session f WHERE f.case_id = k.id AND f.status != 'void'
            ORDER BY f.date, coalesce(f.start_time, ''), f.id LIMIT 1)) AS baseline,
       (SELECT c.pain_pre FROM session c
        WHERE c.case_id = k.id AND c.status != 'void' AND c.date <= :last
        ORDER BY c.date DESC, coalesce(c.start_time, '') DESC, c.id DESC LIMIT 1) AS current
FROM seen JOIN care_case k ON k.id = seen.case_id
"""


def _average(total: int | None, count: int) -> float | None:
    return round(total / count, 1) if count and total is not None else None


def period_report(conn: sqlite3.Connection, first: date, last: date) -> PeriodReport:
    """Activity from `first` to `last` (inclusive) and the open cases' state on `last`."""
    params = {"first": first.isoformat(), "last": last.isoformat()}
    with read_snapshot(conn):
        visits, clients_seen, minutes, pre, post = conn.execute(
            f"SELECT count(*), count(DISTINCT k.client_id), sum(s.minutes), sum(s.pain_pre), "
            f"sum(s.pain_post) FROM session s JOIN care_case k ON k.id = s.case_id "
            f"WHERE {_IN_PERIOD}",
            params,
        ).fetchone()
        visits_by_payer = dict(
            conn.execute(
                f"SELECT k.payer_type, count(*) FROM session s "
                f"JOIN care_case k ON k.id = s.case_id WHERE {_IN_PERIOD} GROUP BY k.payer_type",
                params,
            ).fetchall()
        )
        units_by_cpt: dict[str, int] = {}
        units_by_payer: dict[str, int] = {}
        for payer, code, units in conn.execute(
            f"SELECT k.payer_type, p.cpt, sum(p.units) FROM session s "
            f"JOIN session_cpt p ON p.session_id = s.id JOIN care_case k ON k.id = s.case_id "
            f"WHERE {_IN_PERIOD} GROUP BY k.payer_type, p.cpt",
            params,
        ):
            units_by_cpt[code] = units_by_cpt.get(code, 0) + units
            units_by_payer[payer] = units_by_payer.get(payer, 0) + units
        new_clients, discharged, new_cases, closed, summaries = conn.execute(
            "SELECT "
            "(SELECT count(*) FROM client WHERE substr(created, 1, 10) BETWEEN :first AND :last),"
            "(SELECT count(*) FROM client WHERE discharge_date BETWEEN :first AND :last),"
            "(SELECT count(*) FROM care_case WHERE substr(opened, 1, 10) BETWEEN :first AND :last),"
            "(SELECT count(*) FROM care_case WHERE close_date BETWEEN :first AND :last),"
            "(SELECT count(*) FROM progress_report WHERE written BETWEEN :first AND :last)",
            params,
        ).fetchone()
        reaching = {
            client_id
            for client_id, baseline, current in conn.execute(_PAIN_CHANGE, params)
            if baseline is not None
            and current is not None
            and change("nprs", baseline, current).mcid_met
        }
        states = case_states(conn, last)
    return PeriodReport(
        first=first,
        last=last,
        visits=visits,
        clients_seen=clients_seen,
        new_clients=new_clients,
        new_cases=new_cases,
        clients_discharged=discharged,
        cases_closed=closed,
        minutes=minutes or 0,
        units=sum(units_by_cpt.values()),
        units_by_cpt=units_by_cpt,
        visits_by_payer=visits_by_payer,
        units_by_payer=units_by_payer,
        average_pain_pre=_average(pre, visits),
        average_pain_post=_average(post, visits),
        average_relief=_average(pre - post if visits else None, visits),
        clients_reaching_mcid=len(reaching),
        summaries_written=summaries,
        progress_reports_due=sum(s.report.due for s in states),
        rx_expiring=sum(
            s.state == "in force"
            and s.covered_until is not None
            and (s.covered_until - last).days <= RX_WINDOW_DAYS
            for s in states
        ),
        rx_expired=sum(s.state in ("expired", "gap") for s in states),
        cases_over_authorized=sum(s.over > 0 for s in states),
    )
