"""One US postal address as therapists type it, split into the parts a claim prints.

CMS-1500 boxes 5, 7, 32 and 33 and the 837P's N3/N4 segments take an address as street, city,
state and ZIP, while medmassage stores the text as typed. `split_address` reads it back:

    "412 Cedar St, Suite 3, Bellingham, WA 98225"
        -> Address("412 Cedar St, Suite 3", "Bellingham", "WA", "98225")
    "412 Cedar St, Olympia WA 98501"  -> Address("412 Cedar St", "Olympia", "WA", "98501")
    "PO Box 44291, Olympia, WA 98504-4291"
        -> Address("PO Box 44291", "Olympia", "WA", "985044291")
    "18 Harbor View Rd, Bellingham, wa 98226"
        -> Address("18 Harbor View Rd", "Bellingham", "WA", "98226")

Line breaks count as commas; the state is upper-cased and must be a USPS state, district,
territory or military code; the ZIP is 5 or 9 digits (ZIP+4 typed "98504-4291" or "985044291")
and is returned as digits only, the way the 837P's N403 carries it. Anything else — no ZIP, an
unknown state such as "XX", a single part with no street — is None. Pure (no other layer of
medmassage imported).
"""

from __future__ import annotations

import re
from typing import NamedTuple

ADDRESS_RULE = "street, city, ST ZIP (e.g. 412 Cedar St, Olympia, WA 98501)"

# USPS two-letter codes: the 50 states, DC, the territories and freely associated states the
# Postal Service delivers to, and the military "states" (AA, AE, AP).
_STATES = """
    AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ
    NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY
    DC AS GU MP PR VI UM FM MH PW AA AE AP
"""
US_STATES = frozenset(_STATES.split())

_ZIP = re.compile(r"^([0-9]{5})(?:-?([0-9]{4}))?$")
_COUNTRY = frozenset({"US", "USA", "U.S.", "U.S.A.", "UNITED STATES", "UNITED STATES OF AMERICA"})


class Address(NamedTuple):
    street: str  # inner commas kept: "412 Cedar St, Suite 3"
    city: str
    state: str  # USPS code, upper case
    zip: str  # digits only: 5, or 9 for ZIP+4


def is_state(code: str | None) -> bool:
    """A USPS state/territory code, in capitals (what `split_address` accepts, upper-cased)."""
    return code is not None and code in US_STATES


def split_address(text: str | None) -> Address | None:
    """Street, city, state and ZIP of one US address, or None when it cannot be split."""
    if not text:
        return None
    parts = [" ".join(p.split()) for p in re.split(r"[,\n]", text)]
    parts = [p for p in parts if p]
    if parts and parts[-1].upper() in _COUNTRY:
        parts.pop()
    if len(parts) < 2:
        return None
    # The ZIP is the last word; the state the word before it (in the same part or the one
    # before: "WA 98501" or "WA, 98501"); the city is what precedes the state in its part,
    # else the part before it.
    words = parts.pop().split(" ")
    match = _ZIP.match(words.pop())
    if not match:
        return None
    zip_code = match.group(1) + (match.group(2) or "")
    if not words:
        if len(parts) < 2:
            return None
        words = parts.pop().split(" ")
    state = words.pop().upper()
    if state not in US_STATES:
        return None
    if words:
        city = " ".join(words)
    elif len(parts) >= 2:
        city = parts.pop()
    else:
        return None
    street = ", ".join(parts)
    if not street or not any(c.isalpha() for c in city):
        return None
    return Address(street, city, state, zip_code)
