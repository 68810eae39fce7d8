"""The rule that places visits under authorizations (medmassage/rules/coverage.py, SPEC §10), at its
boundaries, and the SQL that counts visits per authorization (reports, case list) against it."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medmassage.rules.coverage import (
    Visit,
    Window,
    cover,
    covered_until,
    in_force,
    outside_flag,
    segments,
    window_for,
)


def D(text: str) -> date:
    return date.fromisoformat(text)


# The first prescription and a renewal, as in a real claim: Oct 21 – Nov 20 (6 visits), then a
# re-authorization written Nov 25, backdated to Nov 16, to Dec 31 (6 visits).
FIRST = Window(1, D("2026-10-21"), D("2026-10-21"), D("2026-11-20"), 6)
RENEWAL = Window(2, D("2026-11-25"), D("2026-11-16"), D("2026-12-31"), 6)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param("2026-10-20", None, id="day-before-the-first"),
        pytest.param("2026-10-21", 1, id="first-day-of-the-first"),
        pytest.param("2026-11-15", 1, id="last-day-before-the-overlap"),
        pytest.param("2026-11-16", 2, id="overlap-starts: the later written wins"),
        pytest.param("2026-11-20", 2, id="last-day-of-the-first: still the renewal"),
        pytest.param("2026-12-31", 2, id="last-day-of-the-renewal"),
        pytest.param("2027-01-01", None, id="day-after-the-last"),
    ],
)
def test_window_for_a_day(day: str, expected: int | None) -> None:
    found = window_for([FIRST, RENEWAL], D(day))
    assert (found.id if found else None) == expected


def test_on_overlap_the_one_written_later_wins_whatever_the_order_entered() -> None:
    # An old approval entered after the renewal (a higher id) but written before it.
    late_entered_old = Window(3, D("2026-10-01"), D("2026-10-01"), D("2026-12-31"), 30)
    assert window_for([RENEWAL, late_entered_old], D("2026-11-20")).id == 2
    # Written the same day: the one entered last (records refuse overlapping ones anyway).
    same_day = Window(4, D("2026-11-25"), D("2026-11-16"), D("2026-11-30"), 2)
    assert window_for([RENEWAL, same_day], D("2026-11-20")).id == 4


@pytest.mark.parametrize(
    ("day", "flag"),
    [
        pytest.param("2026-10-20", "not-yet-valid", id="before-the-first"),
        pytest.param("2026-10-21", None, id="inside"),
        pytest.param("2026-11-21", "gap", id="between-two"),
        pytest.param("2026-11-30", "gap", id="last-day-of-the-gap"),
        pytest.param("2026-12-01", None, id="the-next-starts"),
        pytest.param("2027-01-01", "expired", id="after-the-last"),
    ],
)
def test_outside_flags_before_between_and_after(day: str, flag: str | None) -> None:
    later = Window(2, D("2026-11-28"), D("2026-12-01"), D("2026-12-31"), 6)  # leaves a gap
    assert outside_flag([FIRST, later], D(day)) == flag


def visits(*days: str) -> list[Visit]:
    return [Visit(i, D(d)) for i, d in enumerate(days, start=1)]


def test_places_count_each_authorization_and_numbers_the_whole_claim() -> None:
    days = ["2026-10-22", "2026-10-29", "2026-11-05", "2026-11-12", "2026-11-14",
            "2026-11-15", "2026-11-19", "2026-11-15"]  # fmt: skip
    standings = cover([FIRST, RENEWAL], visits(*days))
    assert [(s.session_id, s.visit, s.authorization_id, s.place) for s in standings] == [
        (1, 1, 1, 1), (2, 2, 1, 2), (3, 3, 1, 3), (4, 4, 1, 4), (5, 5, 1, 5),
        (6, 6, 1, 6), (8, 7, 1, 7), (7, 8, 2, 1),
    ]  # fmt: skip
    # The 7th visit of the first authorization is the one over it, not the renewal's first.
    assert [s.session_id for s in standings if s.over_authorized] == [8]


@pytest.mark.parametrize(
    ("allowed", "count", "over"),
    [
        pytest.param(6, 5, [], id="5-of-6"),
        pytest.param(6, 6, [], id="6-of-6: the last allowed"),
        pytest.param(6, 7, [7], id="7-of-6"),
        pytest.param(1, 2, [2], id="2-of-1"),
    ],
)
def test_over_authorized_at_the_limit(allowed: int, count: int, over: list[int]) -> None:
    one = Window(1, D("2026-11-01"), D("2026-11-01"), D("2026-12-31"), allowed)
    days = [(D("2026-11-01") + timedelta(days=i)).isoformat() for i in range(count)]
    assert [s.session_id for s in cover([one], visits(*days)) if s.over_authorized] == over


def test_visit_order_is_date_then_start_time_then_entry() -> None:
    one = [Window(1, D("2026-11-01"), D("2026-11-01"), D("2026-12-31"), 2)]
    same_day = [
        Visit(1, D("2026-11-10"), "14:00"),
        Visit(2, D("2026-11-10"), None),  # no time: before those with one
        Visit(3, D("2026-11-10"), "09:00"),
        Visit(4, D("2026-11-09"), "18:00"),
    ]
    standings = cover(one, same_day)
    assert [(s.session_id, s.visit) for s in standings] == [(4, 1), (2, 2), (3, 3), (1, 4)]
    assert [s.session_id for s in standings if s.over_authorized] == [3, 1]


def test_in_force_names_the_state_on_each_side_of_the_windows() -> None:
    later = Window(2, D("2026-11-28"), D("2026-12-01"), D("2026-12-31"), 6)
    pairs = [
        ("2026-10-01", 1, "not yet valid"),
        ("2026-11-01", 1, "in force"),
        ("2026-11-25", 1, "gap"),
        ("2026-12-05", 2, "in force"),
        ("2027-02-01", 2, "expired"),
    ]
    for day, expected, state in pairs:
        found = in_force([FIRST, later], D(day))
        assert (found.window.id, found.state) == (expected, state), day
    assert in_force([FIRST, later], D("2026-11-25")).next.id == 2


def test_covered_until_runs_on_through_a_renewal_that_starts_the_day_after() -> None:
    back_to_back = Window(2, D("2026-11-18"), D("2026-11-21"), D("2026-12-31"), 6)
    assert covered_until([FIRST, back_to_back], D("2026-11-10")) == D("2026-12-31")
    apart = Window(2, D("2026-11-18"), D("2026-11-23"), D("2026-12-31"), 6)
    assert covered_until([FIRST, apart], D("2026-11-10")) == D("2026-11-20")
    assert covered_until([FIRST, apart], D("2026-11-21")) is None


# --- the rule cut into runs (what SQL counts) agrees with the rule, day by day -------------

BASE = date(2026, 1, 1)
window = st.builds(
    lambda i, written, start, length, visits: Window(
        i, BASE + timedelta(days=written), BASE + timedelta(days=start),
        BASE + timedelta(days=start + length), visits,
    ),
    st.integers(1, 10_000), st.integers(0, 60), st.integers(0, 90), st.integers(0, 40),
    st.integers(1, 8),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(windows=st.lists(window, min_size=1, max_size=5, unique_by=lambda w: w.id))
def test_segments_label_every_day_as_window_for_does(windows: list[Window]) -> None:
    runs = segments(windows)
    for a, b in pairwise(runs):
        assert a.last < b.first  # disjoint, in order
    for offset in range(-2, 140):
        day = BASE + timedelta(days=offset)
        found = window_for(windows, day)
        in_run = [r.authorization_id for r in runs if r.first <= day <= r.last]
        assert in_run == ([found.id] if found else []), day
        assert (outside_flag(windows, day) is None) == (found is not None)


@settings(max_examples=200, deadline=None)
@given(
    windows=st.lists(window, min_size=1, max_size=4, unique_by=lambda w: w.id),
    offsets=st.lists(st.integers(-5, 140), max_size=30),
)
def test_cover_places_follow_the_rule(windows: list[Window], offsets: list[int]) -> None:
    found = [Visit(i, BASE + timedelta(days=o)) for i, o in enumerate(offsets, start=1)]
    standings = cover(windows, found)
    assert [s.visit for s in standings] == list(range(1, len(found) + 1))
    seen: dict[int, int] = {}
    for s in standings:
        day = next(v.day for v in found if v.session_id == s.session_id)
        w = window_for(windows, day)
        assert s.authorization_id == (w.id if w else None)
        if w is None:
            assert s.rx_flag is not None and s.place is None and not s.over_authorized
            continue
        seen[w.id] = seen.get(w.id, 0) + 1
        assert (s.place, s.over_authorized) == (seen[w.id], seen[w.id] > w.visits)
