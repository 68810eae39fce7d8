"""Cases (episodes of care): payer, referral/prescription, diagnoses, authorization."""

import sqlite3
from datetime import date
from typing import NamedTuple

from medmassage.errors import InputError
from medmassage.record.authorizations import (
    AuthorizationInput,
    add_authorization,
    authorization_values,
    load_windows,
    used_counts,
)
from medmassage.rules.catalog import DEFAULT_REPORT_RULES, ReportRule
from medmassage.rules.coverage import in_force
from medmassage.rules.dates import now_stamp, parse_date, today
from medmassage.rules.progress import ReportDue, report_due
from medmassage.rules.validate import (
    NAME_MAX,
    clean_text,
    parse_payer,
    parse_row_id,
    parse_units_rule,
    required_text,
)
from medmassage.store import db


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
    referrer_credentials: str | None = None
    auth_number: str | None = None
    valid_from: str | None = None

    @property
    def authorization(self) -> AuthorizationInput:
        """The case's first authorization: the prescription (and approval) it opens with."""
        return AuthorizationInput(
            written=self.rx_date,
            valid_until=self.rx_until,
            visits=self.visits,
            valid_from=self.valid_from,
            prescriber=self.referrer,
            prescriber_credentials=self.referrer_credentials,
            prescriber_npi=self.referrer_npi,
            frequency=self.frequency,
            areas=self.areas,
            auth_number=self.auth_number,
        )


def open_case(conn: sqlite3.Connection, client: sqlite3.Row, given: CaseInput) -> int:
    """Validate everything first (nothing is written on bad input), then insert the case, its
    first authorization and its diagnoses in one transaction.

    The diagnosis check loads the ICD-10-CM index, so it runs only here, not on every command.
    """
    payer = parse_payer(given.payer)
    authorization = authorization_values(given.authorization)
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
        **payer_details(given),
        "injury_date": injury.isoformat() if injury else None,
        "units_rule": parse_units_rule(given.units_rule or "cms"),
        "opened": now_stamp(),
    }
    diagnoses = checked_diagnoses(given.dx)
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
        db.audit(conn, "open", "case", case_id)
        add_authorization(conn, case_id, authorization)
        _insert_diagnoses(conn, case_id, diagnoses)
    return case_id


def payer_details(given: "CaseInput | CaseEdit") -> dict[str, str | None]:
    """The payer's names and numbers as stored (each checked and cleaned)."""
    return {
        "payer_name": clean_text("payer-name", given.payer_name, max_len=NAME_MAX, multiline=False),
        "policy": clean_text("policy", given.policy, max_len=80, multiline=False),
        "claim": clean_text("claim", given.claim, max_len=80, multiline=False),
        # Contact lines, not prose: refused invisible characters like the other short fields.
        "adjuster": clean_text("adjuster", given.adjuster, max_len=500, prose=False),
    }


def checked_diagnoses(codes: list[str] | None) -> list:
    """The diagnosis codes checked against ICD-10-CM (the code index: a cold path), once each."""
    if not codes:
        raise InputError("dx", None, "give at least one ICD-10-CM diagnosis code, e.g. --dx M54.50")
    from medmassage.rules.icd import check_codes

    unique, seen = [], set()
    for dx in check_codes(codes):
        if dx.code not in seen:
            seen.add(dx.code)
            unique.append(dx)
    return unique


def _insert_diagnoses(conn: sqlite3.Connection, case_id: int, diagnoses: list) -> None:
    for position, dx in enumerate(diagnoses, start=1):
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


class CaseEdit(NamedTuple):
    """What `case edit` was given; None = leave as it is, "" = clear (optional fields)."""

    payer_name: str | None = None
    policy: str | None = None
    claim: str | None = None
    adjuster: str | None = None
    injury_date: str | None = None
    dx: list[str] | None = None
    units_rule: str | None = None


