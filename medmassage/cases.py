"""Cases (episodes of care): payer, referral/prescription, diagnoses, authorization."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import NamedTuple

from medmassage import db
from medmassage.catalog import DEFAULT_REPORT_RULES, ReportRule
from medmassage.dates import now_stamp, parse_date, today
from medmassage.errors import InputError
from medmassage.progress import ReportDue, report_due
from medmassage.validate import (
    NAME_MAX,
    clean_text,
    parse_frequency,
    parse_int,
    parse_npi,
    parse_payer,
    parse_regions,
    parse_row_id,
    parse_units_rule,
    required_text,
)


class CaseInput(NamedTuple):
    """What `case open` was given, as typed. Validated by open_case."""

    payer: str
    dx: list[str]
    referrer: str
    rx_date: str
    rx_until: str
    visits: str
    payer_name: str | None = None
    policy: str | None = None
    claim: str | None = None
    injury_date: str | None = None
    adjuster: str | None = None
    referrer_npi: str | None = None
    frequency: str | None = None
    areas: list[str] | None = None
    units_rule: str = "cms"


def open_case(conn: sqlite3.Connection, client: sqlite3.Row, given: CaseInput) -> int:
    """Validate everything first (nothing is written on bad input), then insert in one transaction.

    The diagnosis check loads the ICD-10-CM index, so it runs only here, not on every command.
    """
    payer = parse_payer(given.payer)
    referrer = required_text("referrer", given.referrer, max_len=NAME_MAX)
    rx_date = parse_date("rx-date", given.rx_date, allow_future=False)
    rx_until = parse_date("rx-until", given.rx_until)
    if rx_until < rx_date:
        raise InputError(
            "rx-until", given.rx_until, f"must be on or after the Rx date {rx_date.isoformat()}"
        )
    visits = parse_int("visits", given.visits, 1, 999, "visits authorized")
    injury = (
        parse_date("injury-date", given.injury_date, allow_future=False)
        if given.injury_date
        else None
    )
    if payer in ("workers-comp", "auto-pip") and injury is None:
        raise InputError(
            "injury-date", None, f"required for {payer} cases (the date of injury or accident)"
        )
    row = {
        "client_id": client["id"],
        "payer_type": payer,
        "payer_name": clean_text("payer-name", given.payer_name, max_len=NAME_MAX, multiline=False),
        "policy": clean_text("policy", given.policy, max_len=80, multiline=False),
        "claim": clean_text("claim", given.claim, max_len=80, multiline=False),
        "injury_date": injury.isoformat() if injury else None,
        "adjuster": clean_text("adjuster", given.adjuster, max_len=500),
        "referrer": referrer,
        "referrer_npi": parse_npi("referrer-npi", given.referrer_npi),
        "rx_date": rx_date.isoformat(),
        "rx_until": rx_until.isoformat(),
        "visits_authorized": visits,
        "frequency": parse_frequency(given.frequency),
        "areas_ordered": json.dumps(parse_regions(given.areas, required=False)),
        "units_rule": parse_units_rule(given.units_rule or "cms"),
        "opened": now_stamp(),
    }
    if not given.dx:
        raise InputError("dx", None, "give at least one ICD-10-CM diagnosis code, e.g. --dx M54.50")
    from medmassage.icd import check_codes  # cold path: the code index

    diagnoses = check_codes(given.dx)
    seen: set[str] = set()
    with db.transaction(conn):
        if client["status"] == "discharged":
            # A returning client: a new episode of care makes them active again.
            db.update(
                conn,
                "client",
                client["id"],
                {"status": "active", "discharge_date": None, "discharge_reason": None},
            )
            db.audit(conn, "reactivate", "client", client["id"])
        case_id = db.insert(conn, "care_case", row)
        position = 0
        for dx in diagnoses:
            if dx.code in seen:
                continue
            seen.add(dx.code)
            position += 1
            db.insert(
                conn,
                "diagnosis",
                {
                    "case_id": case_id,
                    "position": position,
                    "code": dx.code,
                    "description": dx.description,
                },
            )
        db.audit(conn, "open", "case", case_id)
    return case_id


def get_case(conn: sqlite3.Connection, case_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM care_case WHERE id = ?", (case_id,)).fetchone()


def parse_case_id(value: str | int) -> int:
    return parse_row_id("case", value, "case list")


def find_case(conn: sqlite3.Connection, ref: str | int) -> sqlite3.Row:
    row = get_case(conn, parse_case_id(ref))
    if row is None:
        raise InputError("case", ref, "no case has this id (see: medmassage case list)")
    return row


def case_for_client(
    conn: sqlite3.Connection, client: sqlite3.Row, case_ref: str | int | None
) -> sqlite3.Row:
    """The case given by --case, else the client's only open case."""
    if case_ref is not None:
        row = find_case(conn, case_ref)
        if row["client_id"] != client["id"]:
            raise InputError("case", case_ref, f"belongs to another client, not {client['name']}")
        return row
    open_cases = conn.execute(
        "SELECT * FROM care_case WHERE client_id = ? AND status = 'open' ORDER BY id",
        (client["id"],),
    ).fetchall()
    if len(open_cases) == 1:
        return open_cases[0]
    if not open_cases:
        raise InputError(
            "case",
            client["name"],
            "this client has no open case; open one with: medmassage case open CLIENT …",
        )
    ids = ", ".join(f"{r['id']} ({r['payer_type']})" for r in open_cases)
    raise InputError(
        "case", client["name"], f"has {len(open_cases)} open cases: {ids}; add --case ID"
    )


