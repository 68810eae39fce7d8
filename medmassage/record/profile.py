"""The therapist's profile (printed on every insurer document), fees, report and claim rules.

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
import re
import sqlite3
from typing import NamedTuple

from medmassage.errors import InputError
from medmassage.record.cases import claim_id, report_rule
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

# What claims need of the practice (M012): CMS-1500 boxes 24B, 25, 27 and 33b, the 837P's
# clearinghouse envelope. Not part of the identity block documents print.
CLAIM_FIELDS = (
    "tax_id_kind",
    "taxonomy",
    "place_of_service",
    "accept_assignment",
    "submitter_id",
    "receiver_id",
    "receiver_name",
    "x12_version",
)
# What an unset claim field means (NULL in the profile).
DEFAULT_TAXONOMY = "225700000X"  # Massage Therapist (NUCC)
DEFAULT_PLACE_OF_SERVICE = "11"  # office
# The 837P guides a clearinghouse may ask for (GS08/ST03): HIPAA adopted X222A1; the A2 errata
# changes no segment a massage claim uses. Unset: A2.
X12_VERSIONS = ("005010X222A1", "005010X222A2")
DEFAULT_X12_VERSION = "005010X222A2"
PLACES_OF_SERVICE = {"11": "office", "12": "home"}  # the two a solo therapist uses most
_TAXONOMY = re.compile(r"^[0-9A-Z]{9}X$")
_PLACE = re.compile(r"^(0[1-9]|[1-9][0-9])$")
_YES = {"yes": 1, "y": 1, "no": 0, "n": 0}


class ClaimRule(NamedTuple):
    """What a payer type asks on a claim: modifier 59 or XS when 97124 and 97140 fall on one
    date on distinct regions (None: no such modifier), and GP on every line."""

    distinct_modifier: str | None = None
    gp: bool = False


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
    if field in CLAIM_FIELDS:
        return _clean_claim_field(field, value)
    return clean_text(field.replace("_", "-"), value, max_len=NAME_MAX, multiline=False)


def _clean_claim_field(field: str, value: str) -> str | int | None:
    """A claim field as typed ("" clears it: the default applies again)."""
    option = field.replace("_", "-")
    text = value.strip()
    if field == "receiver_name":
        return clean_text(option, value, max_len=60, multiline=False)
    if field in ("submitter_id", "receiver_id"):
        return claim_id(option, value, 2, 15)
    if not text:
        return None
    if field == "tax_id_kind":
        if text.lower() not in ("ein", "ssn"):
            raise InputError(option, value, "ein or ssn (the kind of --tax-id, box 25)")
        return text.lower()
    if field == "taxonomy":
        if not _TAXONOMY.match(text.upper()):
            raise InputError(
                option,
                value,
                f"a NUCC taxonomy code: 10 digits or capitals ending in X, e.g. {DEFAULT_TAXONOMY}",
            )
        return text.upper()
    if field == "x12_version":
        found = {v[-2:]: v for v in X12_VERSIONS}.get(text.upper()[-2:])
        if found is None or text.upper() not in (found, found[-2:], found[-6:]):
            raise InputError(
                option, value, "005010X222A1 or 005010X222A2 (A1, A2), as your clearinghouse asks"
            )
        return found
    if field == "place_of_service":
        if not _PLACE.match(text):
            raise InputError(option, value, "a two-digit place of service: 11 office, 12 home…")
        return text
    if field == "accept_assignment":
        if text.lower() not in _YES:
            raise InputError(option, value, "yes or no")
        return _YES[text.lower()]
    raise AssertionError(field)


def _claim_payer(option: str, value: str, payer: str) -> str:
    """The PAYER of `PAYER=…`; the error names the option (a payer type is not an option)."""
    name = payer.strip().lower()
    if name not in PAYER_TYPES:
        raise InputError(option, value, "PAYER is one of " + ", ".join(PAYER_TYPES))
    return name


def parse_claim_modifier(value: str) -> tuple[str, str | None]:
    """`health=59` → ('health', '59'); `auto-pip=none` → no distinct-procedure modifier."""
    payer, sep, modifier = value.partition("=")
    if not sep:
        raise InputError("claim-modifier", value, "expected PAYER=59, PAYER=XS or PAYER=none")
    payer = _claim_payer("claim-modifier", value, payer)
    word = modifier.strip().upper()
    if word not in ("59", "XS", "NONE"):
        raise InputError("claim-modifier", value, "PAYER=59, PAYER=XS or PAYER=none")
    return payer, None if word == "NONE" else word


def parse_claim_gp(value: str) -> tuple[str, int]:
    """`workers-comp=yes` → ('workers-comp', 1): GP on every line of that payer's claims."""
    payer, sep, answer = value.partition("=")
    if not sep:
        raise InputError("claim-gp", value, "expected PAYER=yes or PAYER=no")
    payer = _claim_payer("claim-gp", value, payer)
    word = answer.strip().lower()
    if word not in _YES:
        raise InputError("claim-gp", value, "PAYER=yes or PAYER=no")
    return payer, _YES[word]


