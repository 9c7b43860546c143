"""When something happened, as people type it, read into a moment (and shown back).

Accepted (case and extra spaces do not matter; "at", "on", "the", "of" and commas are ignored):

- ``now``;
- a day: ``today``, ``yesterday``, a day of the week (``monday``: the most recent one, today
  included), ``21/11``, ``21/11/26``, ``21/11/2026`` (UK order: day first; ``.`` or ``-`` also
  separate a day, month and year), ``21 Nov``, ``21st November 2026``, ``Nov 21``; a date
  without a year is the most recent such date that is not after today (29/02: the most recent
  leap day). A day of the week may come before a date (``Sat 21 Nov 2026``) and must match it;
- a time of day: ``14:30``, ``14.30``, ``16:05:30``, ``4pm``, ``2.30pm``, ``4 p.m.``, ``noon``
  (``12am`` is midnight at the start of the day, ``12pm`` is noon);
- a day and a time in either order (``yesterday 4pm``, ``4pm yesterday``); a time alone is today;
- ISO 8601: ``2026-11-21T15:40``, ``2026-11-21 15:40``, with seconds, fractions, ``Z`` or an
  offset (``+01:00``, ``+0100``).

Refused, each with one sentence that never repeats what was typed: anything else; a day with
no time (a time of day is asked for rather than guessed as midnight); ``midnight`` (either end
of the day); dates that do not exist (31/02) and times that do not (25:00, or 01:30 on the
night the clocks go forward); years before 1900; and moments more than
:data:`FUTURE_SLACK` after ``now``.

Wall times are read in ``now``'s time zone, with its daylight-saving rules: a ``ZoneInfo`` is
used as it is; a fixed offset that is the machine's own local time at ``now`` (what
``datetime.astimezone()`` and :func:`local_moment` give) stands for the machine's local rules,
so that a date on the other side of a clock change gets that side's offset. Any other fixed
offset is used as it is. A wall time that happens twice (the night the clocks go back) is the
first of the two.

Pure functions of their arguments; only the standard library.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Final

from vault.errors import InvalidWhen

FUTURE_SLACK: Final = timedelta(minutes=5)
MAX_CHARS: Final = 80
EARLIEST_YEAR: Final = 1900

_MONTHS: Final = {name: number for number, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")), start=1) for name in names}
_WEEKDAYS: Final = {name: number for number, names in enumerate(
    (("mon", "monday"), ("tue", "tues", "tuesday"), ("wed", "weds", "wednesday"),
     ("thu", "thur", "thurs", "thursday"), ("fri", "friday"), ("sat", "saturday"), ("sun", "sunday")))
    for name in names}
_DAY_NAMES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FILLERS: Final = frozenset({"at", "on", "the", "of"})

_ISO: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?"
    r"(z|[+-]\d{2}(?::?\d{2})?)?", re.ASCII)
_TIME: Final = re.compile(r"(\d{1,2})(?:([:.])(\d{2})(?::(\d{2}))?)?(am|pm)?", re.ASCII)
_SLASH_DATE: Final = re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?", re.ASCII)
_DOTTED_DATE: Final = re.compile(r"(\d{1,2})([.-])(\d{1,2})\2(\d{2}|\d{4})", re.ASCII)
_ISO_DATE: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_DAY: Final = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?", re.ASCII)
_YEAR: Final = re.compile(r"\d{4}", re.ASCII)

_EXAMPLES: Final = "try “yesterday 4pm” or “21/11 15:40”"
UNREADABLE: Final = f"could not be read as a date and time: {_EXAMPLES}."
_UNREADABLE_SENTENCE: Final = f"The date and time given could not be read: {_EXAMPLES}."
NO_TIME: Final = "needs a time of day too, as in “21/11 15:40”."
NO_DATE: Final = "is not a real date."
NO_SUCH_TIME: Final = "is not a time of day (hours run from 0 to 23 and minutes from 0 to 59)."
SKIPPED: Final = "did not happen: the clocks went forward an hour then."
MIDNIGHT: Final = "says “midnight”, which could be either end of the day: give 00:00 or 23:59."
TOO_EARLY: Final = f"is before {EARLIEST_YEAR}: check the year."
WRONG_WEEKDAY: Final = "names a day of the week that does not match the date."
FUTURE: Final = "is in the future: give when it happened."
TOO_LONG: Final = f"is longer than {MAX_CHARS} characters, too long to be a date and time."
EMPTY: Final = f"is empty: {_EXAMPLES}."


def local_moment(epoch: float) -> datetime:
    """``epoch`` (seconds, e.g. ``session.vault.clock()``) as the machine's local clock reads
    it: the ``now`` that :func:`parse_when` expects."""
    return datetime.fromtimestamp(epoch, UTC).astimezone()


def parse_when(text: str, now: datetime) -> datetime:
    """The moment ``text`` names, read as of ``now`` (timezone-aware, local); an aware datetime.

    Raises :class:`~vault.errors.InvalidWhen` (an ``InvalidInput``) with one sentence.
    """
    return read_when(text, now)[0]


def read_when(text: str, now: datetime) -> tuple[datetime, bool]:
    """:func:`parse_when`, and whether the text is relative to the day it was typed on
    (``now``, ``today``, ``yesterday``, a day of the week or a time alone): such text means
    another moment when read on another day."""
    if now.tzinfo is None or now.utcoffset() is None:
        now = now.astimezone()
    if not isinstance(text, str):
        raise InvalidWhen(UNREADABLE, _UNREADABLE_SENTENCE)
    if len(text) > MAX_CHARS:
        raise InvalidWhen(TOO_LONG)
    s = _normalise(text)
    if not s:
        raise InvalidWhen(EMPTY)
    if s == "now":
        return now, True
    try:
        iso = _ISO.fullmatch(s)
        if iso:
            moment, relative = _from_iso(iso, now), False
        else:
            moment, relative = _from_words(s.split(" "), now)
    except OverflowError:  # only a year near 9999 goes past what datetime holds
        raise InvalidWhen(FUTURE) from None
    if moment - now > FUTURE_SLACK:
        raise InvalidWhen(FUTURE)
    return moment, relative


def describe_when(dt: datetime, tz: tzinfo | None = None) -> str:
    """``dt`` as people read it in local time (or in ``tz``): ``Sat 21 Nov 2026, 15:40``.

    A naive ``dt`` is taken as UTC, as the vault stores every time in UTC.
    """
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    local = dt.astimezone(tz)
    return (f"{_DAY_NAMES[local.weekday()]} {local.day} {_MONTH_NAMES[local.month - 1]} {local.year}, "
            f"{local.hour:02d}:{local.minute:02d}")


def to_utc_iso(dt: datetime) -> str:
    """``dt`` in UTC, in the form the vault stores times (``2026-11-21T15:40:00.000000Z``,
    as :func:`vault.audit.iso`). A naive ``dt`` is taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_day(moment: datetime, now: datetime) -> date:
    """The day ``moment`` falls on in ``now``'s zone, with its rules (naive: UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        now = now.astimezone()
    return moment.astimezone(_rules(now)).date()


# --- reading ----------------------------------------------------------------------------


def _normalise(text: str) -> str:
    s = text.strip().lower().replace(",", " ")
    s = re.sub(r"\b([ap])\.m\.?(?=\s|$)", r"\1m", s, flags=re.ASCII)  # 4 p.m. -> 4 pm
    s = re.sub(r"\s+", " ", s).strip()
    return re.sub(r"([0-9]) ([ap]m)\b", r"\1\2", s, flags=re.ASCII)  # 4 pm -> 4pm


def _from_iso(m: re.Match[str], now: datetime) -> datetime:
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    when = _date(int(year), int(month), int(day))
    if hour is None:
        raise InvalidWhen(NO_TIME)
    clock = _time(int(hour), int(minute), int(second or 0), int((fraction or "0").ljust(6, "0")))
    naive = datetime.combine(when, clock)
    if zone is None:
        return _wall(naive, now)
    if zone == "z":
        return naive.replace(tzinfo=UTC)
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise InvalidWhen(UNREADABLE, _UNREADABLE_SENTENCE)
    offset = timedelta(hours=hours, minutes=minutes)
    return naive.replace(tzinfo=timezone(-offset if zone[0] == "-" else offset))


def _from_words(tokens: list[str], now: datetime) -> tuple[datetime, bool]:
    today = now.date()
    weekday: int | None = None
    day_words: list[date] = []  # today / yesterday / a numeric date
    days: list[int] = []
    months: list[int] = []
    years: list[int] = []
    times: list[time] = []
    relative = False
    for token in tokens:
        if token in _FILLERS:
            continue
        if token in ("today", "yesterday"):
            day_words.append(today if token == "today" else today - timedelta(days=1))
            relative = True
        elif token in _WEEKDAYS:
            if weekday is not None:
                raise InvalidWhen(UNREADABLE, _UNREADABLE_SENTENCE)
            weekday = _WEEKDAYS[token]
        elif token in _MONTHS:
            months.append(_MONTHS[token])
        elif token in ("noon", "midday"):
            times.append(time(12))
        elif token == "midnight":
            raise InvalidWhen(MIDNIGHT)
        elif m := _SLASH_DATE.fullmatch(token):
            day_words.append(_numeric_date(int(m[1]), int(m[2]), m[3], today))
        elif m := _DOTTED_DATE.fullmatch(token):
            day_words.append(_numeric_date(int(m[1]), int(m[3]), m[4], today))
        elif m := _ISO_DATE.fullmatch(token):
            day_words.append(_date(int(m[1]), int(m[2]), int(m[3])))
        elif (m := _TIME.fullmatch(token)) and (m[2] or m[5]):
            times.append(_clock(m))
        elif _YEAR.fullmatch(token):
            years.append(int(token))
        elif m := _DAY.fullmatch(token):
            days.append(int(m[1]))
        else:
            raise InvalidWhen(UNREADABLE, _UNREADABLE_SENTENCE)
    if len(times) > 1 or len(day_words) > 1 or len(months) > 1 or len(days) > 1 or len(years) > 1:
        raise InvalidWhen(UNREADABLE, _UNREADABLE_SENTENCE)
    if day_words:
        if months or days or years:
            raise InvalidWhen(UNREADABLE, _UNREADABLE_SENTENCE)
        when = day_words[0]
    elif months or days or years:
        if not (months and days):
            raise InvalidWhen(UNREADABLE, _UNREADABLE_SENTENCE)
        when = _numeric_date(days[0], months[0], str(years[0]) if years else None, today)
    elif weekday is not None:
        when = today - timedelta(days=(today.weekday() - weekday) % 7)
        relative = True
    else:
        when = today
        relative = True
    if weekday is not None and when.weekday() != weekday:
        raise InvalidWhen(WRONG_WEEKDAY)
    if not times:
        raise InvalidWhen(NO_TIME)
    return _wall(datetime.combine(when, times[0]), now), relative


def _clock(m: re.Match[str]) -> time:
    hour, minute, second, half = int(m[1]), int(m[3] or 0), int(m[4] or 0), m[5]
    if half:
        if m[4] is not None or not 1 <= hour <= 12:
            raise InvalidWhen(NO_SUCH_TIME)
        hour = hour % 12 + (12 if half == "pm" else 0)
    return _time(hour, minute, second)


def _time(hour: int, minute: int, second: int = 0, micro: int = 0) -> time:
    if hour > 23 or minute > 59 or second > 59:
        raise InvalidWhen(NO_SUCH_TIME)
    return time(hour, minute, second, micro)


def _date(year: int, month: int, day: int) -> date:
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(max(year, 1), month)[1]:
        raise InvalidWhen(NO_DATE)
    if year < EARLIEST_YEAR:
        raise InvalidWhen(TOO_EARLY)
    return date(year, month, day)


def _numeric_date(day: int, month: int, year: str | None, today: date) -> date:
    """A UK day/month[/year]; with no year, the most recent such day not after ``today``."""
    if year is not None:
        return _date(2000 + int(year) if len(year) == 2 else int(year), month, day)
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2000, month)[1]:  # 2000: a leap year
        raise InvalidWhen(NO_DATE)
    for back in range(9):  # a leap day recurs within 8 years
        y = today.year - back
        if day <= calendar.monthrange(y, month)[1] and date(y, month, day) <= today:
            return _date(y, month, day)
    raise InvalidWhen(NO_DATE)  # pragma: no cover - every valid day/month is found above


def _wall(naive: datetime, now: datetime) -> datetime:
    """A local wall time as a moment, with the zone's rules (see the module's docstring)."""
    zone = _rules(now)
    if zone is None:
        moment = naive.astimezone()
        back = moment.astimezone().replace(tzinfo=None)
    else:
        moment = naive.replace(tzinfo=zone)
        back = moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        raise InvalidWhen(SKIPPED)
    return moment


def _rules(now: datetime) -> tzinfo | None:
    """``now``'s zone, or None for the machine's local rules (see the module's docstring)."""
    tz = now.tzinfo
    if isinstance(tz, timezone):
        system = now.astimezone()
        if system.utcoffset() == now.utcoffset() and system.tzname() == now.tzname():
            return None
    return tz
