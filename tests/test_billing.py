"""Timed CPT units (SPEC §5, notes-domain §2.2): the 8-minute rule table, CMS allocation of
units across codes, the AMA midpoint rule, the untimed hot/cold pack, and the same rules seen
through `session log`.

Codes used below: 97124 massage, 97140 manual therapy, 97112 neuromuscular re-education,
97110 therapeutic exercise (all timed, 15-minute units); 97010 hot/cold pack (untimed, 1 unit).
"""

from __future__ import annotations

import json

import pytest

from medmassage.rules.units import Billing, bill, units_for_minutes
from tests.conftest import query


def units(billing: Billing) -> dict[str, int]:
    """{code: units} of a bill, so expectations read like a claim form."""
    return {line.code: line.units for line in billing.lines}


# --- the 8-minute rule table ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        pytest.param(0, 0, id="0min-0u"),
        pytest.param(7, 0, id="7min-0u-just-under-8"),
        pytest.param(8, 1, id="8min-1u-first-unit"),
        pytest.param(22, 1, id="22min-1u-top-of-1"),
        pytest.param(23, 2, id="23min-2u"),
        pytest.param(37, 2, id="37min-2u-top-of-2"),
        pytest.param(38, 3, id="38min-3u"),
        pytest.param(52, 3, id="52min-3u-top-of-3"),
        pytest.param(53, 4, id="53min-4u"),
        pytest.param(67, 4, id="67min-4u-top-of-4"),
        pytest.param(68, 5, id="68min-5u"),
    ],
)
def test_units_for_minutes_follows_the_cms_table(minutes: int, expected: int) -> None:
    assert units_for_minutes(minutes) == expected


def test_units_for_negative_minutes_is_an_error() -> None:
    with pytest.raises(ValueError):
        units_for_minutes(-1)


def test_unknown_units_rule_is_an_error() -> None:
    with pytest.raises(ValueError):
        bill([("97124", 30)], "medicaid")


# --- CMS: one timed code -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        pytest.param(7, 0, id="7min-0u"),
        pytest.param(8, 1, id="8min-1u"),
        pytest.param(22, 1, id="22min-1u"),
        pytest.param(23, 2, id="23min-2u"),
        pytest.param(37, 2, id="37min-2u"),
        pytest.param(38, 3, id="38min-3u"),
        pytest.param(52, 3, id="52min-3u"),
        pytest.param(53, 4, id="53min-4u"),
    ],
)
def test_cms_single_code_boundaries(minutes: int, expected: int) -> None:
    billing = bill([("97140", minutes)], "cms")
    assert units(billing) == {"97140": expected}
    assert billing.timed_minutes == minutes
    assert billing.timed_units == expected


def test_cms_is_the_default_rule() -> None:
    assert bill([("97110", 33), ("97140", 7)]).rule == "cms"


# --- CMS: several timed codes in one visit -------------------------------------------------------

