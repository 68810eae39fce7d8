"""CPT modifiers on a bill's lines (SPEC §11; notes-domain §2, notes-claims): one rule for the
claim (box 24D) and the superbill, so the two never disagree.

- **59 or XS**: NCCI bundles 97124 (massage) and 97140 (manual therapy) on one date; billing both
  needs the distinct-procedural-service modifier on 97140 and a distinct region. Added only when
  the payer type's claim rule asks for it (`profile set --claim-modifier PAYER=59|XS`) and the
  visit treated more than one region; with one region it is not added, and the caller says so.
- **GP** (services under a physical therapy plan of care): on every line, only where the payer
  type's rule asks for it (`--claim-gp PAYER=yes`).
"""

from __future__ import annotations

from collections.abc import Collection

DISTINCT_PAIR = ("97124", "97140")
ON_LINE = "97140"  # the code the distinct-service modifier goes on


def pair_billed(codes: Collection[str]) -> bool:
    """Both codes of the pair payers bundle are billed on the visit."""
    return all(code in codes for code in DISTINCT_PAIR)


def line_modifiers(
    code: str, codes: Collection[str], regions: int, distinct: str | None, gp: bool
) -> list[str]:
    """The modifiers of one line: `code` billed on a visit that bills `codes` on `regions`
    regions, under a payer rule asking for `distinct` (59, XS or None) and `gp`."""
    found = []
    if distinct and code == ON_LINE and pair_billed(codes) and regions >= 2:
        found.append(distinct)
    if gp:
        found.append("GP")
    return found


def bundled_warning(session_id: int, codes: Collection[str], regions: int, distinct: str | None):
    """The sentence for a visit whose pair is billed on one region (no modifier), or None."""
    if distinct and pair_billed(codes) and regions < 2:
        return (
            f"session {session_id} bills 97124 and 97140 on one region: payers bundle them, "
            f"so modifier {distinct} is not added"
        )
    return None
