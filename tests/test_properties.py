"""Property tests (Hypothesis): invariants that must hold for every input, not just the examples
in test_billing.py, test_rules.py and test_dates.py.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from medmassage.errors import InputError
from medmassage.rules.catalog import MCID
from medmassage.rules.dates import parse_date
from medmassage.rules.progress import change
from medmassage.rules.units import bill, units_for_minutes
from medmassage.rules.validate import parse_pain

# Moderate example counts keep the whole file to a few seconds. Function-scoped fixtures
# (conftest's autouse environment) do not change between examples, so that check is off.
SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

TODAY = date(2026, 11, 27)  # MEDMASSAGE_TODAY in conftest
TIMED_CODES = ("97124", "97140", "97112", "97110")

# --- pain scores ---------------------------------------------------------------------------------

# A pain score is a decimal numeral 0–10 in ASCII digits. Leading zeros ("07") still denote a
# whole number 0–10 and are accepted (see the report); signs, decimals, other scripts' digits
# and words are not.
PAIN_NUMERAL = re.compile(r"0*(?:[0-9]|10)")

pain_like_text = st.one_of(
    st.text(),
    st.text(alphabet="0123456789+-. \t\n٣१", max_size=6),
    st.integers(-20, 30).map(str),
    st.builds(
        "{}{}{}".format,
        st.sampled_from(["", " ", "\t", "\n", "\u00a0", "\u2003"]),
        st.integers(0, 10).map(str),
        st.sampled_from(["", " ", "\t", "\n", "\u00a0", "\u2003"]),
    ),
)


@SETTINGS
@given(pain_like_text)
@example("5.0")
@example("+5")
@example("-0")
@example("٣")
@example("10\n")
@example("11")
@example("5 5")
def test_parse_pain_returns_0_to_10_or_raises_input_error(text: str) -> None:
    try:
        value = parse_pain("pre", text)
    except InputError as err:
        assert err.field == "pre"
        assert PAIN_NUMERAL.fullmatch(text.strip()) is None, f"{text!r} should be accepted"
        return
    assert type(value) is int
    assert 0 <= value <= 10
    assert PAIN_NUMERAL.fullmatch(text.strip()) is not None, f"{text!r} should be refused"
    assert value == int(text.strip())


@pytest.mark.parametrize("n", range(11))
@pytest.mark.parametrize("pad", ["", " ", "\t", "  \n"], ids=["bare", "space", "tab", "newline"])
def test_parse_pain_accepts_every_score_0_to_10(n: int, pad: str) -> None:
    assert parse_pain("pre", f"{pad}{n}{pad}") == n


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("0" * 5000, id="5000-zeros"),
        pytest.param("9" * 5000, id="5000-nines"),
    ],
)
def test_parse_pain_very_long_digit_string_is_an_input_error(text: str) -> None:
    # Python refuses int() on more than 4300 digits with a plain ValueError; bad input must
    # still be an InputError (exit 2, a message naming the field), never an unexpected crash.
    with pytest.raises(InputError):
        parse_pain("pre", text)


# --- billing -------------------------------------------------------------------------------------

visit_pairs = st.lists(
    st.tuples(st.sampled_from(TIMED_CODES), st.integers(1, 120)), min_size=1, max_size=8
)


def minutes_per_code(pairs: list[tuple[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for code, minutes in pairs:
        totals[code] += minutes
    return dict(totals)


@SETTINGS
@given(visit_pairs)
def test_cms_units_add_up_to_the_table_and_respect_full_units(pairs) -> None:
    billing = bill(pairs, "cms")
    per_code = minutes_per_code(pairs)
    total_minutes = sum(per_code.values())
    line_units = {line.code: line.units for line in billing.lines}

    # One line per code, with that code's summed minutes.
    assert {line.code: line.minutes for line in billing.lines} == per_code
    # The visit's units come off the 8-minute table, however they are shared out.
    assert billing.timed_minutes == total_minutes
    assert billing.timed_units == units_for_minutes(total_minutes)
    assert sum(line_units.values()) == units_for_minutes(total_minutes)
    for code, minutes in per_code.items():
        # Every full 15 minutes is a unit of that code…
        assert line_units[code] >= minutes // 15
        # …and a code gets at most one unit for its leftover minutes (none if it has none).
        assert line_units[code] <= -(-minutes // 15)


@SETTINGS
@given(visit_pairs)
def test_ama_units_are_per_code(pairs) -> None:
    billing = bill(pairs, "ama")
    per_code = minutes_per_code(pairs)
    assert {line.code: line.units for line in billing.lines} == {
        code: units_for_minutes(minutes) for code, minutes in per_code.items()
    }


@SETTINGS
@given(visit_pairs, st.integers(1, 120), st.sampled_from(["cms", "ama"]))
def test_hot_cold_pack_never_changes_the_timed_units(pairs, pack_minutes, rule) -> None:
    without = bill(pairs, rule)
    with_pack = bill([*pairs, ("97010", pack_minutes)], rule)
    assert with_pack.timed_minutes == without.timed_minutes
    assert with_pack.timed_units == without.timed_units
    assert with_pack.total_units == without.total_units + 1


@SETTINGS
@given(st.integers(0, 10_000))
def test_units_for_minutes_is_monotonic_and_matches_the_table(minutes: int) -> None:
    units = units_for_minutes(minutes)
    # n units cover 15n − 7 … 15n + 7 minutes (8–22 = 1, 23–37 = 2, …); 0–7 is 0.
    assert (units == 0 and minutes <= 7) or 15 * units - 7 <= minutes <= 15 * units + 7
    assert units_for_minutes(minutes + 1) - units in (0, 1)


# --- MCID on one-decimal scores ------------------------------------------------------------------


@st.composite
def near_threshold(draw):
    """(measure, baseline, current) as one-decimal scores, improving by about the MCID."""
    measure = draw(st.sampled_from(["ndi", "odi"]))
    threshold = int(MCID[measure].points * 10)  # in tenths of a point
    change_tenths = draw(st.integers(threshold - 3, threshold + 3))
    baseline = draw(st.integers(max(change_tenths, 0), 1000))
    return measure, Decimal(baseline) / 10, Decimal(baseline - change_tenths) / 10


@SETTINGS
@given(near_threshold())
@example(("ndi", Decimal("16.4"), Decimal("1.4")))
def test_mcid_on_decimal_scores_matches_exact_arithmetic(case) -> None:
    # NDI/ODI are stored with one decimal; the threshold must be judged on the decimal values
    # the therapist entered, not on their binary float approximations.
    measure, baseline, current = case
    improvement = baseline - current  # exact; lower is better for both
    expected = improvement > 0 and improvement >= Decimal(str(MCID[measure].points))
    assert change(measure, float(baseline), float(current)).mcid_met is expected


# --- dates ---------------------------------------------------------------------------------------


@SETTINGS
@given(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
def test_parse_date_round_trips_every_iso_date(day: date) -> None:
    assert parse_date("date", day.isoformat(), allow_future=False, base=TODAY) == day
