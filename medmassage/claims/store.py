"""Claims kept in the record: made, listed, read back box by box, voided, replaced, submitted.

A claim row holds its boxes as built (`data`) and its lines (claim_line, with the fee used);
box 24, the forms, box 28 and the total are derived from the lines here, in one place
(`claim_dict`), so `claim show`, `claim print` and `claim export` read the same claim. The
database's triggers (migration 12) lock a claim once it leaves draft and keep a visit on one
open claim at a time, even against the sqlite3 shell; this module says why in words first.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date

from medmassage.claims.build import (
    LINES_PER_FORM,
    ClaimRequest,
    build_claim,
    replacement_of,
    state_of,
)
from medmassage.errors import InputError, RuleRefused, RuntimeProblem
from medmassage.rules.dates import now_stamp
from medmassage.store import db

STATUSES = ("draft", "submitted", "replaced", "void")
OPEN = ("draft", "submitted")


def create_claim(
    conn: sqlite3.Connection, request: ClaimRequest, on: date
) -> tuple[int, list[str], list[str]]:
    """Build and store a draft claim (a replacement's original reads "replaced" from then on,
    derived: state_of). Returns (claim id, warnings, what was left out)."""
    with db.transaction(conn):
        claim_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM claim").fetchone()[0]
        built = build_claim(conn, request, on, claim_id)
        data = {
            "boxes": built.data,
            "authorization_id": built.authorization_id,
            "place_of_service": built.place_of_service,
        }
        conn.execute(
            "INSERT INTO claim (id, case_id, status, frequency_code, replaces, original_ref, "
            "data, created) VALUES (?, ?, 'draft', ?, ?, ?, ?, ?)",
            (
                claim_id,
                request.case_id,
                "7" if request.replaces is not None else "1",
                request.replaces,
                request.original_ref,
                json.dumps(data, ensure_ascii=False, sort_keys=True),
                now_stamp(),
            ),
        )
        for line in built.lines:
            conn.execute(
                "INSERT INTO claim_line (claim_id, line, session_id, service_date, cpt, "
                "modifiers, pointers, units, fee_cents, charge_cents) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    claim_id,
                    line["line"],
                    line["session_id"],
                    line["service_date"],
                    line["cpt"],
                    json.dumps(line["modifiers"]),
                    line["pointers"],
                    line["units"],
                    line["fee_cents"],
                    line["charge_cents"],
                ),
            )
        db.audit(conn, "create", "claim", claim_id)
    return claim_id, built.warnings, built.skipped


def parse_claim_id(value: str | int) -> int:
    text = str(value).strip().lstrip("#")
    if not text.isdigit() or int(text) < 1:
        raise InputError("claim", value, "a claim id, a whole number (see: medmassage claim list)")
    return int(text)


def get_claim_row(conn: sqlite3.Connection, claim_id: int) -> sqlite3.Row:
    row = conn.execute(
        f"SELECT *, {state_of('c')} AS state, {replacement_of('c')} AS replaced_by "
        "FROM claim c WHERE id = ?",
        (claim_id,),
    ).fetchone()
    if row is None:
        raise InputError("claim", claim_id, "no claim has this id (see: medmassage claim list)")
    return row


def _line_box(row: sqlite3.Row, place: str, npi: str | None) -> dict:
    day = row["service_date"]
    return {
        "line": row["line"],
        "form": (row["line"] - 1) // LINES_PER_FORM + 1,
        "session_id": row["session_id"],
        "24A": {"from": day, "to": day},
        "24B": place,
        "24C": None,
        "24D": {"cpt": row["cpt"], "modifiers": json.loads(row["modifiers"])},
        "24E": row["pointers"],
        "24F": row["charge_cents"],
        "24G": row["units"],
        "24H": None,
        "24I": None,
        "24J": npi,
        "fee_cents": row["fee_cents"],
    }


def claim_dict(conn: sqlite3.Connection, claim_id: int) -> dict:
    """The claim as `claim show -f json` gives it (README "Claims"): its state, its forms and
    the boxes keyed by NUCC number, box 24 and 28 derived from its lines."""
    row = get_claim_row(conn, claim_id)
    data = json.loads(row["data"])
    if not isinstance(data.get("boxes"), dict) or "place_of_service" not in data:
        raise RuntimeProblem(
            f"claim {claim_id}: its stored boxes are not as medmassage writes them (changed "
            "outside medmassage?); see: medmassage db check"
        )
    boxes = dict(data["boxes"])
    case = conn.execute(
        "SELECT client_id, payer_type FROM care_case WHERE id = ?", (row["case_id"],)
    ).fetchone()
    place = data["place_of_service"]
    lines = [
        _line_box(r, place, boxes.get("33a"))
        for r in conn.execute(
            "SELECT * FROM claim_line WHERE claim_id = ? ORDER BY line", (claim_id,)
        )
    ]
    total = sum(x["24F"] for x in lines)
    count = max((x["form"] for x in lines), default=1)
    forms = [
        {
            "form": n,
            "lines": [x["line"] for x in lines if x["form"] == n],
            "charges_cents": sum(x["24F"] for x in lines if x["form"] == n),
            "last": n == count,
        }
        for n in range(1, count + 1)
    ]
    boxes["24"] = lines
    boxes["28"] = total
    ordered = {k: boxes[k] for k in sorted(boxes, key=_box_order)}
    submitted_in = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM x12_interchange WHERE ? IN (SELECT value FROM json_each(claims)) "
            "ORDER BY id",
            (claim_id,),
        )
    ]
    return {
        "claim_id": claim_id,
        "status": row["state"],
        "created": row["created"],
        "submitted": row["submitted"],
        "submitted_by": row["submitted_by"],
        "void_reason": row["void_reason"],
        "case_id": row["case_id"],
        "client_id": case["client_id"],
        "payer_type": case["payer_type"],
        "frequency_code": row["frequency_code"],
        "replaces": row["replaces"],
        "replaced_by": row["replaced_by"],
        "interchanges": submitted_in,
        "visits": len({x["session_id"] for x in lines}),
        "total_cents": total,
        "forms": forms,
        "boxes": ordered,
    }


def _box_order(key: str) -> tuple[int, str]:
    """ "carrier" first, then 1, 1a, 2 … 9d, 10a, 10b, 10b_state … 33b in number order."""
    if key == "carrier":
        return (0, "")
    digits = "".join(ch for ch in key if ch.isdigit())
    return (int(digits) if digits else 99, key[len(digits) :])


def list_claims(
    conn: sqlite3.Connection, client_id: int | None = None, status: str | None = None
) -> list[dict]:
    if status is not None and status not in STATUSES:
        raise InputError("status", status, "one of " + ", ".join(STATUSES))
    rows = conn.execute(
        f"SELECT c.id, c.case_id, {state_of('c')} AS status, c.created, c.submitted, "
        "c.submitted_by, c.replaces, "
        "k.client_id, cl.name AS client, k.payer_type, k.payer_name, "
        "count(l.line) AS lines, count(DISTINCT l.session_id) AS visits, "
        "coalesce(sum(l.charge_cents), 0) AS total_cents, "
        "min(l.service_date) AS first, max(l.service_date) AS last "
        "FROM claim c JOIN care_case k ON k.id = c.case_id JOIN client cl ON cl.id = k.client_id "
        "LEFT JOIN claim_line l ON l.claim_id = c.id "
        f"WHERE (? IS NULL OR k.client_id = ?) AND (? IS NULL OR {state_of('c')} = ?) "
        "GROUP BY c.id ORDER BY c.id",
        (client_id, client_id, status, status),
    )
    return [dict(r) for r in rows]


def void_claim(conn: sqlite3.Connection, claim_id: int, reason: str) -> None:
    from medmassage.rules.validate import required_text

    why = required_text("reason", reason, max_len=500)
    with db.transaction(conn):
        row = get_claim_row(conn, claim_id)
        if row["status"] != "draft":
            raise RuleRefused(
                f"claim: {claim_id} is {row['state']} — only a draft is voided; a submitted "
                "claim is corrected with: medmassage claim create CLIENT --replaces "
                f"{claim_id} --original-ref REF"
            )
        conn.execute(
            "UPDATE claim SET status = 'void', void_reason = ?, voided = ? WHERE id = ?",
            (why, now_stamp(), claim_id),
        )
        db.audit(conn, "void", "claim", claim_id)


def drift(conn: sqlite3.Connection, claim_id: int) -> list[str]:
    """What a draft claim says that the record no longer does: the boxes (and "24" for the
    lines) that building it again from the record, as of the day it was made, fills otherwise,
    or why it can no longer be made at all. [] for a claim in step, or one no longer a draft
    (a submitted claim is what was sent)."""
    row = get_claim_row(conn, claim_id)
    if row["status"] != "draft":
        return []
    stored = claim_dict(conn, claim_id)
    sessions = tuple(dict.fromkeys(x["session_id"] for x in stored["boxes"]["24"]))
    request = ClaimRequest(
        case_id=row["case_id"],
        sessions=sessions,
        replaces=row["replaces"],
        original_ref=row["original_ref"],
        rebuilding=claim_id,
    )
    made = date.fromisoformat(stored["boxes"]["31"]["date"])
    try:
        built = build_claim(conn, request, made, claim_id)
    except (InputError, RuleRefused) as error:
        return [f"it could not be made now ({error})"]
    boxes = stored["boxes"]
    changed = [k for k in built.data if built.data[k] != boxes.get(k)]

    def lines(items):
        return [
            (x["session_id"], x["cpt"], x["units"], x["fee_cents"], x["modifiers"], x["pointers"])
            for x in items
        ]

    kept = [
        {
            "session_id": x["session_id"],
            "cpt": x["24D"]["cpt"],
            "units": x["24G"],
            "fee_cents": x["fee_cents"],
            "modifiers": x["24D"]["modifiers"],
            "pointers": x["24E"],
        }
        for x in boxes["24"]
    ]
    if lines(built.lines) != lines(kept) or built.place_of_service != (
        boxes["24"][0]["24B"] if boxes["24"] else None
    ):
        changed.append("24")
    return [f"box {', '.join(changed)}"] if changed else []


def open_claims_billing(conn: sqlite3.Connection, session_id: int) -> list[tuple[int, str]]:
    """(claim id, status) of the open claims a session is on (one at most, by the triggers)."""
    rows = conn.execute(
        f"SELECT DISTINCT c.id, c.status FROM claim_line l JOIN claim c ON c.id = l.claim_id "
        f"WHERE l.session_id = ? AND {state_of('c')} IN ('draft', 'submitted') ORDER BY c.id",
        (session_id,),
    )
    return [(r[0], r[1]) for r in rows]


def claims_to_send(conn: sqlite3.Connection, claim_ids: list[int]) -> list[sqlite3.Row]:
    """The claims named, each a draft or submitted (a void or replaced one is never sent)."""
    rows = [get_claim_row(conn, i) for i in dict.fromkeys(claim_ids)]
    dead = [r for r in rows if r["state"] not in OPEN]
    if dead:
        what = ", ".join(f"{r['id']} ({r['state']})" for r in dead)
        raise RuleRefused(f"claim: {what} — a void or replaced claim is never sent")
    voided = conn.execute(
        "SELECT DISTINCT l.claim_id, l.session_id FROM claim_line l "
        "JOIN session s ON s.id = l.session_id WHERE s.status = 'void' "
        "AND l.claim_id IN (SELECT value FROM json_each(?)) ORDER BY l.claim_id, l.session_id",
        (json.dumps([r["id"] for r in rows]),),
    ).fetchall()
    if voided:
        what = ", ".join(f"claim {c} bills session {s}" for c, s in voided)
        raise RuleRefused(
            f"claim: {what}, void since — a void visit is never billed: void a draft claim and "
            "make it again, or replace a submitted one (claim create --replaces ID)"
        )
    for r in rows:
        found = drift(conn, r["id"])
        if found:
            raise RuleRefused(
                f"claim: {r['id']} no longer agrees with the record ({'; '.join(found)} "
                "changed since it was made) — void it and make it again: medmassage claim void "
                f"{r['id']} --reason 'record corrected', then claim create"
            )
    return rows


def mark_submitted(conn: sqlite3.Connection, claim_ids: list[int], how: str, on: date) -> list[int]:
    """Drafts among `claim_ids` become submitted on `on` (by print or x12), in the caller's
    transaction; those already submitted keep their first date. Returns those marked."""
    marked = []
    for claim_id in claim_ids:
        row = get_claim_row(conn, claim_id)
        if row["status"] == "draft":
            conn.execute(
                "UPDATE claim SET status = 'submitted', submitted = ?, submitted_by = ? "
                "WHERE id = ?",
                (on.isoformat(), how, claim_id),
            )
            db.audit(conn, "submit", "claim", claim_id)
            marked.append(claim_id)
    return marked


def record_interchange(conn: sqlite3.Connection, claim_ids: list[int]) -> int:
    """A new 837P interchange's control number (never one used before: AUTOINCREMENT), in the
    caller's transaction."""
    cursor = conn.execute(
        "INSERT INTO x12_interchange (created, claims) VALUES (?, ?)",
        (now_stamp(), json.dumps(claim_ids)),
    )
    number = cursor.lastrowid
    db.audit(conn, "export", "interchange", number)
    return number
