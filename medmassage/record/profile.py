"""The therapist's profile (printed on every insurer document), fees and report rules.

The practice's time zone (`time_zone`, an IANA name such as America/Los_Angeles) says where a
session's wall-clock start time happened, so the FHIR export gives it that zone's UTC offset on
that day (daylight saving included) whatever computer exports it, and chart notes print times
there. Its default is this computer's zone *when the profile is first set*: a `profile set`
that finds no time zone stored (a new profile, or one from before schema 9) stores the
computer's, unless it is given `--time-zone`. The computer's zone is read from TZ, else
/etc/localtime, else /etc/timezone; when none of them names an IANA zone (Windows, a TZ such as
"JST-9") nothing is stored and the commands that need a zone use the computer's offsets and say
so (`export fhir` warns).
"""

from __future__ import annotations

import os
import sqlite3

from medmassage.errors import InputError
from medmassage.record.cases import report_rule
from medmassage.rules.catalog import PAYER_TYPES
from medmassage.rules.dates import now_stamp
from medmassage.rules.progress import rule_text
from medmassage.rules.validate import (
    NAME_MAX,
    clean_text,
    parse_email,
    parse_fee,
    parse_npi,
    parse_report_rule,
)
from medmassage.store import db

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
    "time_zone",
)

# Who the therapist is, as insurer documents print it: the profile less the practice's time zone
# (a setting, not part of the signature block).
IDENTITY_FIELDS = tuple(f for f in PROFILE_FIELDS if f != "time_zone")

TIME_ZONE_HELP = "an IANA time zone name, e.g. America/Los_Angeles or Europe/Berlin"
# In the zoneinfo folder, but not names of a place's time: the computer's own zone (a copy
# under another name), the POSIX default rules, and tzdata's "zone unknown" placeholder.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


def _known_zones() -> set[str]:
    from zoneinfo import available_timezones

    return available_timezones() - _NOT_ZONES


def parse_time_zone(value: str) -> str:
    """An IANA zone name as the time zone database spells it (a different case is corrected:
    `america/los_angeles` → America/Los_Angeles). InputError for anything else."""
    text = value.strip()
    known = _known_zones()
    if text in known:
        return text
    folded = [z for z in known if z.lower() == text.lower()]
    if len(folded) == 1:
        return folded[0]
    raise InputError("time-zone", value, f"not a known time zone; give {TIME_ZONE_HELP}")


def computer_zone() -> str | None:
    """This computer's zone as an IANA name, or None when it has no such name."""
    candidates = []
    tz = os.environ.get("TZ")
    if tz is not None:  # set (even empty: POSIX reads that as UTC): it decides
        candidates.append(tz.lstrip(":") or "UTC")
    else:
        try:
            target = os.path.realpath("/etc/localtime")
        except OSError:
            target = ""
        if "/zoneinfo/" in target:
            candidates.append(target.rsplit("/zoneinfo/", 1)[1])
        try:
            with open("/etc/timezone", encoding="utf-8") as f:
                candidates.append(f.readline().strip())
        except (OSError, UnicodeDecodeError):
            pass
    known = None
    for name in candidates:
        if "/zoneinfo/" in name:  # TZ=/usr/share/zoneinfo/Europe/Berlin
            name = name.rsplit("/zoneinfo/", 1)[1]
        known = known if known is not None else _known_zones()
        if name in known:
            return name
    return None


def stored_time_zone(conn: sqlite3.Connection) -> str | None:
    """The profile's time zone, None when the profile has none (or there is no profile)."""
    row = conn.execute("SELECT time_zone FROM profile WHERE id = 1").fetchone()
    return row[0] if row else None


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
    if field == "time_zone":
        return parse_time_zone(value)
    if field == "address":
        return clean_text(field, value, max_len=500, prose=False)  # lines, not prose
    return clean_text(field.replace("_", "-"), value, max_len=NAME_MAX, multiline=False)


def set_profile(
    conn: sqlite3.Connection,
    fields: dict[str, str | None],
    fees: list[str],
    report_rules: list[str],
) -> list[str]:
    """Update the fields given (None = unchanged). Returns what changed, for the message.

    With no time zone stored and none given, the computer's is stored (see the module doc)."""
    values = {k: _clean(k, v) for k, v in fields.items() if v is not None and k in PROFILE_FIELDS}
    parsed_fees = [parse_fee(f) for f in fees]
    parsed_rules = [parse_report_rule(r) for r in report_rules]
    if not values and not parsed_fees and not parsed_rules:
        raise InputError("profile set", "", "give at least one field, e.g. --name or --npi")
    defaulted = None
    with db.transaction(conn):
        exists = conn.execute("SELECT 1 FROM profile WHERE id = 1").fetchone()
        if "time_zone" not in values and stored_time_zone(conn) is None:
            defaulted = computer_zone()
            if defaulted is not None:
                values["time_zone"] = defaulted
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
    changed = [
        f"time_zone {defaulted} (this computer's)" if k == "time_zone" and defaulted else k
        for k in sorted(values)
    ]
    changed += [f"fee {c}" for c, _ in parsed_fees]
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


def identity(profile: dict) -> dict:
    """The therapist block of an insurer document, from get_profile()."""
    return {k: profile[k] for k in IDENTITY_FIELDS}


def missing_for_documents(profile: dict) -> list[str]:
    """Fields an insurer expects on every document that the profile still lacks."""
    needed = ("name", "credentials", "license_number", "npi")
    return [k for k in needed if not profile.get(k)]