def edit_case(conn: sqlite3.Connection, case: sqlite3.Row, given: CaseEdit) -> list[str]:
    """Change a case's payer details, diagnoses or units rule; returns what changed (names).

    Visits already signed keep the units they were billed with; drafts and later visits use
    the new rule. Audited like every change.
    """
    changes: dict[str, object] = {}
    for key, value in payer_details(given).items():
        if getattr(given, key) is not None:
            changes[key] = value
    if given.injury_date is not None:
        injury = (
            parse_date("injury-date", given.injury_date, allow_future=False)
            if given.injury_date.strip()
            else None
        )
        if injury is None and case["payer_type"] in ("workers-comp", "auto-pip"):
            raise InputError(
                "injury-date", given.injury_date, f"required for {case['payer_type']} cases"
            )
        changes["injury_date"] = injury.isoformat() if injury else None
    if given.units_rule is not None:
        changes["units_rule"] = parse_units_rule(given.units_rule)
    new_dx = checked_diagnoses(given.dx) if given.dx is not None else None
    changed = [k for k, v in changes.items() if case[k] != v]
    with db.transaction(conn):
        if changed:
            db.update(conn, "care_case", case["id"], {k: changes[k] for k in changed})
        if new_dx is not None:
            old = [d["code"] for d in diagnoses(conn, case["id"])]
            if old != [d.code for d in new_dx]:
                conn.execute("DELETE FROM diagnosis WHERE case_id = ?", (case["id"],))
                _insert_diagnoses(conn, case["id"], new_dx)
                changed.append("dx")
        if changed:
            db.audit(conn, "edit", "case", case["id"])
    return changed


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
        # The client by id, never by name: the user may have typed only the id (SPEC §13).
        if row["client_id"] != client["id"]:
            raise InputError(
                "case", case_ref, f"belongs to another client, not client {client['id']}"
            )
        return row
    open_cases = open_cases_of(conn, client["id"])
    if len(open_cases) == 1:
        return open_cases[0]
    if not open_cases:
        raise InputError(
            "case",
            None,
            f"client {client['id']} has no open case; open one with: medmassage case open CLIENT …",
        )
    ids = ", ".join(f"{r['id']} ({r['payer_type']})" for r in open_cases)
    raise InputError(
        "case",
        None,
        f"client {client['id']} has {len(open_cases)} open cases: {ids}; add --case ID",
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


def list_cases(conn: sqlite3.Connection, on: date, client_id: int | None = None) -> list[dict]:
    """Cases, open first; `visits_used`, `visits_authorized` and `rx_until` are those of the
    authorization in force on `on` (else the last to have ended), `visits_on_claim` the case's
    visits in all."""
    where, params = ("WHERE k.client_id = ?", (client_id,)) if client_id else ("", ())
    rows = [
        dict(r)
        for r in conn.execute(
            f"""
        SELECT k.id, k.client_id, c.name AS client, k.payer_type, k.payer_name, k.status,
               (SELECT count(*) FROM session s WHERE s.case_id = k.id AND s.status != 'void')
                   AS visits_on_claim,
               (SELECT group_concat(code, ' ') FROM
                   (SELECT code FROM diagnosis d WHERE d.case_id = k.id ORDER BY position))
                   AS dx
        FROM care_case k JOIN client c ON c.id = k.client_id
        {where}
        ORDER BY k.status = 'closed', c.name COLLATE NOCASE, k.id
        """,
            params,
        )
    ]
    by_case = load_windows(conn, [r["id"] for r in rows])
    standings = {case_id: in_force(found, on) for case_id, found in by_case.items()}
    counts = used_counts(conn, by_case, only={s.window.id for s in standings.values() if s})
    for r in rows:
        standing = standings[r["id"]]
        assert standing is not None
        current = standing.window
        r.update(
            authorization=by_case[r["id"]].index(current) + 1,  # in the order written
            rx_state=standing.state,
            visits_used=counts[current.id],
            visits_authorized=current.visits,
            rx_until=current.valid_until.isoformat(),
        )
    return rows


def open_cases_of(conn: sqlite3.Connection, client_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM care_case WHERE client_id = ? AND status = 'open' ORDER BY id",
        (client_id,),
    ).fetchall()


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
