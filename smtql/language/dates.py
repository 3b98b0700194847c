"""Dates, periods and durations as smtql reads them (LANGUAGE.md §2).

A written date is a period whose length is the granularity written: `2020`
is the year, `2020-09` the month, `2020-09-12T10:30` the minute. Everything
is UTC, like Sumatra's timestamps. `N days ago` is an instant: a period of
length zero, measured from one "now" per program.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

UTC = timezone.utc

# The instants a timestamp can hold (Python's datetime, and so Sumatra's).
FIRST = datetime.min.replace(tzinfo=UTC)
LAST = datetime.max.replace(tzinfo=UTC)
RANGE = "dates go from 0001 to 9999"


class DateError(ValueError):
    """A date or duration that reads as one but is not (month 13, `5x`)."""


@dataclass(frozen=True)
class Period:
    """The half-open span [start, end) of a written date; start == end for
    an instant."""

    start: datetime
    end: datetime
    text: str = ""

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    @property
    def is_instant(self) -> bool:
        return self.start == self.end

    def day(self) -> "Period":
        """The UTC day this period starts in (what `on 3 days ago` means)."""
        start = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        return Period(start, _advance(start, "day"), self.text)

    def __str__(self) -> str:
        return self.text or f"[{self.start.isoformat()}, {self.end.isoformat()})"


_CALENDAR = re.compile(
    r"(?P<year>\d{4})(?:-?(?P<month>\d{2})(?:-?(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?)?)?$"
)


def parse_date(text: str) -> Period:
    """A calendar date as written: `2020`, `2020-09`, `2020-09-12`,
    `20200912`, `2020-09-12T10:30[:15]`."""
    m = _CALENDAR.match(text)
    if not m or (len(text) == 6 and "-" not in text):  # 202009 is not a date
        raise DateError(f"'{text}' is not a date (write 2020, 2020-09, 2020-09-12 "
                        "or 2020-09-12T10:30)")
    parts = {k: int(v) for k, v in m.groupdict().items() if v is not None}
    try:
        start = datetime(parts["year"], parts.get("month", 1), parts.get("day", 1),
                         parts.get("hour", 0), parts.get("minute", 0),
                         parts.get("second", 0), tzinfo=UTC)
    except ValueError as err:
        if not 1 <= parts["year"] <= 9999:
            raise DateError(f"'{text}' is not a valid date: {RANGE}") from None
        raise DateError(f"'{text}' is not a valid date: {err}") from None
    return Period(start, _advance(start, _granularity(parts)), text)


def _granularity(parts: dict) -> str:
    for name in ("second", "minute", "hour", "day", "month"):
        if name in parts:
            return name
    return "year"


def _advance(start: datetime, granularity: str) -> datetime:
    """The end of the period that starts at `start`. The last period of year
    9999 ends at the last instant a timestamp holds: its end, the start of
    year 10000, cannot be written, and no timestamp lies beyond it anyway."""
    try:
        return _next(start, granularity)
    except (OverflowError, ValueError):
        return LAST


def _next(start: datetime, granularity: str) -> datetime:
    if granularity == "year":
        return start.replace(year=start.year + 1)
    if granularity == "month":
        if start.month == 12:
            return start.replace(year=start.year + 1, month=1)
        return start.replace(month=start.month + 1)
    return start + timedelta(**{granularity + "s": 1})


def day_of(moment: datetime, text: str) -> Period:
    start = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return Period(start, _advance(start, "day"), text)


def today(now: datetime) -> Period:
    return day_of(now, "today")


def yesterday(now: datetime) -> Period:
    if now - FIRST < timedelta(days=1):
        raise DateError(f"there is no yesterday on {now:%Y-%m-%d}: {RANGE}")
    return day_of(now - timedelta(days=1), "yesterday")


_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}


def ago(amount: str, unit: str, now: datetime) -> Period:
    """`N units ago`: an instant."""
    try:
        n = float(amount)
    except ValueError:
        raise DateError(f"'{amount}' is not a number of {unit}") from None
    seconds = n * _UNITS[unit.lower().rstrip("s")]
    try:
        moment = now - timedelta(seconds=seconds)
    except (OverflowError, ValueError):  # past what a timedelta or a datetime holds
        moment = None
    if moment is None or not FIRST <= moment <= LAST:
        raise DateError(f"'{amount} {unit} ago' falls outside the calendar: {RANGE}")
    return Period(moment, moment, f"{amount} {unit} ago")


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """`90s`, `5m`, `10h`, `2d`, `1h30m` as seconds."""
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise DateError(f"'{text}' is not a duration (write 90s, 5m, 10h, 2d or 1h30m)")
    return total


def as_utc(moment) -> datetime:
    """A datetime from outside: naive ones are taken as UTC; a date is its
    midnight."""
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if isinstance(moment, date):
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    raise TypeError(moment)


# The periods a group-by takes (LANGUAGE.md §9), each a label that sorts as
# the periods do: ISO weeks (Monday first) as `2020-W47`.
PERIOD_FORMATS = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


def period_label(moment: datetime, unit: str) -> str:
    """The UTC period of `unit` a timestamp falls in, as a label."""
    moment = moment.astimezone(UTC)
    if unit == "week":
        year, week, _ = moment.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return moment.strftime(PERIOD_FORMATS[unit])


def period_start(label: str, unit: str) -> datetime:
    """The first instant of a period label (for plotting periods as dates)."""
    if unit == "week":
        return datetime.strptime(label + "-1", "%G-W%V-%u").replace(tzinfo=UTC)
    return datetime.strptime(label, PERIOD_FORMATS[unit]).replace(tzinfo=UTC)
