"""Which authorization covers a visit, and where each visit stands (SPEC §10). Pure functions.

A case (one claim) holds one or more authorizations: prescriptions or payer approvals, each
with a window [valid from, valid until] and a number of visits allowed. The rules:

- A visit belongs to the authorization whose window holds its date; where windows overlap, to
  the one written last (date written, then the order entered). A visit in no window is
  *outside the prescription*: before the first window (`not-yet-valid`), after the last
  (`expired`), or between two (`gap`).
- A visit is *over authorized* when its place among the non-void visits of its authorization,
  in visit order, is beyond the visits allowed.
- Visit numbers count the whole case, in visit order: date, start time (a visit without one
  before those with one that day), then the order entered (the session id).

Everything here is computed from the record each time it is read (`cover`), never stored, so a
void, a late entry or a backdated renewal changes every view and document at once. SQL that
counts visits per authorization (reports.case_states) uses `segments`, the same rule cut into
disjoint date ranges; a property test checks that the two always agree.
"""

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from itertools import pairwise
from typing import NamedTuple

# The flags of a visit outside every window; None = inside one.
OUTSIDE_FLAGS = ("not-yet-valid", "expired", "gap")
_DAY = timedelta(days=1)


class Window(NamedTuple):
    """What the rule needs of an authorization."""

    id: int
    written: date
    valid_from: date
    valid_until: date
    visits: int  # visits allowed

    def holds(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_until


class Visit(NamedTuple):
    """What the rule needs of a non-void visit."""

    session_id: int
    day: date
    start_time: str | None = None

    @property
    def order(self) -> tuple[date, str, int]:
        return visit_order(self.day, self.start_time, self.session_id)


def visit_order(day: date | str, start_time: str | None, session_id: int) -> tuple:
    """The sort key of visit order: date, start time (none first), entry order."""
    return (day, start_time or "", session_id)


class Standing(NamedTuple):
    """Where one visit stands, derived from the record."""

    session_id: int
    visit: int  # its place among the case's non-void visits (1 = the first)
    authorization_id: int | None  # None: outside the prescription
    place: int | None  # its place among its authorization's visits
    allowed: int | None  # that authorization's visits allowed
    rx_flag: str | None  # None, or one of OUTSIDE_FLAGS
    over_authorized: bool


def precedence(window: Window) -> tuple[date, int]:
    """Where windows overlap, the higher wins: written later, then entered later."""
    return (window.written, window.id)


def ordered(windows: Iterable[Window]) -> list[Window]:
    """Authorizations in the order they were written (the order the case lists them)."""
    return sorted(windows, key=precedence)


def window_for(windows: Sequence[Window], day: date) -> Window | None:
    """The authorization a visit on `day` belongs to, or None when it is outside them all."""
    best = None
    for w in windows:
        if w.valid_from <= day <= w.valid_until and (
            best is None or (w.written, w.id) > (best.written, best.id)  # precedence()
        ):
            best = w
    return best


def outside_flag(windows: Sequence[Window], day: date) -> str | None:
    """None when `day` is in a window; else before the first, after the last, or a gap."""
    if window_for(windows, day) is not None:
        return None
    if not windows or day < min(w.valid_from for w in windows):
        return "not-yet-valid"
    if day > max(w.valid_until for w in windows):
        return "expired"
    return "gap"


def cover(windows: Sequence[Window], visits: Iterable[Visit]) -> list[Standing]:
    """Every non-void visit's standing, in visit order (the input may come in any order).

    Each visit's authorization is looked up in `segments` (the rule of window_for, cut into
    runs of days) by bisection: a case with hundreds of visits and many renewals stays cheap.
    """
    runs = segments(windows)
    starts = [r.first for r in runs]
    by_id = {w.id: w for w in windows}
    places: dict[int, int] = {}
    out = []
    for number, v in enumerate(sorted(visits, key=lambda v: v.order), start=1):
        i = bisect_right(starts, v.day) - 1
        if i < 0 or runs[i].last < v.day:
            flag = outside_flag(windows, v.day)
            out.append(Standing(v.session_id, number, None, None, None, flag, False))
            continue
        w = by_id[runs[i].authorization_id]
        place = places[w.id] = places.get(w.id, 0) + 1
        out.append(Standing(v.session_id, number, w.id, place, w.visits, None, place > w.visits))
    return out


def used(standings: Iterable[Standing]) -> dict[int, int]:
    """Visits used per authorization id."""
    counts: dict[int, int] = {}
    for s in standings:
        if s.authorization_id is not None:
            counts[s.authorization_id] = counts.get(s.authorization_id, 0) + 1
    return counts


class Segment(NamedTuple):
    """A run of days that all belong to one authorization."""

    authorization_id: int
    first: date
    last: date


def segments(windows: Sequence[Window]) -> list[Segment]:
    """The days of every window cut into disjoint runs, each labelled with the authorization
    its days belong to (window_for): counting visits per run counts them per authorization."""
    if not windows:
        return []
    by_start = sorted(windows, key=lambda w: w.valid_from)
    if all(a.valid_until < b.valid_from for a, b in pairwise(by_start)):
        # No two overlap (the usual claim: each renewal starts after the last one ends): each
        # window is its own run.
        return [Segment(w.id, w.valid_from, w.valid_until) for w in by_start]
    edges = sorted({w.valid_from for w in windows} | {w.valid_until + _DAY for w in windows})
    out: list[Segment] = []
    for start, stop in pairwise(edges):
        w = window_for(windows, start)  # constant within [start, stop): no window edge inside
        if w is None:
            continue
        last = stop - _DAY
        if out and out[-1].authorization_id == w.id and out[-1].last + _DAY == start:
            out[-1] = out[-1]._replace(last=last)
        else:
            out.append(Segment(w.id, start, last))
    return out


class InForce(NamedTuple):
    """The authorization that speaks for a case on a day, and how."""

    window: Window
    state: str  # 'in force', 'expired' (none since), 'gap' (one ended, the next not begun),
    #             'not yet valid' (none begun yet)
    next: Window | None  # in a gap or before the first: the next to begin


def in_force(windows: Sequence[Window], on: date) -> InForce | None:
    """The authorization in force on `on`; when none is, the last to have ended (or, before
    the first, the first to begin), labelled so."""
    if not windows:
        return None
    holder = window_for(windows, on)
    if holder is not None:
        return InForce(holder, "in force", None)
    starts = [w.valid_from for w in windows if w.valid_from > on]
    following = window_for(windows, min(starts)) if starts else None
    ends = [w.valid_until for w in windows if w.valid_until < on]
    if not ends:
        assert following is not None
        return InForce(following, "not yet valid", following)
    last = window_for(windows, max(ends))  # the one that covered the last day covered
    assert last is not None
    return InForce(last, "gap" if following else "expired", following)


def covered_until(windows: Sequence[Window], on: date) -> date | None:
    """The last day of the unbroken run of covered days that holds `on` (None if `on` is
    outside every window): a renewal that starts where the last one ends extends it."""
    runs = segments(windows)
    end = None
    for s in runs:
        if end is None:
            if s.first <= on <= s.last:
                end = s.last
        elif s.first == end + _DAY:
            end = s.last
        elif s.first > end:
            break
    return end
