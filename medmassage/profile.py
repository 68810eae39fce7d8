"""The therapist's profile (printed on every insurer document), fees and report rules."""

from __future__ import annotations

import sqlite3

from medmassage import db
from medmassage.cases import report_rule
from medmassage.catalog import PAYER_TYPES
from medmassage.dates import now_stamp
from medmassage.errors import InputError
from medmassage.progress import rule_text
from medmassage.validate import (
    NAME_MAX,
    clean_text,
    parse_email,
    parse_fee,
    parse_npi,
    parse_report_rule,
)

PROFILE_FIELDS = (
    "name",
    "credentials",
    "license_number",
    "license_state",
    "npi",
    "practice_name",
    "address",
    "phone",
    "email",
    "tax_id",
)


def _clean(field: str, value: str) -> str | None:
    if field == "npi":
        return parse_npi("npi", value)
    if field == "email":
        return parse_email(value)
    if field == "license_state":
        text = value.strip().upper()
        if text and not (len(text) == 2 and text.isalpha()):
            raise InputError("license-state", value, "a two-letter state code, e.g. WA")
        return text or None
    if field == "address":
        return clean_text(field, value, max_len=500, prose=False)  # lines, not prose
    return clean_text(field.replace("_", "-"), value, max_len=NAME_MAX, multiline=False)


def set_profile(
    conn: sqlite3.Connection,
    fields: dict[str, str | None],
    fees: list[str],
    report_rules: list[str],
) -> list[str]:
    """Update the fields given (None = unchanged). Returns what changed, for the message."""
    values = {k: _clean(k, v) for k, v in fields.items() if v is not None and k in PROFILE_FIELDS}
    parsed_fees = [parse_fee(f) for f in fees]
    parsed_rules = [parse_report_rule(r) for r in report_rules]
    if not values and not parsed_fees and not parsed_rules:
        raise InputError("profile set", "", "give at least one field, e.g. --name or --npi")
    with db.transaction(conn):
        exists = conn.execute("SELECT 1 FROM profile WHERE id = 1").fetchone()
        if exists:
            if values:
                db.update(conn, "profile", 1, {**values, "updated": now_stamp()})
        else:
            db.insert(conn, "profile", {"id": 1, **values, "updated": now_stamp()})
        for cpt, cents in parsed_fees:
            conn.execute(
                "INSERT INTO fee (cpt, cents) VALUES (?, ?) "
                "ON CONFLICT (cpt) DO UPDATE SET cents = excluded.cents",
                (cpt, cents),
            )
        for payer, visits, days in parsed_rules:
            conn.execute(
                "INSERT INTO report_rule (payer_type, every_visits, every_days) VALUES (?, ?, ?) "
                "ON CONFLICT (payer_type) DO UPDATE SET every_visits = excluded.every_visits, "
                "every_days = excluded.every_days",
                (payer, visits, days),
            )
        db.audit(conn, "edit", "profile", 1)
    changed = sorted(values) + [f"fee {c}" for c, _ in parsed_fees]
    changed += [f"report rule {p}" for p, _, _ in parsed_rules]
    return changed


def get_profile(conn: sqlite3.Connection) -> dict:
    row = conn.execute("SELECT * FROM profile WHERE id = 1").fetchone()
    data = {k: (row[k] if row else None) for k in PROFILE_FIELDS}
    data["fees"] = {
        r[0]: r[1] / 100 for r in conn.execute("SELECT cpt, cents FROM fee ORDER BY cpt")
    }
    data["report_rules"] = {p: rule_text(report_rule(conn, p)) for p in PAYER_TYPES}
    return data


def missing_for_documents(profile: dict) -> list[str]:
    """Fields an insurer expects on every document that the profile still lacks."""
    needed = ("name", "credentials", "license_number", "npi")
    return [k for k in needed if not profile.get(k)]
