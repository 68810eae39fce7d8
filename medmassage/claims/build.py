"""A claim built from the record (SPEC §11): which visits it bills, and every CMS-1500 box.

`build_claim` reads the case, its client, the profile and the visits, refuses what a payer would
deny (drafts, voids, visits already on an open claim, details the form needs and the record
lacks: all listed in one message), and returns the boxes keyed by their NUCC numbers with the
24 lines apart (they are stored as claim_line rows with the fee used; store.py reassembles
box 24 and the totals from them). The box facts are those of ../shared/notes-claims.md:

- 1 "group" for a health plan, "other" for auto PIP and workers' comp; 1a the member id (for
  P&C, the claim number when no member id is recorded).
- 4/6/7/11a the insured: the patient when the relationship is self; for workers' comp with an
  employer recorded, the employer.
- 10a employment (workers' comp), 10b auto accident with the state (auto PIP).
- 11b qualifier Y4 with the property-and-casualty claim number (auto PIP, workers' comp).
- 14 the injury date (or the intake's onset) with qualifier 431; 16 dates unable to work (WC).
- 17 qualifier DK (ordering) with the prescriber of the authorization the visits fall under,
  17b their NPI; 23 that authorization's number.
- 21 ICD indicator 0, diagnoses A–L in the case's order; each line points to the first four.
- 24 one line per CPT code per visit: the session's CPT lines as billed when it was logged,
  charge = the profile's fee now × units (the fee is stored on the line); modifiers by
  rules/modifiers.py (59/XS, GP), the superbill's rule too.
- 25 tax id and kind; 26 the case's account number (default MM<case>-<claim>, unique per
  claim: the 835 remittance echoes it); 27 assignment; 31 the therapist and the claim's date;
  32 the practice as service facility for place of service 11; 33 the billing provider.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import NamedTuple

from medmassage.errors import InputError, RuleRefused
from medmassage.rules.address import Address, split_address
from medmassage.rules.modifiers import bundled_warning, line_modifiers

# Payer types a claim goes to, and CMS-1500 box 1 for each. FSA/HSA and self-pay clients
# file the superbill themselves.
BOX_1 = {"health": "group", "auto-pip": "other", "workers-comp": "other"}
LINES_PER_FORM = 6
MAX_DIAGNOSES = 12
DEFAULT_TAXONOMY = "225700000X"  # Massage Therapist (NUCC)
DEFAULT_PLACE = "11"  # office
LETTERS = "ABCDEFGHIJKL"
SIGNATURE_ON_FILE = "SIGNATURE ON FILE"


def replacement_of(alias: str) -> str:
    """SQL: the non-void claim that replaces claim `alias` (NULL when none stands)."""
    return (
        f"(SELECT r.id FROM claim r WHERE r.replaces = {alias}.id AND r.status <> 'void' "
        "ORDER BY r.id DESC LIMIT 1)"
    )


def state_of(alias: str) -> str:
    """SQL: a claim's state as shown: its stored status, or "replaced" for a submitted claim a
    standing corrected claim names. Derived, so voiding the corrected draft undoes it."""
    return (
        f"CASE WHEN {alias}.status = 'submitted' AND {replacement_of(alias)} IS NOT NULL "
        f"THEN 'replaced' ELSE {alias}.status END"
    )


class ClaimRequest(NamedTuple):
    case_id: int
    first: date | None = None
    last: date | None = None
    sessions: tuple[int, ...] = ()  # chosen visits, else every billable one of the period
    replaces: int | None = None
    original_ref: str | None = None
    rebuilding: int | None = None  # a stored draft built again to compare (store.drift)


class Built(NamedTuple):
    data: dict  # the claim's boxes but 24 and 28 (store.py derives those from the lines)
    lines: list[dict]  # claim_line rows, in order
    warnings: list[str]
    skipped: list[str]  # what the period held and the claim leaves out, said on stderr
    authorization_id: int  # the authorization of boxes 17 and 23
    place_of_service: str  # 24B of every line


def person_name(full: str | None) -> dict | None:
    """A person's name as the form and X12 want it: the last word as the last name, the words
    before it as first (and middle); `text` is LAST, FIRST MIDDLE as the form prints it."""
    words = (full or "").split()
    if not words:
        return None
    last, given = words[-1], words[:-1]
    first = given[0] if given else None
    middle = " ".join(given[1:]) or None
    text = ", ".join(x for x in (last, first, middle) if x).upper()
    return {"last": last, "first": first, "middle": middle, "text": text}


def _prescriber(authorization) -> dict | None:
    """Box 17's name: first, middle, last, then the credentials (NUCC); "Alan Brooks, DC"
    typed in one field is the name and the credentials too."""
    name, _, typed = authorization.prescriber.partition(",")
    found = person_name(name)
    if found is None:
        return None
    credentials = authorization.prescriber_credentials or typed.strip() or None
    words = [found["first"], found["middle"], found["last"], credentials]
    return {**found, "text": " ".join(w for w in words if w).upper()}


def org_name(name: str) -> dict:
    return {"last": name, "first": None, "middle": None, "text": name.upper()}


def _address(a: Address | None, phone: str | None = None) -> dict | None:
    if a is None:
        return None
    return {"street": a.street, "city": a.city, "state": a.state, "zip": a.zip, "phone": phone}


def _digits(text: str | None) -> str | None:
    found = "".join(ch for ch in (text or "") if ch.isdigit())
    return found or None


def _sex(value: str | None) -> str | None:
    return {"female": "F", "male": "M"}.get(value or "")


def _provider_signature(profile: sqlite3.Row) -> str:
    return " ".join(x for x in (profile["name"], profile["credentials"]) if x).upper()


# --- which visits -----------------------------------------------------------------------------


def _open_claims_of(conn: sqlite3.Connection, session_ids: list[int], request: ClaimRequest):
    """session id → the open claim (draft or submitted) it is on, the one replaced (or built
    again) aside."""
    rows = conn.execute(
        "SELECT l.session_id, c.id FROM claim_line l JOIN claim c ON c.id = l.claim_id "
        f"WHERE {state_of('c')} IN ('draft', 'submitted') AND c.id IS NOT ? AND c.id IS NOT ? "
        "AND l.session_id IN (SELECT value FROM json_each(?))",
        (request.replaces, request.rebuilding, json.dumps(session_ids)),
    )
    return {r[0]: r[1] for r in rows}


def _ids(ids) -> str:
    return ", ".join(str(i) for i in ids)


def choose_visits(
    conn: sqlite3.Connection, request: ClaimRequest
) -> tuple[list[sqlite3.Row], list[str]]:
    """The visits the claim bills, in visit order, and what the period held that it leaves
    out. Named visits must all be billable; a period's drafts refuse the claim (they are the
    visits the therapist means to bill), its voids are left out, its visits already on an
    open claim are left out (all of them: refused)."""
    case_id = request.case_id
    skipped: list[str] = []
    if request.sessions:
        rows = conn.execute(
            "SELECT * FROM session WHERE id IN (SELECT value FROM json_each(?)) "
            "ORDER BY date, coalesce(start_time, ''), id",
            (json.dumps(list(request.sessions)),),
        ).fetchall()
        found = {r["id"] for r in rows}
        unknown = [i for i in request.sessions if i not in found]
        if unknown:
            raise InputError(
                "session", _ids(unknown), "no session has this id (see: medmassage session list)"
            )
        other = [r["id"] for r in rows if r["case_id"] != case_id]
        if other:
            raise InputError("session", _ids(other), f"not a visit of case {case_id}")
    else:
        rows = conn.execute(
            "SELECT * FROM session WHERE case_id = ? AND (? IS NULL OR date >= ?) "
            "AND (? IS NULL OR date <= ?) ORDER BY date, coalesce(start_time, ''), id",
            (
                case_id,
                *(2 * [request.first.isoformat() if request.first else None]),
                *(2 * [request.last.isoformat() if request.last else None]),
            ),
        ).fetchall()
    drafts = [r["id"] for r in rows if r["status"] == "draft"]
    if drafts:
        raise RuleRefused(
            f"session: {_ids(drafts)} — unsigned drafts are not billed; sign them first "
            "(medmassage session sign ID) or leave them out with --from/--to or --session"
        )
    voids = [r["id"] for r in rows if r["status"] == "void"]
    if voids and request.sessions:
        raise RuleRefused(f"session: {_ids(voids)} — void sessions are never billed")
    if voids:
        skipped.append(f"left out void session(s) {_ids(voids)}")
    rows = [r for r in rows if r["status"] == "signed"]
    taken = _open_claims_of(conn, [r["id"] for r in rows], request)
    if taken:
        by_claim: dict[int, list[int]] = {}
        for session_id, claim_id in taken.items():
            by_claim.setdefault(claim_id, []).append(session_id)
        where = "; ".join(f"session(s) {_ids(s)} on claim {c}" for c, s in by_claim.items())
        if request.sessions:
            raise RuleRefused(
                f"session: {where} — a visit is on one open claim at a time (void that claim, "
                "or replace it with --replaces ID)"
            )
        skipped.append(f"left out {where} (already billed)")
        rows = [r for r in rows if r["id"] not in taken]
    if not rows:
        what = "in this period" if (request.first or request.last) else "on this case"
        left = f" ({'; '.join(skipped)})" if skipped else ""
        raise RuleRefused(f"claim: no signed visits left to bill {what}{left}")
    return rows, skipped


# --- the boxes --------------------------------------------------------------------------------


def _rules(conn: sqlite3.Connection, payer_type: str) -> tuple[str | None, bool]:
    row = conn.execute(
        "SELECT distinct_modifier, gp FROM claim_rule WHERE payer_type = ?", (payer_type,)
    ).fetchone()
    return (row[0], bool(row[1])) if row else (None, False)


def _replaced(conn: sqlite3.Connection, request: ClaimRequest) -> dict | None:
    """Box 22 for a corrected claim: the original must be a submitted claim of the case."""
    if request.rebuilding is not None:  # checked when the draft was made; replaced since
        return {"code": "7", "original_ref": request.original_ref} if request.replaces else None
    if request.replaces is None:
        if request.original_ref:
            raise InputError("original-ref", request.original_ref, "goes with --replaces ID")
        return None
    row = conn.execute(
        f"SELECT case_id, status, {replacement_of('c')} AS replaced_by FROM claim c WHERE id = ?",
        (request.replaces,),
    ).fetchone()
    if row is None:
        raise InputError(
            "replaces", request.replaces, "no claim has this id (see: medmassage claim list)"
        )
    if row["case_id"] != request.case_id:
        raise InputError("replaces", request.replaces, f"is not a claim of case {request.case_id}")
    if row["replaced_by"] is not None:
        raise RuleRefused(
            f"replaces: claim {request.replaces} is replaced by claim {row['replaced_by']} — "
            f"correct that one instead (claim create … --replaces {row['replaced_by']}, once it "
            "is submitted), or void it if it is still a draft"
        )
    if row["status"] != "submitted":
        raise RuleRefused(
            f"replaces: claim {request.replaces} is {row['status']} — only a submitted claim is "
            "replaced (a draft is voided and made again)"
        )
    if not request.original_ref:
        raise InputError(
            "original-ref",
            None,
            "the payer's claim number of the original (its ICN/DCN, on the remittance): "
            "box 22 needs it",
        )
    return {"code": "7", "original_ref": request.original_ref}


def build_claim(conn: sqlite3.Connection, request: ClaimRequest, on: date, claim_id: int) -> Built:
    """The claim `claim_id` (the id it will be stored under) as of `on`. Raises InputError or
    RuleRefused (nothing written) when it cannot be made right."""
    from medmassage.record.authorizations import case_coverage
    from medmassage.record.cases import diagnoses

    case = conn.execute("SELECT * FROM care_case WHERE id = ?", (request.case_id,)).fetchone()
    payer = case["payer_type"]
    if payer not in BOX_1:
        raise RuleRefused(
            f"payer: {payer} — claims go to health plans, auto PIP and workers' comp; "
            "give the client a superbill instead (medmassage superbill CLIENT)"
        )
    client = conn.execute("SELECT * FROM client WHERE id = ?", (case["client_id"],)).fetchone()
    profile = conn.execute("SELECT * FROM profile WHERE id = 1").fetchone()
    box_22 = _replaced(conn, request)
    if request.replaces is not None and not (request.sessions or request.first or request.last):
        ids = [r[0] for r in conn.execute(
            "SELECT DISTINCT session_id FROM claim_line WHERE claim_id = ?", (request.replaces,)
        )]  # fmt: skip
        request = request._replace(sessions=tuple(ids))
    visits, skipped = choose_visits(conn, request)
    warnings: list[str] = []
    missing: list[str] = []

    def need(value, what: str):
        if value is None or value == "":
            missing.append(what)
        return value

    # The billing provider (profile).
    p = profile if profile is not None else {}
    need(p["name"] if profile else None, "your name (profile set --name)")
    need(p["npi"] if profile else None, "your NPI (profile set --npi)")
    tax_id = need(_digits(p["tax_id"]) if profile else None, "tax id (profile set --tax-id)")
    kind = need(p["tax_id_kind"] if profile else None, "tax id kind (profile set --tax-id-kind)")
    phone = need(_digits(p["phone"]) if profile else None, "phone (profile set --phone)")
    practice_text = p["address"] if profile else None
    practice_address = split_address(practice_text)
    if practice_address is None:
        missing.append(
            "your address as street, city, ST ZIP (profile set --address)"
            if practice_text
            else "your address (profile set --address)"
        )
    # The payer and the insured (case).
    ref = f"case {case['id']}"
    need(case["payer_name"], f"payer name (case edit {case['id']} --payer-name)")
    payer_address = split_address(case["payer_address"])
    if payer_address is None:
        missing.append(f"payer address (case edit {case['id']} --payer-address)")
    member_id = case["policy"] or (case["claim"] if payer != "health" else None)
    need(member_id, f"member id (case edit {case['id']} --policy)")
    if payer != "health":
        need(case["claim"], f"claim number (case edit {case['id']} --claim)")
        need(case["injury_date"], f"injury date (case edit {case['id']} --injury-date)")
    if payer == "auto-pip":
        need(case["accident_state"], f"accident state (case edit {case['id']} --accident-state)")
    # The patient (client).
    need(client["dob"], f"client's date of birth (client edit {client['id']} --dob)")
    client_address = split_address(client["address"])
    if client_address is None:
        missing.append(f"client's address as street, city, ST ZIP (client edit {client['id']} "
                       "--address)")  # fmt: skip
    relationship = case["insured_relationship"] or "self"
    employer = case["employer"] if payer == "workers-comp" else None
    if relationship != "self" and not employer:
        need(case["insured_name"], f"insured's name (case edit {case['id']} --insured-name)")
    insured_address = split_address(case["insured_address"])
    if relationship != "self" and insured_address is None:
        missing.append(f"insured's address (case edit {case['id']} --insured-address)")
    dx = diagnoses(conn, case["id"])
    if not dx:
        missing.append(f"a diagnosis (case edit {case['id']} --dx CODE)")
    if len(dx) > MAX_DIAGNOSES:
        warnings.append(f"{ref} has {len(dx)} diagnoses: the claim carries the first 12")
    dx = dx[:MAX_DIAGNOSES]
    fees = dict(conn.execute("SELECT cpt, cents FROM fee").fetchall())
    cpt_rows = conn.execute(
        "SELECT session_id, cpt, units FROM session_cpt WHERE units > 0 "
        "AND session_id IN (SELECT value FROM json_each(?)) ORDER BY session_id, position",
        (json.dumps([v["id"] for v in visits]),),
    ).fetchall()
    by_session: dict[int, list[tuple[str, int]]] = {}
    for r in cpt_rows:
        by_session.setdefault(r["session_id"], []).append((r["cpt"], r["units"]))
    no_fee = sorted({c for lines in by_session.values() for c, _ in lines if c not in fees})
    for code in no_fee:
        missing.append(f"a fee for {code} (profile set --fee {code}=AMOUNT)")
    # The authorization the visits fall under (17, 17b, 23).
    coverage = case_coverage(conn, case["id"])
    standing = coverage.by_session
    under = {standing[v["id"]].authorization_id for v in visits if v["id"] in standing}
    outside = [v["id"] for v in visits if standing[v["id"]].authorization_id is None]
    if outside:
        warnings.append(
            f"session(s) {_ids(outside)} fall outside every authorization of {ref}: "
            "the payer may deny them"
        )
    found = [a for a in coverage.authorizations if a.id in (under - {None})]
    orders = {(a.prescriber, a.prescriber_npi, a.auth_number) for a in found}
    if len(orders) > 1:
        numbers = ", ".join(f"#{a.number}" for a in found)
        raise RuleRefused(
            f"claim: the visits fall under authorizations {numbers} of {ref} with different "
            "prescribers or authorization numbers (boxes 17 and 23 hold one): make one claim "
            "per authorization with --from/--to"
        )
    authorization = found[0] if found else coverage.current(date.fromisoformat(visits[-1]["date"]))
    if not authorization.prescriber_npi:
        warnings.append(
            f"the prescriber {authorization.prescriber} has no NPI recorded: box 17b is empty, "
            "and many payers deny a claim without it"
        )
    if missing:
        raise RuleRefused(
            "claim: the record lacks what the form needs — " + "; ".join(missing)
            + "; nothing was written"
        )  # fmt: skip

    distinct, gp = _rules(conn, payer)
    place = p["place_of_service"] or DEFAULT_PLACE
    npi = p["npi"]
    letters = LETTERS[: min(4, len(dx))]
    lines: list[dict] = []
    for v in visits:
        billed = by_session.get(v["id"], [])
        if not billed:
            warnings.append(f"session {v['id']} bills no units (under 8 minutes): no line")
            continue
        codes = {c for c, _ in billed}
        regions = len(json.loads(v["regions"]))
        bundled = bundled_warning(v["id"], codes, regions, distinct)
        if bundled:
            warnings.append(bundled)
        for code, units in billed:
            modifiers = line_modifiers(code, codes, regions, distinct, gp)
            fee = fees[code]
            lines.append(
                {
                    "line": len(lines) + 1,
                    "session_id": v["id"],
                    "service_date": v["date"],
                    "cpt": code,
                    "modifiers": modifiers,
                    "pointers": letters,
                    "units": units,
                    "fee_cents": fee,
                    "charge_cents": fee * units,
                }
            )
    if not lines:
        raise RuleRefused("claim: the visits bill no units (each under 8 minutes)")

    patient = person_name(client["name"])
    patient_address = _address(client_address, _digits(client["phone"]))
    if relationship == "self":
        insured = patient
        insured_at = patient_address
        insured_born = {"dob": client["dob"], "sex": _sex(client["sex"])}
    else:
        insured = org_name(employer) if employer else person_name(case["insured_name"])
        insured_at = _address(insured_address)
        insured_born = (
            None if employer else {"dob": case["insured_dob"], "sex": _sex(case["insured_sex"])}
        )
    if employer and relationship == "self":  # workers' comp: the employer is the insured
        insured, insured_born = org_name(employer), None
        insured_at = _address(insured_address)
        relationship = "other"
    onset = case["injury_date"]
    if onset is None:
        row = conn.execute(
            "SELECT onset_date FROM intake WHERE case_id = ? ORDER BY id DESC LIMIT 1",
            (case["id"],),
        ).fetchone()
        onset = row[0] if row else None
    provider_name = p["practice_name"] or p["name"]
    billing = {
        "name": provider_name,
        "person": None if p["practice_name"] else person_name(p["name"]),
        "entity": "organization" if p["practice_name"] else "person",
        **_address(practice_address, phone),  # type: ignore[dict-item]
    }
    boxes = {
        "carrier": {
            "name": case["payer_name"],
            "payer_id": case["payer_id"],
            "address": _address(payer_address),
        },
        "1": BOX_1[payer],
        "1a": member_id,
        "2": patient,
        "3": {"dob": client["dob"], "sex": _sex(client["sex"])},
        "4": insured,
        "5": patient_address,
        "6": relationship,
        "7": insured_at,
        "8": None,
        "9": None,
        "9a": None,
        "9d": None,
        "10a": payer == "workers-comp",
        "10b": payer == "auto-pip",
        "10b_state": case["accident_state"] if payer == "auto-pip" else None,
        "10c": False,
        "10d": None,
        "11": case["group_number"],
        "11a": insured_born,
        "11b": {"qualifier": "Y4", "value": case["claim"]} if payer != "health" else None,
        "11c": case["payer_name"],
        "11d": False,
        "12": {"signature": SIGNATURE_ON_FILE, "date": None},
        "13": SIGNATURE_ON_FILE,
        "14": {"date": onset, "qualifier": "431"} if onset else None,
        "15": None,
        "16": (
            {"from": case["unable_from"], "to": case["unable_to"]}
            if payer == "workers-comp" and case["unable_from"]
            else None
        ),
        "17": {"qualifier": "DK", "name": _prescriber(authorization)},
        "17a": None,
        "17b": authorization.prescriber_npi,
        "18": None,
        "19": None,
        "20": {"outside_lab": False, "charges_cents": None},
        "21": {"indicator": "0", "codes": {LETTERS[i]: d["code"] for i, d in enumerate(dx)}},
        "22": box_22,
        "23": authorization.auth_number,
        "25": {"value": tax_id, "kind": kind.upper()},
        "26": case["account_number"] or f"MM{case['id']}-{claim_id}",
        "27": p["accept_assignment"] is None or bool(p["accept_assignment"]),
        "29": 0,
        "30": None,
        "31": {"signature": _provider_signature(profile), "date": on.isoformat()},
        "32": (
            {"name": provider_name, **_address(practice_address)}  # type: ignore[dict-item]
            if place == DEFAULT_PLACE
            else None
        ),
        "32a": npi if place == DEFAULT_PLACE else None,
        "32b": None,
        "33": billing,
        "33a": npi,
        "33b": {"qualifier": "ZZ", "value": p["taxonomy"] or DEFAULT_TAXONOMY},
    }
    return Built(boxes, lines, warnings, skipped, authorization.id, place)
