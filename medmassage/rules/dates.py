"""Dates the way a therapist types them: ISO, `today`, `yesterday`, weekday names, months.

In a log of the past a weekday means the last one (timewarrior), never the next: `friday` is the
most recent Friday (today, if today is Friday), `last friday` the one before today.
`MEDMASSAGE_TODAY=2026-11-27` pins "today" so reports and tests are reproducible.
dateutil is imported only for free-form text that the fast paths here do not cover.
"""

import os
import re
from datetime import date, datetime, timedelta

from medmassage.errors import InputError

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

DATE_HELP = "a date like 2026-11-20, today, yesterday, friday or last friday"


def today() -> date:
    """Today's date, or the one pinned by MEDMASSAGE_TODAY."""
    pinned = os.environ.get("MEDMASSAGE_TODAY")
    if pinned:
        try:
            return date.fromisoformat(pinned)
        except ValueError:
            raise InputError(
                "MEDMASSAGE_TODAY", pinned, "use an ISO date like 2026-11-27"
            ) from None
    return date.today()


def now_stamp() -> str:
    """The current local time with its UTC offset, for created/audit columns. When "today" is
    pinned (MEDMASSAGE_TODAY, --today), the stamp carries that day, so a new client or case
    counts as new in the pinned month's report."""
    now = datetime.now().astimezone()
    if os.environ.get("MEDMASSAGE_TODAY"):
        now = datetime.combine(today(), now.timetz())
    return now.isoformat(timespec="seconds")


def _weekday(word: str, base: date) -> date | None:
    parts = word.split()
    last = False
    if len(parts) == 2 and parts[0] == "last":
        last, parts = True, parts[1:]
    if len(parts) != 1:
        return None
    name = parts[0]
    matches = [i for i, day in enumerate(_WEEKDAYS) if len(name) >= 3 and day.startswith(name)]
    if len(matches) != 1:
        return None
    back = (base.weekday() - matches[0]) % 7
    if last and back == 0:
        back = 7
    return base - timedelta(days=back)


def _parse_day(text: str, base: date) -> date | None:
    word = " ".join(text.lower().split())
    if word == "today":
        return base
    if word == "yesterday":
        return base - timedelta(days=1)
    if _ISO_DATE.match(word):
        try:
            return date.fromisoformat(word)
        except ValueError:
            return None
    found = _weekday(word, base)
    if found is not None:
        return found
    if _ISO_MONTH.match(word) or not re.search(r"\d", word) or word.isdigit():
        # Months are periods, not days; words without digits and bare numbers are not dates
        # that dateutil reads sensibly ("last month" → today, "5" → January 5th, silently).
        return None
    from dateutil import parser  # slow import: only for free-form text

    try:
        return parser.parse(word, default=datetime(base.year, 1, 1)).date()
    except (ValueError, OverflowError):
        return None


def parse_date(
    field: str,
    text: str,
    *,
    allow_future: bool = True,
    base: date | None = None,
) -> date:
    """One calendar day. Raises InputError naming the field when the text is not a date."""
    base = base or today()
    day = _parse_day(text.strip(), base) if text and text.strip() else None
    if day is None:
        raise InputError(field, text, f"expected {DATE_HELP}")
    if not allow_future and day > base:
        raise InputError(field, text, f"is in the future (today is {base.isoformat()})")
    return day


def parse_date_time(
    field: str, text: str, *, allow_future: bool = False, base: date | None = None
) -> tuple[date, str | None]:
    """A day with an optional HH:MM start time: `2026-11-20 14:30`, `today 9:00`."""
    parts = text.strip().rsplit(" ", 1)
    start: str | None = None
    if len(parts) == 2 and _TIME.match(parts[1]):
        hour, minute = _TIME.match(parts[1]).groups()  # type: ignore[union-attr]
        start = f"{int(hour):02d}:{minute}"
        text = parts[0]
    elif "T" in text and _ISO_DATE.match(text.split("T", 1)[0]):
        day_part, _, time_part = text.partition("T")
        # The whole time part: "14:30" or "14:30:00"; "14:30xyz" and "14:30:99" are refused.
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)(?::00)?", time_part)
        if not match:
            raise InputError(field, text, f"expected {DATE_HELP}, optionally with a time (14:30)")
        start = f"{int(match.group(1)):02d}:{match.group(2)}"
        text = day_part
    day = parse_date(field, text, allow_future=allow_future, base=base)
    return day, start


def parse_period(field: str, text: str, base: date | None = None) -> tuple[date, date]:
    """A span of days: a month (`2026-10`, `this month`, `last month`) or a single day."""
    base = base or today()
    word = " ".join(text.lower().split())
    month = _ISO_MONTH.match(word)
    if month:
        year, mon = int(month.group(1)), int(month.group(2))
        if not 1 <= mon <= 12:
            raise InputError(field, text, "expected a month like 2026-10")
        return _month_span(year, mon)
    if word == "this month":
        return _month_span(base.year, base.month)
    if word == "last month":
        first = base.replace(day=1) - timedelta(days=1)
        return _month_span(first.year, first.month)
    day = parse_date(field, text, base=base)
    return day, day


def parse_span(
    from_text: str | None, to_text: str | None, base: date | None = None
) -> tuple[date | None, date | None]:
    """`--from/--to` of a listing, days or months, either left open: (first day, last day).
    A --from after the --to is refused rather than matching nothing."""
    first = parse_period("from", from_text, base)[0] if from_text is not None else None
    last = parse_period("to", to_text, base)[1] if to_text is not None else None
    if first is not None and last is not None and first > last:
        raise InputError("from", from_text, f"must be on or before --to ({last.isoformat()})")
    return first, last


def _month_span(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def monday_of(day: date) -> date:
    """The Monday that starts the (Mon–Sun) week holding `day`."""
    return day - timedelta(days=day.weekday())
