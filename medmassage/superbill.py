"""The superbill: an itemised statement a client files with an FSA/HSA or their insurer for
reimbursement (provider identifiers, diagnoses, each date of service with CPT code, units and
fee, total). Plain data; documents/ draws it. Money is kept in integer cents.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date

from medmassage.authorizations import Authorization, load_many, standings_of, windows
from medmassage.catalog import CPT_CODES
from medmassage.coverage import in_force
from medmassage.errors import InputError
from medmassage.summary import Period, require_profile


def money(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"


@dataclass
class Superbill:
    written: date
    period: Period
    provider: dict
    client: dict
    cases: list[dict]
    diagnoses: list[dict]
    lines: list[dict]
    warnings: list[str]  # for the therapist (stderr), not the document

    @property
    def total_cents(self) -> int:
        return sum(line["amount_cents"] for line in self.lines)

    def to_dict(self) -> dict:
        """The stable JSON contract of `superbill -f json` (documented in the README)."""
        return {
            "document": "superbill",
            "written": self.written.isoformat(),
            "period": self.period.to_dict(),
            "provider": self.provider,
            "client": self.client,
            "cases": self.cases,
            "diagnoses": self.diagnoses,
            "lines": self.lines,
            "total": {
                "visits": len({line["session_id"] for line in self.lines}),
                "units": sum(line["units"] for line in self.lines),
                "amount_cents": self.total_cents,
                "amount": money(self.total_cents),
            },
            "currency": "USD",
        }


def billed_cases(conn: sqlite3.Connection, client: sqlite3.Row, case_ref: str | None) -> list[int]:
    """--case, else every case of the client (a superbill lists all their services)."""
    from medmassage.cases import case_for_client

    if case_ref is not None:
        return [case_for_client(conn, client, case_ref)["id"]]
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM care_case WHERE client_id = ? ORDER BY id", (client["id"],)
        )
    ]
    if not ids:
        raise InputError(
            "client", client["id"], "has no case; open one with: medmassage case open CLIENT …"
        )
    return ids


def _current(authorizations: list[Authorization], on: date) -> Authorization:
    found = in_force(windows(authorizations), on)
    assert found is not None
    return next(a for a in authorizations if a.id == found.window.id)


def default_period(on: date) -> Period:
    """The month so far: a superbill is usually handed over monthly, or after a visit."""
    return Period(on.replace(day=1), on)


def build_superbill(
    conn: sqlite3.Connection,
    client: sqlite3.Row,
    case_ids: list[int],
    period: Period,
    written: date,
) -> Superbill:
    profile = require_profile(conn)
    fees = dict(conn.execute("SELECT cpt, cents FROM fee").fetchall())
    marks = ",".join("?" for _ in case_ids)
    sessions = conn.execute(
        f"SELECT id, case_id, date, minutes FROM session WHERE case_id IN ({marks}) "
        "AND status != 'void' AND date BETWEEN ? AND ? "
        "ORDER BY date, coalesce(start_time, ''), id",
        (*case_ids, period.first.isoformat(), period.last.isoformat()),
    ).fetchall()
    if not sessions:
        raise InputError(
            "period",
            f"{period.first.isoformat()} to {period.last.isoformat()}",
            f"no sessions of client {client['id']} in this period; choose another with --from/--to",
        )
    dx_by_case: dict[int, list[dict]] = {}
    for r in conn.execute(
        f"SELECT case_id, code, description FROM diagnosis WHERE case_id IN ({marks}) "
        "ORDER BY case_id, position",
        case_ids,
    ):
        dx_by_case.setdefault(r["case_id"], []).append(
            {"code": r["code"], "description": r["description"]}
        )
    cpt_lines: dict[int, list[sqlite3.Row]] = {}
    for r in conn.execute(
        f"SELECT p.session_id, p.cpt, p.minutes, p.units FROM session_cpt p "
        f"JOIN session s ON s.id = p.session_id WHERE s.case_id IN ({marks}) ORDER BY p.position",
        case_ids,
    ):
        cpt_lines.setdefault(r["session_id"], []).append(r)

    lines, warnings, used_cases = [], [], []
    for s in sessions:
        billable = [r for r in cpt_lines.get(s["id"], []) if r["units"] > 0]
        if not billable:
            warnings.append(
                f"session {s['id']} on {s['date']} has no billable units; left off the superbill"
            )
            continue
        if s["case_id"] not in used_cases:
            used_cases.append(s["case_id"])
        for r in billable:
            fee = fees.get(r["cpt"])
            if fee is None:
                raise InputError(
                    "fee",
                    r["cpt"],
                    "no fee is set for this CPT code; set one with: "
                    f"medmassage profile set --fee {r['cpt']}=AMOUNT",
                )
            lines.append(
                {
                    "date": s["date"],
                    "session_id": s["id"],
                    "case_id": s["case_id"],
                    "cpt": r["cpt"],
                    "description": CPT_CODES[r["cpt"]].label,
                    "minutes": r["minutes"],
                    "units": r["units"],
                    "diagnosis_codes": [d["code"] for d in dx_by_case.get(s["case_id"], [])],
                    "fee_cents": fee,
                    "amount_cents": fee * r["units"],
                    "fee": money(fee),
                    "amount": money(fee * r["units"]),
                }
            )
    if not lines:
        raise InputError(
            "period",
            f"{period.first.isoformat()} to {period.last.isoformat()}",
            "no billable units in this period (every session's timed minutes came to 0 units "
            "under its case's units rule)",
        )
    diagnoses: list[dict] = []
    for case_id in used_cases:
        for d in dx_by_case.get(case_id, []):
            if d not in diagnoses:
                diagnoses.append(d)
    by_case = load_many(conn, used_cases)
    cases = [
        {
            **{k: r[k] for k in ("id", "payer_type", "payer_name", "policy", "claim")},
            "referrer": _current(by_case[r["id"]], written).prescriber_line,
        }
        for r in conn.execute(
            f"SELECT * FROM care_case WHERE id IN ({','.join('?' for _ in used_cases)}) "
            "ORDER BY id",
            used_cases,
        )
    ]
    # Standing derived now (a void or a backdated renewal since logging counts): a health
    # insurer may refuse to reimburse a visit no authorization covers.
    standings = standings_of(conn, used_cases)
    billed = sorted({line["session_id"] for line in lines})
    for session_id in billed:
        standing = standings[session_id]
        if standing.rx_flag or standing.over_authorized:
            why = (
                "over the visits authorized"
                if standing.over_authorized
                else ("outside the prescription's dates")
            )
            day = next(line["date"] for line in lines if line["session_id"] == session_id)
            warnings.append(f"session {session_id} on {day} is {why}")
    if not profile.get("tax_id"):
        warnings.append(
            "the profile has no tax ID (EIN), which FSA/HSA administrators often ask for"
        )
    client_data = {k: client[k] for k in ("id", "name", "dob", "address", "phone", "email")}
    provider = {k: profile[k] for k in profile if k not in ("fees", "report_rules")}
    return Superbill(written, period, provider, client_data, cases, diagnoses, lines, warnings)
