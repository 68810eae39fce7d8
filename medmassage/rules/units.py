"""Timed units for CPT lines: the CMS 8-minute rule and the AMA midpoint rule (SPEC §5).

CMS (`cms`, the default): add up the timed minutes of the visit, read the units off
⌊total/15⌋ + (1 if total mod 15 ≥ 8), then give each code ⌊minutes/15⌋ and hand the units
left over to the codes with the most leftover minutes.
AMA (`ama`, some commercial payers): each code on its own, ⌊m/15⌋ + (1 if m mod 15 ≥ 8).
Untimed codes (97010) are 1 unit each and their minutes never count toward the timed total.
"""

from collections.abc import Iterable
from typing import NamedTuple

from medmassage.rules.catalog import CPT_CODES

UNIT_MINUTES = 15
MIDPOINT = 8  # a unit is earned once more than half of 15 minutes is reached


class CptLine(NamedTuple):
    code: str
    minutes: int
    units: int

    @property
    def label(self) -> str:
        return CPT_CODES[self.code].label

    @property
    def timed(self) -> bool:
        return CPT_CODES[self.code].timed


class Billing(NamedTuple):
    rule: str
    lines: tuple[CptLine, ...]
    timed_minutes: int
    timed_units: int

    @property
    def total_units(self) -> int:
        return sum(line.units for line in self.lines)

    @property
    def under_eight_minutes(self) -> bool:
        """True when the visit's timed minutes add up to less than 8 (no rule bills a unit).

        Under AMA, codes of 7 minutes each can total more than 8 and still earn no unit: that is
        a per-code shortfall, reported line by line, not "under 8 minutes"."""
        return 0 < self.timed_minutes < MIDPOINT


def units_for_minutes(minutes: int) -> int:
    """Units for a stretch of timed minutes: 0–7 → 0, 8–22 → 1, 23–37 → 2, 38–52 → 3, …"""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    return minutes // UNIT_MINUTES + (1 if minutes % UNIT_MINUTES >= MIDPOINT else 0)


def minutes_by_code(techniques: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Sum (cpt, minutes) pairs per code, keeping the order in which codes first appear."""
    totals: dict[str, int] = {}
    for code, minutes in techniques:
        totals[code] = totals.get(code, 0) + minutes
    return list(totals.items())


def bill(code_minutes: Iterable[tuple[str, int]], rule: str = "cms") -> Billing:
    """CPT lines with units for one visit.

    `code_minutes` holds (cpt, minutes) pairs, several techniques may share a code. Lines come
    back in the order codes were first entered, which is also the tie-break when two codes
    have equal claim to a leftover unit.
    """
    if rule not in ("cms", "ama"):
        raise ValueError(f"unknown units rule {rule!r}")
    pairs = minutes_by_code(code_minutes)
    timed = [(code, m) for code, m in pairs if CPT_CODES[code].timed]
    timed_minutes = sum(m for _, m in timed)

    units: dict[str, int] = {}
    if rule == "ama":
        for code, m in timed:
            units[code] = units_for_minutes(m)
    else:
        total_units = units_for_minutes(timed_minutes)
        for code, m in timed:
            units[code] = m // UNIT_MINUTES
        left = total_units - sum(units.values())
        # Most leftover minutes first; then most minutes overall; then entry order.
        order = sorted(
            range(len(timed)),
            key=lambda i: (-(timed[i][1] % UNIT_MINUTES), -timed[i][1], i),
        )
        for i in order[:left]:
            units[timed[i][0]] += 1

    lines = tuple(
        CptLine(code, m, units[code] if CPT_CODES[code].timed else 1) for code, m in pairs
    )
    return Billing(
        rule=rule,
        lines=lines,
        timed_minutes=timed_minutes,
        timed_units=sum(units.values()),
    )