def set_profile(
    conn: sqlite3.Connection,
    fields: dict[str, str | None],
    fees: list[str],
    report_rules: list[str],
    claim_modifiers: list[str] | None = None,
    claim_gp: list[str] | None = None,
) -> list[str]:
    """Update the fields given (None = unchanged). Returns what changed, for the message.

    With no time zone stored and none given, the computer's is stored (see the module doc)."""
    known = PROFILE_FIELDS + CLAIM_FIELDS
    values = {k: _clean(k, v) for k, v in fields.items() if v is not None and k in known}
    parsed_fees = [parse_fee(f) for f in fees]
    parsed_rules = [parse_report_rule(r) for r in report_rules]
    parsed_modifiers = [parse_claim_modifier(m) for m in claim_modifiers or []]
    parsed_gp = [parse_claim_gp(g) for g in claim_gp or []]
    if not (values or parsed_fees or parsed_rules or parsed_modifiers or parsed_gp):
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
        for payer, modifier in parsed_modifiers:
            conn.execute(
                "INSERT INTO claim_rule (payer_type, distinct_modifier) VALUES (?, ?) "
                "ON CONFLICT (payer_type) DO UPDATE "
                "SET distinct_modifier = excluded.distinct_modifier",
                (payer, modifier),
            )
        for payer, gp in parsed_gp:
            conn.execute(
                "INSERT INTO claim_rule (payer_type, gp) VALUES (?, ?) "
                "ON CONFLICT (payer_type) DO UPDATE SET gp = excluded.gp",
                (payer, gp),
            )
        db.audit(conn, "edit", "profile", 1)
    changed = [
        f"time_zone {defaulted} (this computer's)" if k == "time_zone" and defaulted else k
        for k in sorted(values)
    ]
    changed += [f"fee {c}" for c, _ in parsed_fees]
    changed += [f"report rule {p}" for p, _, _ in parsed_rules]
    changed += [f"claim modifier {p}" for p, _ in parsed_modifiers]
    changed += [f"claim GP {p}" for p, _ in parsed_gp]
    return changed


def claim_rules(conn: sqlite3.Connection) -> dict[str, ClaimRule]:
    """Every payer type's claim rule (ClaimRule() where none is set)."""
    found = {
        r[0]: ClaimRule(r[1], bool(r[2]))
        for r in conn.execute("SELECT payer_type, distinct_modifier, gp FROM claim_rule")
    }
    return {p: found.get(p, ClaimRule()) for p in PAYER_TYPES}


def get_profile(conn: sqlite3.Connection) -> dict:
    """The profile's fields as stored (None = not set; the claim fields' defaults are
    DEFAULT_TAXONOMY, DEFAULT_PLACE_OF_SERVICE and accept assignment yes), with fees, report
    rules and claim rules. `accept_assignment` is True, False or None."""
    row = conn.execute("SELECT * FROM profile WHERE id = 1").fetchone()
    data = {k: (row[k] if row else None) for k in PROFILE_FIELDS + CLAIM_FIELDS}
    if data["accept_assignment"] is not None:
        data["accept_assignment"] = bool(data["accept_assignment"])
    data["fees"] = {
        r[0]: r[1] / 100 for r in conn.execute("SELECT cpt, cents FROM fee ORDER BY cpt")
    }
    data["report_rules"] = {p: rule_text(report_rule(conn, p)) for p in PAYER_TYPES}
    data["claim_rules"] = {p: rule._asdict() for p, rule in claim_rules(conn).items()}
    return data


def identity(profile: dict) -> dict:
    """The therapist block of an insurer document, from get_profile()."""
    return {k: profile[k] for k in IDENTITY_FIELDS}


def missing_for_documents(profile: dict) -> list[str]:
    """Fields an insurer expects on every document that the profile still lacks."""
    needed = ("name", "credentials", "license_number", "npi")
    return [k for k in needed if not profile.get(k)]