CMS_MIXES = [
    # The worked example (notes-domain §2.2): 40 min → 3 units; 97110 gets its 2 full units and
    # the third goes to 97140 because its 7 leftover minutes beat 97110's 3.
    pytest.param([("97110", 33), ("97140", 7)], {"97110": 2, "97140": 1}, id="worked-33+7=2+1"),
    # 30 min over three codes = 2 units (not 3 as under AMA); every code has 10 leftover
    # minutes and 10 in total, so entry order decides: the first two entered get them.
    pytest.param(
        [("97124", 10), ("97140", 10), ("97112", 10)],
        {"97124": 1, "97140": 1, "97112": 0},
        id="10+10+10=2u-entry-order",
    ),
    # 45 min = 3 units: 1 full unit each, the extra to the 10 leftover minutes over the 5.
    pytest.param([("97140", 25), ("97124", 20)], {"97140": 2, "97124": 1}, id="25+20=2+1"),
    pytest.param([("97124", 20), ("97140", 25)], {"97124": 1, "97140": 2}, id="20+25=1+2"),
    # Leftover minutes, not total minutes, win the extra unit: 14 leftover beats 1.
    pytest.param([("97124", 16), ("97140", 14)], {"97124": 1, "97140": 1}, id="16+14-leftover"),
    pytest.param([("97124", 38), ("97140", 12)], {"97124": 2, "97140": 1}, id="38+12-leftover"),
    # Tie on leftover minutes (7 and 7): the code with more minutes overall gets the unit,
    # whichever was entered first.
    pytest.param([("97110", 22), ("97140", 7)], {"97110": 2, "97140": 0}, id="tie-7-more-total"),
    pytest.param(
        [("97140", 7), ("97110", 22)], {"97140": 0, "97110": 2}, id="tie-7-more-total-rev"
    ),
    # Tie on leftover and on total: entry order.
    pytest.param([("97124", 10), ("97140", 10)], {"97124": 1, "97140": 0}, id="full-tie-first"),
    pytest.param([("97140", 10), ("97124", 10)], {"97140": 1, "97124": 0}, id="full-tie-first-rev"),
    pytest.param([("97124", 23), ("97140", 23)], {"97124": 2, "97140": 1}, id="23+23-tie-first"),
    # Each code ≤ 7 min but ≥ 8 together: 1 unit, to the code with the most minutes.
    pytest.param([("97124", 5), ("97140", 7)], {"97124": 0, "97140": 1}, id="5+7-to-the-7"),
    pytest.param([("97140", 7), ("97124", 5)], {"97140": 1, "97124": 0}, id="7+5-to-the-7"),
    pytest.param(
        [("97124", 3), ("97140", 6), ("97112", 2)],
        {"97124": 0, "97140": 1, "97112": 0},
        id="3+6+2-to-the-6",
    ),
    pytest.param([("97124", 4), ("97140", 4)], {"97124": 1, "97140": 0}, id="4+4-tie-first"),
    # A code done ≥ 15 minutes always keeps its full unit.
    pytest.param([("97124", 15), ("97140", 7)], {"97124": 1, "97140": 0}, id="15+7=22-1u"),
    pytest.param(
        [("97124", 8), ("97140", 8), ("97112", 8), ("97110", 8)],
        {"97124": 1, "97140": 1, "97112": 0, "97110": 0},
        id="4x8=32-2u",
    ),
]


@pytest.mark.parametrize(("pairs", "expected"), CMS_MIXES)
def test_cms_allocates_units_across_codes(pairs, expected) -> None:
    billing = bill(pairs, "cms")
    assert units(billing) == expected
    # The allocation never changes the visit's total, which comes off the table.
    total = sum(m for _, m in pairs)
    assert billing.timed_minutes == total
    assert billing.timed_units == units_for_minutes(total)
    # Lines come back in entry order.
    assert [line.code for line in billing.lines] == [code for code, _ in pairs]


@pytest.mark.parametrize(
    "pairs",
    [
        pytest.param([("97124", 7)], id="7"),
        pytest.param([("97124", 3), ("97140", 4)], id="3+4"),
        pytest.param([("97124", 1), ("97140", 1), ("97112", 1), ("97110", 4)], id="1+1+1+4"),
    ],
)
def test_cms_under_eight_timed_minutes_bills_no_timed_unit(pairs) -> None:
    billing = bill(pairs, "cms")
    assert billing.timed_units == 0
    assert all(u == 0 for u in units(billing).values())
    assert billing.under_eight_minutes is True


def test_cms_eight_timed_minutes_is_not_under_eight() -> None:
    billing = bill([("97124", 4), ("97140", 4)], "cms")
    assert billing.timed_units == 1
    assert billing.under_eight_minutes is False


# --- AMA midpoint rule: each code on its own -----------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        pytest.param(7, 0, id="7min-0u"),
        pytest.param(8, 1, id="8min-1u"),
        pytest.param(22, 1, id="22min-1u"),
        pytest.param(23, 2, id="23min-2u"),
    ],
)
def test_ama_single_code(minutes: int, expected: int) -> None:
    assert units(bill([("97124", minutes)], "ama")) == {"97124": expected}


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        # The notes-domain example: 3 units under AMA where CMS gives 2.
        pytest.param(
            [("97124", 10), ("97140", 10), ("97112", 10)],
            {"97124": 1, "97140": 1, "97112": 1},
            id="10+10+10=3u",
        ),
        # Per code: 7 → 0, 8 → 1, 22 → 1, 23 → 2, whatever the other codes did.
        pytest.param(
            [("97124", 7), ("97140", 8), ("97112", 22), ("97110", 23)],
            {"97124": 0, "97140": 1, "97112": 1, "97110": 2},
            id="7-8-22-23",
        ),
        # The CMS worked example bills 2+1; AMA drops the 7-minute code.
        pytest.param([("97110", 33), ("97140", 7)], {"97110": 2, "97140": 0}, id="33+7=2+0"),
        # Two 7-minute codes: 14 minutes of work, no unit under AMA (CMS would bill 1).
        pytest.param([("97124", 7), ("97140", 7)], {"97124": 0, "97140": 0}, id="7+7=0+0"),
    ],
)
def test_ama_judges_each_code_alone(pairs, expected) -> None:
    billing = bill(pairs, "ama")
    assert units(billing) == expected
    assert billing.timed_units == sum(expected.values())


