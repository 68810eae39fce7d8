"""Turning what the therapist typed into clean values, or an InputError that says what is allowed.

Every parser here is pure and cheap to import; the database re-checks the same limits with
CHECK constraints so a bug here still cannot store a pain score of 11.
"""

import re
import unicodedata

from medmassage.errors import InputError, Withheld
from medmassage.rules.catalog import (
    CONDITIONS,
    CPT_CODES,
    PAYER_TYPES,
    TECHNIQUES,
    UNITS_RULES,
    technique_name,
)
from medmassage.rules.catalog import parse_region as catalog_parse_region
from medmassage.rules.textsafety import describe, invisible_at

MAX_MINUTES = 480  # one visit; a typo like 450 for 45 still fits, 4500 does not
NAME_MAX = 200
TEXT_MAX = 20_000

# At most 6 digits: the numbers we take are small, and int() refuses > 4,300-digit strings
# with a ValueError that would not name the field.
_INT = re.compile(r"^[0-9]{1,6}$")
_NPI = re.compile(r"^[0-9]{10}$")
_FREQUENCY = re.compile(r"^([1-9][0-9]?)x/(day|week|month)$")


def is_row_id(text: str) -> bool:
    """ASCII digits that fit SQLite's integer (int() takes '١' as 1 and crashes on '²')."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def parse_row_id(field: str, value: str | int, listing: str) -> int:
    """A record id as typed (`12` or `#12`); `listing` is the command that shows the ids."""
    text = str(value).strip().lstrip("#")
    if not is_row_id(text):
        raise InputError(field, value, f"a {field} id (a number; see: medmassage {listing})")
    return int(text)


def close_matches(word: str, choices: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    import difflib

    found = difflib.get_close_matches(word, choices, n=n, cutoff=0.5)
    if not found:
        found = [c for c in choices if word and (word in c or c.startswith(word[:3]))][:n]
    return found


def _did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    matches = close_matches(word, choices)
    return f"; did you mean {', '.join(matches)}?" if matches else ""


# Characters that must not be stored, found by a compiled regex (a per-character Python loop
# took 4.5 s of a 100,000-row import): lone surrogates (an argument that was not valid UTF-8,
# e.g. a Latin-1 paste), and C0/DEL/C1 control characters (a NUL truncates in SQLite, an escape
# sequence repaints the terminal) — line breaks and tabs allowed in multi-line text. Names and
# other short fields also refuse invisible characters (textsafety: bidi overrides, zero-width
# spaces, soft hyphens…); prose (notes, reasons) keeps them, and every display escapes them.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # multi-line: \t \n \r allowed
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _bad_character(text: str, multiline: bool, prose: bool | None = None) -> str | None:
    """Why `text` cannot be stored, if it holds a character that must not be.

    `prose` (default: `multiline`) is free text such as a SOAP note, which may hold invisible
    format characters; anything else — a name, a phone number, a claim number, an address — is
    refused them (a joiner inside a Persian or Indic word excepted: textsafety.joiner_in_word).
    """
    if _SURROGATE.search(text):
        return "not valid UTF-8 text (check the terminal's encoding)"
    found = (_CONTROL if multiline else _CONTROL_ONE_LINE).search(text)
    if found:
        return f"control characters are not allowed ({_where(text, found.start())})"
    if not (multiline if prose is None else prose):
        at = invisible_at(text)
        if at is not None:
            return (
                f"invisible character {_where(text, at)}: names, numbers and other short fields "
                "take visible letters (any script), digits, spaces and punctuation"
            )
    return None


def _where(text: str, at: int) -> str:
    """`U+202E RIGHT-TO-LEFT OVERRIDE at character 4`: which character, and where."""
    return f"{describe(text[at])} at character {at + 1}"


def clean_text(
    field: str,
    value: str | None,
    *,
    max_len: int = TEXT_MAX,
    multiline: bool = True,
    prose: bool | None = None,
):
    """Free text: checked, NFC-normalised, stripped of surrounding spaces.

    `prose` (default: `multiline`): notes and reasons, which keep invisible format characters
    and whose text an error never repeats (it names the character and where it is instead)."""
    if value is None:
        return None
    prose = multiline if prose is None else prose
    # Check before stripping: str.strip() would silently drop \r, \x0b, \x1c… at the ends.
    problem = _bad_character(value, multiline, prose)
    if problem:
        raise InputError(field, Withheld(len(value)) if prose else _shown(value), problem)
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").strip()
    if "\r" in text:
        at = text.index("\r")
        shown = Withheld(len(value)) if prose else _shown(value)
        raise InputError(field, shown, f"control characters are not allowed ({_where(text, at)})")
    if len(text) > max_len:
        shown = Withheld(len(text)) if prose else _shown(value) + "…"
        raise InputError(field, shown, f"at most {max_len:,} characters (this has {len(text):,})")
    return text or None


def _shown(value: str) -> str:
    """The value as an error message may show it: short, and printable whatever it held (the
    message's repr() writes invisible characters as \\u escapes; surrogates are escaped here)."""
    return value[:40].encode("utf-8", "backslashreplace").decode("utf-8")


def required_text(field: str, value: str | None, *, max_len: int = TEXT_MAX) -> str:
    text = clean_text(field, value, max_len=max_len, multiline=max_len > NAME_MAX)
    if not text:
        raise InputError(field, value, "required: give some text")  # blank: nothing to hide
    return text


def parse_int(field: str, value: str | int, low: int, high: int, what: str) -> int:
    text = str(value).strip()
    if not _INT.match(text) or not low <= int(text) <= high:
        raise InputError(field, value, f"{what} is a whole number from {low} to {high}")
    return int(text)


def parse_pain(field: str, value: str | int) -> int:
    """NPRS: whole numbers 0–10. Rejects '5.0', '+5', '٣', 'five', 11, -1."""
    text = str(value).strip()
    if not (text.isascii() and _INT.match(text)) or int(text) > 10:
        raise InputError(field, value, "pain is a whole number from 0 to 10")
    return int(text)


def parse_score(field: str, value: str, low: float, high: float, what: str) -> float:
    text = str(value).strip()
    # A plain decimal: float() alone would also take "1_0", "1e1", "inf" and "nan".
    number = float(text) if re.match(r"^[0-9]{1,3}(\.[0-9]{1,2})?$", text) else float("nan")
    if not low <= number <= high:
        raise InputError(field, value, f"{what} is a number from {low:g} to {high:g}")
    return round(number, 1)


def parse_minutes(field: str, value: str | int) -> int:
    text = str(value).strip()
    if not (text.isascii() and _INT.match(text)) or not 1 <= int(text) <= MAX_MINUTES:
        raise InputError(field, value, f"minutes are a whole number from 1 to {MAX_MINUTES}")
    return int(text)


def technique_names(custom: dict[str, str] | None = None) -> dict[str, str]:
    names = dict(TECHNIQUES)
    names.update(custom or {})
    return names


def parse_technique(value: str, custom: dict[str, str] | None = None) -> tuple[str, str, int]:
    """`myofascial-release=25` → ('myofascial-release', '97140', 25)."""
    names = technique_names(custom)
    name, sep, minutes = value.partition("=")
    if not sep:
        raise InputError("technique", value, "expected NAME=MINUTES, e.g. myofascial-release=25")
    name = technique_name(name, custom)  # abbreviations too (MFR, TrP…): catalog.py
    return name, names[name], parse_minutes("technique minutes", minutes)


def parse_region(value: str) -> list[str]:
    """One region name or phrase ("R wrist", "low back"); `shoulder-both` and "both
    shoulders" expand to the left and right sides. The parser is catalog.parse_region."""
    return catalog_parse_region(value)


def parse_regions(values: list[str] | None, *, required: bool = True) -> list[str]:
    regions: list[str] = []
    for value in values or []:
        for item in value.split(","):
            if item.strip():
                for region in parse_region(item):
                    if region not in regions:
                        regions.append(region)
    if required and not regions:
        raise InputError("region", None, "give at least one --region, e.g. --region neck")
    return regions


def parse_payer(value: str) -> str:
    name = value.strip().lower()
    if name not in PAYER_TYPES:
        raise InputError("payer", value, "one of " + ", ".join(PAYER_TYPES))
    return name


def parse_units_rule(value: str) -> str:
    name = value.strip().lower()
    if name not in UNITS_RULES:
        raise InputError(
            "units-rule",
            value,
            "cms (8-minute rule on the visit's total) or ama (midpoint rule per code)",
        )
    return name


def parse_npi(field: str, value: str | None) -> str | None:
    """NPI: 10 digits with a valid Luhn check digit (prefix 80840, CMS NPI standard)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not _NPI.match(text) or not _npi_check_digit_ok(text):
        raise InputError(field, value, "an NPI is 10 digits with a valid check digit")
    return text


def _npi_check_digit_ok(npi: str) -> bool:
    digits = [int(d) for d in "80840" + npi[:-1]]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(npi[-1])


def parse_frequency(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip().lower().replace(" ", "")
    if not _FREQUENCY.match(text):
        raise InputError("frequency", value, "like 2x/week, 1x/day or 4x/month")
    return text


def frequency_parts(frequency: str) -> tuple[int, str]:
    """`2x/week` → (2, 'week'); the unit is day, week or month (a parsed frequency)."""
    match = _FREQUENCY.match(frequency)
    if not match:
        raise InputError("frequency", frequency, "like 2x/week, 1x/day or 4x/month")
    return int(match.group(1)), match.group(2)


def frequency_per_week(frequency: str | None) -> int | None:
    """The ordered number of visits in a Mon–Sun week, where the order is weekly."""
    if not frequency:
        return None
    match = _FREQUENCY.match(frequency)
    if match and match.group(2) == "week":
        return int(match.group(1))
    return None


def parse_condition(value: str) -> str:
    name = value.strip().lower().replace(" ", "-")
    if name not in CONDITIONS:
        raise InputError(
            "condition", value, "unknown condition" + _did_you_mean(name, sorted(CONDITIONS))
        )
    return name


def parse_psfs(value: str) -> tuple[str, int]:
    """`"climb stairs=4"` → ('climb stairs', 4)."""
    activity, sep, score = value.rpartition("=")
    activity = clean_text("psfs activity", activity, max_len=NAME_MAX, multiline=False) or ""
    if not sep or not activity:
        raise InputError("psfs", value, 'expected "ACTIVITY=SCORE", e.g. "climb stairs=4"')
    return activity, parse_int("psfs", score, 0, 10, "a PSFS score")


def parse_goal(value: str) -> tuple[str, str | None, str | None]:
    """`"Sit at desk without pain | 60 min | 2027-01-15"` → (text, target, target date text)."""
    parts = [p.strip() for p in value.split("|")]
    if len(parts) > 3 or not parts[0]:
        raise InputError("goal", value, 'expected "GOAL TEXT | TARGET | TARGET DATE"')
    text = required_text("goal", parts[0], max_len=1000)
    target = clean_text("goal target", parts[1], max_len=200) if len(parts) > 1 else None
    by = parts[2] if len(parts) > 2 and parts[2] else None
    return text, target, by


def parse_cpt(value: str) -> str:
    code = value.strip()
    if code not in CPT_CODES:
        raise InputError("cpt", value, "one of " + ", ".join(CPT_CODES))
    return code


def parse_fee(value: str) -> tuple[str, int]:
    """`97140=45.00` → ('97140', 4500) cents."""
    code, sep, amount = value.partition("=")
    if not sep:
        raise InputError("fee", value, "expected CPT=AMOUNT, e.g. 97140=45.00")
    code = parse_cpt(code)
    if not re.match(r"^\d{1,5}(\.\d{1,2})?$", amount.strip()):
        raise InputError("fee", value, "an amount like 45 or 45.00")
    return code, round(float(amount) * 100)


def parse_report_rule(value: str) -> tuple[str, int | None, int | None]:
    """`workers-comp=6/30` → ('workers-comp', 6, 30); `self-pay=off` → never due."""
    payer, sep, rule = value.partition("=")
    if not sep:
        raise InputError("report-every", value, "expected PAYER=VISITS/DAYS, e.g. health=10/30")
    payer = parse_payer(payer)
    rule = rule.strip().lower()
    if rule == "off":
        return payer, None, None
    visits, slash, days = rule.partition("/")
    allowed = "VISITS/DAYS with whole numbers 1–365, '-' for none, or off"
    try:
        v = None if visits == "-" else int(visits)
        d = None if days == "-" else int(days)
    except ValueError:
        raise InputError("report-every", value, allowed) from None
    if not slash or any(x is not None and not 1 <= x <= 365 for x in (v, d)):
        raise InputError("report-every", value, allowed)
    return payer, v, d


def parse_sex(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    word = value.strip().lower()
    aliases = {"f": "female", "m": "male", "o": "other", "u": "unknown"}
    word = aliases.get(word, word)
    if word not in ("female", "male", "other", "unknown"):
        raise InputError("sex", value, "female, male, other or unknown")
    return word


def parse_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    problem = _bad_character(value, multiline=False)
    if problem:
        raise InputError("email", _shown(value), problem)
    text = value.strip()
    if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", text):
        raise InputError("email", value, "an address like name@example.com")
    return text
