"""The superbill: an itemised statement a client files with an FSA/HSA or their insurer for
reimbursement (provider identifiers, diagnoses, each date of service with place of service, CPT
code, units and fee, total). Plain data; documents/ draws it. Money is kept in integer cents.

Each line says whether its visit's note is signed: an unsigned draft is billed but marked (and
warned about), as the progress summary does. Place of service and modifiers follow the claim's
rules (the profile's place of service; rules/modifiers.py with the payer type's claim rule), so a
superbill and a claim of the same visits bill them alike. Nothing in the database records
payments yet, so a superbill lists charges only.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date

from medmassage.documents.summary import Period, require_profile
from medmassage.errors import InputError
from medmassage.record.authorizations import Authorization, load_many, standings_of, windows
from medmassage.record.profile import identity
from medmassage.rules.catalog import CPT_CODES
from medmassage.rules.coverage import in_force

# CMS place-of-service code printed on every line when the profile sets none: the office.
# Nothing records where one visit took place, so the profile's place is every visit's.
PLACE_OF_SERVICE = "11"

# Profile fields a superbill prints but can go without: named on stderr (one line, with the
# `profile set` options to fill them) and printed as "not on file". Name, credentials, license
# number and NPI are required by every insurer document (summary.require_profile refuses).
WANTED_PROFILE = {
    "practice_name": ("practice name", "--practice-name"),
    "address": ("practice address", "--address"),
    "phone": ("phone", "--phone"),
    "license_state": ("license state", "--license-state"),
    "tax_id": ("tax ID (EIN)", "--tax-id"),
}


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
    from medmassage.record.cases import case_for_client

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
    from medmassage.record.profile import claim_rules
    from medmassage.rules.modifiers import bundled_warning, line_modifiers

    place = (
        conn.execute("SELECT place_of_service FROM profile WHERE id = 1").fetchone() or [None]
    )[0] or PLACE_OF_SERVICE
    rules = claim_rules(conn)
    payer_of = dict(
        conn.execute(f"SELECT id, payer_type FROM care_case WHERE id IN ({marks})", case_ids)
    )
    sessions = conn.execute(
        f"SELECT id, case_id, date, minutes, status, json_array_length(regions) AS regions "
        f"FROM session WHERE case_id IN ({marks}) "
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
        rule = rules[payer_of[s["case_id"]]]
        codes = {r["cpt"] for r in billable}
        bundled = bundled_warning(s["id"], codes, s["regions"], rule.distinct_modifier)
        if bundled:
            warnings.append(bundled)
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
                    "signed": s["status"] == "signed",
                    "place_of_service": place,
                    "modifiers": line_modifiers(
                        r["cpt"], codes, s["regions"], rule.distinct_modifier, rule.gp
                    ),
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
    unsigned = sorted({line["session_id"] for line in lines if not line["signed"]})
    if unsigned:
        warnings.append(
            f"{len(unsigned)} visit(s) on this superbill are unsigned drafts, marked † on it "
            f"(session{'s' if len(unsigned) > 1 else ''} {', '.join(map(str, unsigned))}); "
            "sign them with: medmassage session sign ID"
        )
    if not client["address"]:
        warnings.append(
            f"client {client['id']} has no address on file (the superbill says so; insurers' "
            f"claim forms ask for it); add it with: medmassage client edit {client['id']} "
            "--address …"
        )
    missing = missing_profile_fields(profile)
    if missing:
        warnings.insert(0, _missing_profile_warning(missing))
    client_data = {k: client[k] for k in ("id", "name", "dob", "address", "phone", "email")}
    provider = identity(profile)
    return Superbill(written, period, provider, client_data, cases, diagnoses, lines, warnings)


def missing_profile_fields(profile: dict) -> list[str]:
    """The optional profile fields a superbill prints that the profile lacks."""
    return [k for k in WANTED_PROFILE if not profile.get(k)]


def _missing_profile_warning(missing: list[str]) -> str:
    names = ", ".join(WANTED_PROFILE[k][0] for k in missing)
    options = " ".join(f"{WANTED_PROFILE[k][1]} …" for k in missing)
    why = (
        " (FSA/HSA administrators often ask for the address and tax ID)"
        if {"address", "tax_id"} & set(missing)
        else ""
    )
    return (
        f'the profile has no {names}: the superbill says "not on file"{why}; '
        f"add {'it' if len(missing) == 1 else 'them'} with: medmassage profile set {options}"
    )