# --- 97010 hot/cold pack: untimed ----------------------------------------------------------------


@pytest.mark.parametrize("rule", ["cms", "ama"])
def test_hot_cold_pack_minutes_never_count_toward_timed_minutes(rule: str) -> None:
    # 30 pack minutes + 7 massage minutes: if the pack counted, 97124 would get units.
    billing = bill([("97010", 30), ("97124", 7)], rule)
    assert units(billing) == {"97010": 1, "97124": 0}
    assert billing.timed_minutes == 7
    assert billing.timed_units == 0
    assert billing.total_units == 1
    assert billing.under_eight_minutes is True


@pytest.mark.parametrize("rule", ["cms", "ama"])
def test_hot_cold_pack_does_not_push_a_timed_code_over_a_boundary(rule: str) -> None:
    # 8 + 15 = 23 would be 2 units; the 8 timed minutes alone are 1.
    billing = bill([("97124", 8), ("97010", 15)], rule)
    assert units(billing) == {"97124": 1, "97010": 1}
    assert billing.total_units == 2


@pytest.mark.parametrize(
    "minutes",
    [pytest.param(1, id="1min"), pytest.param(7, id="7min"), pytest.param(60, id="60min")],
)
def test_hot_cold_pack_alone_is_always_one_unit(minutes: int) -> None:
    billing = bill([("97010", minutes)], "cms")
    assert units(billing) == {"97010": 1}
    assert billing.timed_minutes == 0
    # No timed work was done, so there is nothing "under 8 minutes" to warn about.
    assert billing.under_eight_minutes is False


# --- techniques sharing a CPT code ---------------------------------------------------------------


def test_pairs_with_the_same_code_are_summed_into_one_line() -> None:
    # trigger-point 10 + myofascial-release 13 are both 97140: one 23-minute line, 2 units
    # (billed apart they would be 1 + 1 under AMA, and the line count would be wrong).
    for rule in ("cms", "ama"):
        billing = bill([("97140", 10), ("97124", 20), ("97140", 13)], rule)
        assert [(ln.code, ln.minutes) for ln in billing.lines] == [("97140", 23), ("97124", 20)]
        assert units(billing)["97140"] == 2


# --- through the CLI -----------------------------------------------------------------------------


def cpt_lines(result) -> list[tuple[str, int, int]]:
    data = json.loads(result.stdout)
    return [(c["code"], c["minutes"], c["units"]) for c in data["cpt"]]


def stored_cpt(db_path) -> list[tuple[str, int, int]]:
    rows = query(
        db_path, "SELECT cpt, minutes, units FROM session_cpt ORDER BY session_id, position"
    )
    return [(r["cpt"], r["minutes"], r["units"]) for r in rows]


def test_cli_worked_example_bills_two_plus_one(practice, db_path) -> None:
    result = practice(
        "session", "log", "Jane", "--pre", "5", "--post", "3",
        "--technique", "myofascial-release=33", "--technique", "swedish=7",
        "--region", "neck", "-f", "json",
    )  # fmt: skip
    assert cpt_lines(result) == [("97140", 33, 2), ("97124", 7, 1)]
    data = json.loads(result.stdout)
    assert data["units_rule"] == "cms"
    assert data["timed_minutes"] == 40
    assert data["total_units"] == 3
    # What was printed is what was stored.
    assert stored_cpt(db_path) == [("97140", 33, 2), ("97124", 7, 1)]


