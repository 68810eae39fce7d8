"""Clients: add, find by id or part of the name, edit, discharge."""

import sqlite3
import unicodedata
from datetime import date

from medmassage.errors import InputError
from medmassage.rules.dates import now_stamp, parse_date, today
from medmassage.rules.validate import (
    NAME_MAX,
    clean_text,
    parse_email,
    parse_row_id,
    parse_sex,
    required_text,
)
from medmassage.store import db


def clean_client_fields(raw: dict[str, str | None]) -> dict[str, object]:
    """Validate the client fields that were given (None = not given)."""
    values: dict[str, object] = {}
    for field, value in raw.items():
        if value is None:
            continue
        if field == "name":
            values[field] = required_text("name", value, max_len=NAME_MAX)
        elif field == "dob":
            values[field] = parse_date("dob", value, allow_future=False).isoformat()
        elif field == "sex":
            values[field] = parse_sex(value)
        elif field == "email":
            values[field] = parse_email(value)
        elif field == "phone":
            values[field] = clean_text("phone", value, max_len=40, multiline=False)
        elif field == "address":
            # Lines of an address, not prose: no invisible characters, as in the name.
            values[field] = clean_text("address", value, max_len=500, multiline=True, prose=False)
    return values


def add_client(conn: sqlite3.Connection, raw: dict[str, str | None]) -> int:
    """Insert a client: name required; dob, sex, phone, email, address optional."""
    if not raw.get("name"):
        raise InputError("name", raw.get("name"), "required: the client's full name")
    row = clean_client_fields(raw)
    row["created"] = now_stamp()
    with db.transaction(conn):
        client_id = db.insert(conn, "client", row)
        db.audit(conn, "add", "client", client_id)
    return client_id


def get_client(conn: sqlite3.Connection, client_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM client WHERE id = ?", (client_id,)).fetchone()


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def find_client(conn: sqlite3.Connection, ref: str) -> sqlite3.Row:
    """A client by id, or by an unambiguous, case-insensitive part of the name.

    An exact full-name match wins over partial matches ("Ann Lee" beats "Joann Leeds").
    """
    text = (ref or "").strip()
    if not text:
        raise InputError("client", ref, "give a client id or part of the name")
    if text.lstrip("#").isdigit():
        row = get_client(conn, parse_row_id("client", text, "client list --all"))
        if row is None:
            raise InputError(
                "client", ref, "no client has this id (see: medmassage client list --all)"
            )
        return row
    name = clean_text("client", text, max_len=NAME_MAX, multiline=False) or ""
    # Case-insensitive in every script: SQLite's NOCASE and LIKE fold ASCII letters only
    # ("ángela" would not find "Ángela"), so names are compared in Python with casefold().
    wanted = _fold(name)
    everyone = conn.execute("SELECT * FROM client ORDER BY id").fetchall()
    exact = [r for r in everyone if _fold(r["name"]) == wanted]
    if len(exact) == 1:
        return exact[0]
    found = exact or [r for r in everyone if wanted in _fold(r["name"])]
    if len(found) == 1:
        return found[0]
    if not found:
        raise InputError("client", ref, "no client matches (see: medmassage client list --all)")
    # Ids, not names: the others' names are client data the user did not type (SPEC §13);
    # `client list` shows them.
    ids = ", ".join(str(r["id"]) for r in found[:10])
    more = f" and {len(found) - 10} more" if len(found) > 10 else ""
    raise InputError(
        "client",
        ref,
        f"matches {len(found)} clients (ids {ids}{more}); use the id or more of the name "
        "(see: medmassage client list --all)",
    )


def list_clients(conn: sqlite3.Connection, include_discharged: bool = False) -> list[dict]:
    where = "" if include_discharged else "WHERE c.status = 'active'"
    rows = conn.execute(
        f"""
        SELECT c.id, c.name, c.dob, c.phone, c.status,
               (SELECT count(*) FROM care_case k WHERE k.client_id = c.id AND k.status = 'open')
                   AS open_cases,
               -- each case's latest visit read backwards from the covering (case_id, date,
               -- status) index, stopping at the first that is not void: not every visit
               (SELECT max((SELECT s.date FROM session s
                             WHERE s.case_id = k.id AND s.status != 'void'
                             ORDER BY s.date DESC LIMIT 1))
                  FROM care_case k WHERE k.client_id = c.id) AS last_visit
        FROM client c {where}
        ORDER BY c.name COLLATE NOCASE, c.id
        """
    ).fetchall()
    return [dict(r) for r in rows]


def edit_client(conn: sqlite3.Connection, client_id: int, raw: dict[str, str | None]) -> list[str]:
    """Apply the fields given (None = leave as is; "" clears an optional field)."""
    cleared = {k: None for k, v in raw.items() if v == "" and k != "name"}
    fields = clean_client_fields({k: v for k, v in raw.items() if v != "" or k == "name"})
    fields.update(cleared)
    if not fields:
        raise InputError("client edit", "", "give at least one field to change, e.g. --phone")
    with db.transaction(conn):
        db.update(conn, "client", client_id, fields)
        db.audit(conn, "edit", "client", client_id)
    return sorted(fields)


def discharge_client(
    conn: sqlite3.Connection, client_id: int, reason: str, on: date | None = None
) -> list[int]:
    """Discharge a client and close their open cases with the same reason. Returns case ids."""
    reason_text = required_text("reason", reason, max_len=1000)
    day = (on or today()).isoformat()
    with db.transaction(conn):
        row = get_client(conn, client_id)
        if row is None:
            raise InputError("client", client_id, "no client has this id")
        if row["status"] == "discharged":
            raise InputError("client", row["id"], f"already discharged on {row['discharge_date']}")
        db.update(
            conn,
            "client",
            client_id,
            {"status": "discharged", "discharge_date": day, "discharge_reason": reason_text},
        )
        db.audit(conn, "discharge", "client", client_id)
        cases = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM care_case WHERE client_id = ? AND status = 'open'", (client_id,)
            )
        ]
        for case_id in cases:
            db.update(
                conn,
                "care_case",
                case_id,
                {"status": "closed", "close_date": day, "close_reason": reason_text},
            )
            db.audit(conn, "close", "case", case_id)
    return cases


def client_summary(conn: sqlite3.Connection, client_id: int) -> dict:
    """The client and their cases (visits and prescription: the authorization in force)."""
    from medmassage.record.cases import list_cases

    row = get_client(conn, client_id)
    if row is None:
        raise InputError("client", client_id, "no client has this id")
    data = dict(row)
    keys = ("id", "payer_type", "payer_name", "status", "rx_until", "visits_authorized")
    data["cases"] = [
        {**{k: c[k] for k in keys}, "visits_used": c["visits_used"]}
        for c in sorted(list_cases(conn, today(), client_id), key=lambda c: c["id"])
    ]
    return data