def case_with_history(
    conn: sqlite3.Connection, client: sqlite3.Row, case_ref: str | int | None
) -> sqlite3.Row:
    """--case, else the only open case, else the client's latest closed case (so a discharged
    client's progress and summaries can still be read)."""
    try:
        return case_for_client(conn, client, case_ref)
    except InputError:
        if case_ref is not None:
            raise
        latest = conn.execute(
            "SELECT * FROM care_case WHERE client_id = ? AND status = 'closed' ORDER BY id DESC",
            (client["id"],),
        ).fetchone()
        has_open = conn.execute(
            "SELECT count(*) FROM care_case WHERE client_id = ? AND status = 'open'",
            (client["id"],),
        ).fetchone()[0]
        if latest is None or has_open:
            raise
        return latest


def diagnoses(conn: sqlite3.Connection, case_id: int) -> list[dict]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT code, description FROM diagnosis WHERE case_id = ? ORDER BY position",
            (case_id,),
        )
    ]


def list_cases(conn: sqlite3.Connection, client_id: int | None = None) -> list[dict]:
    where, params = ("WHERE k.client_id = ?", (client_id,)) if client_id else ("", ())
    rows = conn.execute(
        f"""
        SELECT k.id, k.client_id, c.name AS client, k.payer_type, k.payer_name, k.status,
               k.rx_until, k.visits_authorized,
               (SELECT count(*) FROM session s WHERE s.case_id = k.id AND s.status != 'void')
                   AS visits_used,
               (SELECT group_concat(code, ' ') FROM
                   (SELECT code FROM diagnosis d WHERE d.case_id = k.id ORDER BY position))
                   AS dx
        FROM care_case k JOIN client c ON c.id = k.client_id
        {where}
        ORDER BY k.status = 'closed', c.name COLLATE NOCASE, k.id
        """,
        params,
    ).fetchall()
    return [dict(r) for r in rows]


def close_case(conn: sqlite3.Connection, case_id: int, reason: str, on: date | None = None) -> None:
    reason_text = required_text("reason", reason, max_len=1000)
    with db.transaction(conn):
        row = get_case(conn, case_id)
        if row is None:
            raise InputError("case", case_id, "no case has this id")
        if row["status"] == "closed":
            raise InputError("case", case_id, f"already closed on {row['close_date']}")
        db.update(
            conn,
            "care_case",
            case_id,
            {
                "status": "closed",
                "close_date": (on or today()).isoformat(),
                "close_reason": reason_text,
            },
        )
        db.audit(conn, "close", "case", case_id)


def report_rule(conn: sqlite3.Connection, payer_type: str) -> ReportRule:
    row = conn.execute(
        "SELECT every_visits, every_days FROM report_rule WHERE payer_type = ?", (payer_type,)
    ).fetchone()
    if row is None:
        return DEFAULT_REPORT_RULES[payer_type]
    return ReportRule(row[0], row[1])


class LastReport(NamedTuple):
    period_to: date  # the report-due clock counts from the end of the period it covered
    late: list[date]  # visits dated within that period but logged after the report was written


def last_report(
    conn: sqlite3.Connection, case_id: int, written_before: date | None = None
) -> LastReport | None:
    """The latest progress report of a case (optionally only those written before a day).

    A visit logged after the report was written cannot be in it, even when its date falls in
    the report's period (a session later the same day, a late entry): those are `late`, still
    to be reported.
    """
    row = conn.execute(
        "SELECT period_to, last_session_id FROM progress_report WHERE case_id = ? AND written < ? "
        "ORDER BY period_to DESC, id DESC LIMIT 1",
        (case_id, (written_before or date.max).isoformat()),
    ).fetchone()
    if row is None:
        return None
    late = [
        date.fromisoformat(r[0])
        for r in conn.execute(
            "SELECT date FROM session WHERE case_id = ? AND status != 'void' AND date <= ? "
            "AND id > ?",
            (case_id, row["period_to"], row["last_session_id"] or 0),
        )
    ]
    return LastReport(date.fromisoformat(row["period_to"]), late)


def report_status(
    conn: sqlite3.Connection, case: sqlite3.Row | dict, visit_dates: list[date], on: date
) -> tuple[ReportDue, ReportRule]:
    """Is the case's progress report due on `on` (SPEC §5), and under which rule."""
    rule = report_rule(conn, case["payer_type"])
    last = last_report(conn, case["id"])
    due = report_due(
        rule,
        visit_dates,
        last.period_to if last else None,
        on,
        late=len(last.late) if last else 0,
    )
    return due, rule