def test_cli_techniques_on_one_code_make_one_line(practice, db_path) -> None:
    result = practice(
        "session", "log", "Jane", "--pre", "5", "--post", "3",
        "--technique", "trigger-point=10", "--technique", "myofascial-release=13",
        "--region", "neck", "-f", "json",
    )  # fmt: skip
    assert cpt_lines(result) == [("97140", 23, 2)]
    assert stored_cpt(db_path) == [("97140", 23, 2)]


def test_cli_hot_cold_pack_is_one_unit_and_its_minutes_do_not_count(practice, db_path) -> None:
    result = practice(
        "session", "log", "Jane", "--pre", "5", "--post", "3",
        "--technique", "hot-cold-pack=30", "--technique", "swedish=7",
        "--region", "neck", "-f", "json",
    )  # fmt: skip
    assert cpt_lines(result) == [("97010", 30, 1), ("97124", 7, 0)]
    assert json.loads(result.stdout)["timed_minutes"] == 7
    assert "under 8 timed minutes (7 min)" in result.stderr


def test_cli_under_eight_timed_minutes_warns_and_stores_zero_units(practice, db_path) -> None:
    result = practice(
        "session", "log", "Jane", "--pre", "5", "--post", "3",
        "--technique", "swedish=3", "--technique", "myofascial-release=4", "--region", "neck",
    )  # fmt: skip
    assert "under 8 timed minutes (7 min)" in result.stderr
    assert "no timed units" in result.stderr
    assert "under 8" not in result.stdout  # warnings go to stderr, data to stdout
    assert stored_cpt(db_path) == [("97124", 3, 0), ("97140", 4, 0)]


def open_ama_case(cli) -> None:
    cli("client", "add", "Amy Ama")
    cli(
        "case", "open", "Amy", "--payer", "health", "--dx", "M54.2",
        "--referrer", "Alan Brooks, DC", "--referrer-npi", "1987654328",
        "--rx-date", "2026-11-01", "--rx-until", "2026-12-31", "--visits", "12",
        "--units-rule", "ama",
    )  # fmt: skip


def test_cli_ama_case_bills_each_code_on_its_own(cli, db_path) -> None:
    open_ama_case(cli)
    # The CMS worked example again: AMA bills the 7-minute 97124 nothing.
    result = cli(
        "session", "log", "Amy", "--pre", "5", "--post", "3",
        "--technique", "myofascial-release=33", "--technique", "swedish=7",
        "--region", "neck", "-f", "json",
    )  # fmt: skip
    assert json.loads(result.stdout)["units_rule"] == "ama"
    assert cpt_lines(result) == [("97140", 33, 2), ("97124", 7, 0)]
    assert "97124: 7 min is under the 8-minute midpoint" in result.stderr
    # 10 + 10 + 10: three units under AMA (CMS would give two).
    result = cli(
        "session", "log", "Amy", "--pre", "5", "--post", "3",
        "--technique", "swedish=10", "--technique", "trigger-point=10",
        "--technique", "neuromuscular-reeducation=10", "--region", "neck", "-f", "json",
    )  # fmt: skip
    assert cpt_lines(result) == [("97124", 10, 1), ("97140", 10, 1), ("97112", 10, 1)]
    units_stored = query(db_path, "SELECT sum(units) AS n FROM session_cpt WHERE session_id = 2")
    assert units_stored[0]["n"] == 3


def test_cli_ama_codes_each_under_midpoint_are_not_called_under_eight_in_total(cli) -> None:
    # 7 + 7 = 14 timed minutes: 0 units under AMA because *each code* is under the midpoint.
    # The session must say that; "under 8 timed minutes (14 min)" contradicts itself.
    open_ama_case(cli)
    result = cli(
        "session", "log", "Amy", "--pre", "5", "--post", "3",
        "--technique", "swedish=7", "--technique", "myofascial-release=7",
        "--region", "neck", "-f", "json",
    )  # fmt: skip
    assert cpt_lines(result) == [("97124", 7, 0), ("97140", 7, 0)]
    assert "under 8 timed minutes (14 min)" not in result.stderr
    assert "97124: 7 min is under the 8-minute midpoint" in result.stderr
    assert "97140: 7 min is under the 8-minute midpoint" in result.stderr
