"""Cases (episodes of care): payer, referral/prescription, diagnoses, authorization."""

import re
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
from medmassage.rules.address import ADDRESS_RULE, US_STATES, split_address
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
    # What a claim needs beyond the case (CMS-1500 boxes 4, 7, 10d, 11, 16, 26; the 837P payer).
    payer_id: str | None = None
    payer_address: str | None = None
    insured_name: str | None = None
    insured_relationship: str | None = None
    insured_dob: str | None = None
    insured_sex: str | None = None
    insured_address: str | None = None
    group_number: str | None = None
    employer: str | None = None
    accident_state: str | None = None
    account_number: str | None = None
    unable_from: str | None = None
    unable_to: str | None = None

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


def payer_of_earlier_case(
    conn: sqlite3.Connection, given: CaseInput
) -> tuple[CaseInput, int | None, list[str]]:
    """A payer's claims id and address are the same for every client it covers: a case opened
    for a payer name (and type) an earlier case already has takes those the earlier case holds
    when none are given. Returns the input with them filled, the case they came from (None if
    none) and the fields taken, for the receipt."""
    wanted = [f for f in ("payer_id", "payer_address") if getattr(given, f) is None]
    if not given.payer_name or not given.payer_name.strip() or not wanted:
        return given, None, []
    row = conn.execute(
        "SELECT id, payer_id, payer_address FROM care_case WHERE payer_type = ? "
        "AND lower(trim(payer_name)) = lower(trim(?)) "
        "AND (payer_id IS NOT NULL OR payer_address IS NOT NULL) ORDER BY id DESC LIMIT 1",
        ((given.payer or "").strip().lower(), given.payer_name),
    ).fetchone()
    if row is None:
        return given, None, []
    taken = {f: row[f] for f in wanted if row[f] is not None}
    return given._replace(**taken), (row["id"] if taken else None), list(taken)


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
        # Only the claim details given: a column left out is NULL, as in a database made
        # before migration 12 added them.
        **{k: v for k, v in claim_details(given).items() if v is not None},
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


# The claim details of a case (M012), as its columns; `case open`/`case edit` set each with the
# option of the same name in dashes (payer_id: --payer-id).
CLAIM_DETAILS = (
    "payer_id",
    "payer_address",
    "insured_name",
    "insured_relationship",
    "insured_dob",
    "insured_sex",
    "insured_address",
    "group_number",
    "employer",
    "accident_state",
    "account_number",
    "unable_from",
    "unable_to",
)
RELATIONSHIPS = ("self", "spouse", "child", "other")
# Ids that go on an 837P as they are: letters, digits and a few separators (never the X12
# delimiters ~ * : ^).
_CLAIM_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 ./-]*[A-Za-z0-9])?$")
_CLAIM_ID_RULE = "letters and digits (spaces, '.', '-' and '/' inside)"


def claim_id(field: str, value: str | None, low: int, high: int) -> str | None:
    """An identifier a claim carries (payer id, group or account number, clearinghouse ids):
    None or "" = none; else `low`–`high` letters and digits."""
    text = clean_text(field, value, max_len=high, multiline=False)
    if text is None:
        return None
    if len(text) < low or not _CLAIM_ID.match(text):
        raise InputError(field, value, f"{low}–{high} {_CLAIM_ID_RULE}")
    return text


def parse_address(field: str, value: str | None, max_len: int = 300) -> str | None:
    """A US address as typed (cleaned), refused unless it splits into street, city, state and
    ZIP (rules/address.py): a claim prints it in those parts."""
    text = clean_text(field, value, max_len=max_len, prose=False)
    if text is not None and split_address(text) is None:
        raise InputError(field, value, f"a US address: {ADDRESS_RULE}")
    return text


def _choice(field: str, value: str | None, choices: tuple[str, ...], aliases=None) -> str | None:
    if value is None or not value.strip():
        return None
    word = value.strip().lower()
    word = (aliases or {}).get(word, word)
    if word not in choices:
        raise InputError(field, value, "one of " + ", ".join(choices))
    return word


def _state(field: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if code not in US_STATES:
        raise InputError(field, value, "a two-letter USPS state code, e.g. WA")
    return code


def _day(field: str, value: str | None, *, allow_future: bool = True) -> str | None:
    if value is None or not value.strip():
        return None
    return parse_date(field, value, allow_future=allow_future).isoformat()


def claim_details(given: "CaseInput | CaseEdit", case: sqlite3.Row | None = None) -> dict:
    """The claim details given (None = not given: left out on an edit, NULL on open; "" =
    cleared), each checked; the dates unable to work are checked in order against the case's
    other one when only one is given."""
    fields = {
        "payer_id": lambda v: claim_id("payer-id", v, 2, 80),
        "payer_address": lambda v: parse_address("payer-address", v),
        "insured_name": lambda v: clean_text("insured-name", v, max_len=NAME_MAX, multiline=False),
        "insured_relationship": lambda v: _choice("insured-relationship", v, RELATIONSHIPS),
        "insured_dob": lambda v: _day("insured-dob", v, allow_future=False),
        "insured_sex": lambda v: _choice(
            "insured-sex", v, ("female", "male"), {"f": "female", "m": "male"}
        ),
        "insured_address": lambda v: parse_address("insured-address", v),
        "group_number": lambda v: claim_id("group-number", v, 1, 50),
        "employer": lambda v: clean_text("employer", v, max_len=NAME_MAX, multiline=False),
        "accident_state": lambda v: _state("accident-state", v),
        "account_number": lambda v: claim_id("account-number", v, 1, 38),
        "unable_from": lambda v: _day("unable-from", v),
        "unable_to": lambda v: _day("unable-to", v),
    }
    out = {}
    for key, parse in fields.items():
        value = getattr(given, key)
        if value is not None or case is None:
            out[key] = parse(value)
    start = out.get("unable_from", case["unable_from"] if case else None)
    end = out.get("unable_to", case["unable_to"] if case else None)
    if start and end and end < start:
        field, value = (
            ("unable-to", given.unable_to)
            if "unable_to" in out
            else ("unable-from", given.unable_from)
        )
        raise InputError(
            field, value, f"unable to work from {start} to {end}: the end is before the start"
        )
    return out


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
    payer_id: str | None = None
    payer_address: str | None = None
    insured_name: str | None = None
    insured_relationship: str | None = None
    insured_dob: str | None = None
    insured_sex: str | None = None
    insured_address: str | None = None
    group_number: str | None = None
    employer: str | None = None
    accident_state: str | None = None
    account_number: str | None = None
    unable_from: str | None = None
    unable_to: str | None = None


def edit_case(conn: sqlite3.Connection, case: sqlite3.Row, given: CaseEdit) -> list[str]:
    """Change a case's payer and claim details, diagnoses or units rule; returns what changed
    (column names).

    Visits already signed keep the units they were billed with; drafts and later visits use
    the new rule. Audited like every change.
    """
    changes: dict[str, object] = {}
    for key, value in payer_details(given).items():
        if getattr(given, key) is not None:
            changes[key] = value
    changes.update(claim_details(given, case))
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
