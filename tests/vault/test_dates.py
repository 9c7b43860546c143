"""vault.dates: what people type for "when it happened", read into a moment and shown back.

Most tests read as of a fixed ``now`` in Europe/London (a ZoneInfo, so with its clock
changes); some set the machine's own zone to check that a fixed offset from
``datetime.astimezone()`` stands for the machine's rules.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.security._util import assert_one_sentence
from vault import audit, dates
from vault.dates import describe_when, local_day, local_moment, parse_when, read_when, to_utc_iso
from vault.errors import InvalidInput, InvalidWhen

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
# Monday 30 November 2026, 10:00 GMT.
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=LONDON)
REASONS = (dates.UNREADABLE, dates.NO_TIME, dates.NO_DATE, dates.NO_SUCH_TIME, dates.SKIPPED, dates.MIDNIGHT,
           dates.TOO_EARLY, dates.WRONG_WEEKDAY, dates.FUTURE, dates.TOO_LONG, dates.EMPTY)


def at(*args: int, tz: ZoneInfo = LONDON) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def refusal(text: str, now: datetime = NOW) -> InvalidWhen:
    with pytest.raises(InvalidWhen) as info:
        parse_when(text, now)
    return info.value


@pytest.fixture
def machine_zone() -> Iterator[object]:
    """Set the machine's local zone for one test (``set_zone("Europe/London")``)."""
    old = os.environ.get("TZ")

    def set_zone(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield set_zone
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


# --- what people type -------------------------------------------------------------------------


ACCEPTED = [
    ("now", NOW),
    ("today 09:30", at(2026, 11, 30, 9, 30)),
    ("today 2.30am", at(2026, 11, 30, 2, 30)),
    ("Today 9.05AM", at(2026, 11, 30, 9, 5)),
    ("yesterday 4pm", at(2026, 11, 29, 16, 0)),
    ("yesterday 16:05", at(2026, 11, 29, 16, 5)),
    ("yesterday at 4 p.m.", at(2026, 11, 29, 16, 0)),
    ("4pm yesterday", at(2026, 11, 29, 16, 0)),
    ("yesterday 2.30pm", at(2026, 11, 29, 14, 30)),
    ("yesterday 16:05:30", at(2026, 11, 29, 16, 5, 30)),
    ("yesterday noon", at(2026, 11, 29, 12, 0)),
    ("yesterday midday", at(2026, 11, 29, 12, 0)),
    ("09:30", at(2026, 11, 30, 9, 30)),
    ("9am", at(2026, 11, 30, 9, 0)),
    ("9.45", at(2026, 11, 30, 9, 45)),
    ("21/11 15:40", at(2026, 11, 21, 15, 40)),
    ("21/11/2026 15:40", at(2026, 11, 21, 15, 40)),
    ("21/11/26 15:40", at(2026, 11, 21, 15, 40)),
    ("21.11.2026 15:40", at(2026, 11, 21, 15, 40)),
    ("21-11-26 3.40pm", at(2026, 11, 21, 15, 40)),
    ("1/2 8am", at(2026, 2, 1, 8, 0)),  # day first: 1 February
    ("21 Nov 15:40", at(2026, 11, 21, 15, 40)),
    ("21st November 2025 at 15:40", at(2025, 11, 21, 15, 40)),
    ("on the 21st of nov at 3pm", at(2026, 11, 21, 15, 0)),
    ("Nov 21 2026 15:40", at(2026, 11, 21, 15, 40)),
    ("Sat 21 Nov 2026, 15:40", at(2026, 11, 21, 15, 40)),
    ("saturday 21/11 15:40", at(2026, 11, 21, 15, 40)),
    ("15:40 21/11", at(2026, 11, 21, 15, 40)),
    ("2026-11-21 4pm", at(2026, 11, 21, 16, 0)),
    ("sunday 4pm", at(2026, 11, 29, 16, 0)),
    ("monday 9am", at(2026, 11, 30, 9, 0)),  # today is a Monday
    ("tues 9am", at(2026, 11, 24, 9, 0)),
    # ISO 8601: no zone is local wall time; a zone is that moment.
    ("2026-11-21T15:40", at(2026, 11, 21, 15, 40)),
    ("2026-11-21 15:40", at(2026, 11, 21, 15, 40)),
    ("2026-11-21t15:40:59", at(2026, 11, 21, 15, 40, 59)),
    ("2026-11-21T15:40:00.5", at(2026, 11, 21, 15, 40, 0, 500000)),
    ("2026-11-21T15:40:00.123456Z", datetime(2026, 11, 21, 15, 40, 0, 123456, tzinfo=UTC)),
    ("2026-11-21T15:40Z", datetime(2026, 11, 21, 15, 40, tzinfo=UTC)),
    ("2026-11-21T15:40+01:00", datetime(2026, 11, 21, 14, 40, tzinfo=UTC)),
    ("2026-11-21T15:40+0100", datetime(2026, 11, 21, 14, 40, tzinfo=UTC)),
    ("2026-11-21T15:40-05:00", datetime(2026, 11, 21, 20, 40, tzinfo=UTC)),
    ("2026-07-21T15:40", datetime(2026, 7, 21, 14, 40, tzinfo=UTC)),  # summer: BST
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED, ids=[t for t, _ in ACCEPTED])
def test_what_people_type_is_read_as_the_moment_they_mean(text: str, expected: datetime) -> None:
    got = parse_when(text, NOW)
    assert got.tzinfo is not None
    assert got == expected
    assert got.utcoffset() == expected.utcoffset() or expected.tzinfo is UTC
    # Case and extra spaces do not matter.
    assert parse_when(f"  {text.upper()}  ".replace(" ", "   "), NOW) == expected


def test_twelve_am_is_the_start_of_the_day_and_twelve_pm_is_noon() -> None:
    assert parse_when("yesterday 12am", NOW) == at(2026, 11, 29, 0, 0)
    assert parse_when("yesterday 12.30am", NOW) == at(2026, 11, 29, 0, 30)
    assert parse_when("yesterday 12pm", NOW) == at(2026, 11, 29, 12, 0)
    assert parse_when("yesterday 12:59pm", NOW) == at(2026, 11, 29, 12, 59)
    assert parse_when("yesterday 1pm", NOW) == at(2026, 11, 29, 13, 0)
    assert parse_when("yesterday 11:59pm", NOW) == at(2026, 11, 29, 23, 59)
    for wrong in ("yesterday 0am", "yesterday 13pm", "yesterday 00:30pm", "yesterday 4:30:15pm"):
        assert refusal(wrong).reason == dates.NO_SUCH_TIME, wrong


def test_a_date_without_a_year_is_the_most_recent_one_not_after_today() -> None:
    assert parse_when("30/11 08:00", NOW) == at(2026, 11, 30, 8, 0)  # today
    assert parse_when("1/12 08:00", NOW) == at(2025, 12, 1, 8, 0)  # tomorrow's date: last year
    assert parse_when("31 dec 23:59", NOW) == at(2025, 12, 31, 23, 59)
    assert parse_when("1/1 00:00", NOW) == at(2026, 1, 1, 0, 0)
    # A leap day: the most recent one, however far back.
    assert parse_when("29/02 10:00", NOW) == at(2024, 2, 29, 10, 0)
    assert parse_when("29 feb 10:00", at(2028, 2, 29, 12, 0)) == at(2028, 2, 29, 10, 0)
    assert parse_when("29/02 10:00", at(2028, 2, 28, 12, 0)) == at(2024, 2, 29, 10, 0)
    assert parse_when("29/02/2024 10:00", NOW) == at(2024, 2, 29, 10, 0)
    # Later today is not "the most recent" date: it is refused as the future, not moved a year.
    assert refusal("30/11 15:00").reason == dates.FUTURE


def test_around_midnight_today_and_yesterday_follow_the_local_day() -> None:
    just_after = at(2027, 1, 1, 0, 2)
    assert parse_when("yesterday 23:59", just_after) == at(2026, 12, 31, 23, 59)
    assert parse_when("00:00", just_after) == at(2027, 1, 1, 0, 0)
    assert parse_when("today 12am", just_after) == at(2027, 1, 1, 0, 0)
    assert parse_when("31/12 23:30", just_after) == at(2026, 12, 31, 23, 30)
    assert refusal("23:59", just_after).reason == dates.FUTURE  # a time alone is today
    assert refusal("midnight", just_after).reason == dates.MIDNIGHT
    assert refusal("yesterday midnight", just_after).reason == dates.MIDNIGHT
    # The day is the local one: 00:30 BST on 1 July is still 30 June in UTC.
    summer = at(2026, 7, 1, 0, 30)
    assert summer.astimezone(UTC).day == 30
    assert parse_when("today 00:10", summer) == at(2026, 7, 1, 0, 10)
    assert parse_when("yesterday 23:00", summer) == at(2026, 6, 30, 23, 0)


def test_the_future_is_refused_beyond_a_few_minutes() -> None:
    slack = dates.FUTURE_SLACK
    assert slack == timedelta(minutes=5)
    assert parse_when("10:05", NOW) == NOW + slack  # a clock a little fast is not the future
    for text in ("10:06", "today 11pm", "2026-11-30T10:05:01", "2026-11-30T10:06Z", "1/12/2026 09:00",
                 "30/11/27 09:00", "2027-01-01T00:00+14:00"):
        assert refusal(text).reason == dates.FUTURE, text
    assert parse_when("2026-11-30T10:04:59Z", NOW) == datetime(2026, 11, 30, 10, 4, 59, tzinfo=UTC)


REFUSED = [
    ("31/02 10:00", dates.NO_DATE), ("30/02 10:00", dates.NO_DATE), ("31/04/2026 10:00", dates.NO_DATE),
    ("29/02/2025 10:00", dates.NO_DATE), ("0/11 10:00", dates.NO_DATE), ("21/13 10:00", dates.NO_DATE),
    ("31 feb 10:00", dates.NO_DATE), ("2026-02-30T10:00", dates.NO_DATE), ("2026-13-01T10:00", dates.NO_DATE),
    ("25:00", dates.NO_SUCH_TIME), ("yesterday 12:60", dates.NO_SUCH_TIME), ("2026-11-21T24:00", dates.NO_SUCH_TIME),
    ("21/11/2026", dates.NO_TIME), ("21 nov", dates.NO_TIME), ("yesterday", dates.NO_TIME), ("today", dates.NO_TIME),
    ("2026-11-21", dates.NO_TIME), ("saturday", dates.NO_TIME),
    ("1/1/1899 10:00", dates.TOO_EARLY), ("1066-10-14T10:00", dates.TOO_EARLY),
    ("mon 21/11/2026 15:40", dates.WRONG_WEEKDAY), ("friday yesterday 4pm", dates.WRONG_WEEKDAY),
    ("", dates.EMPTY), ("   \t\n ", dates.EMPTY),
    ("x" * 81, dates.TOO_LONG),
    ("last tuesday", dates.UNREADABLE), ("yesterday 16", dates.UNREADABLE), ("soon", dates.UNREADABLE),
    ("yesterday today 4pm", dates.UNREADABLE), ("4pm 5pm", dates.UNREADABLE), ("21 22 nov 4pm", dates.UNREADABLE),
    ("21 nov dec 4pm", dates.UNREADABLE), ("2026 4pm", dates.UNREADABLE), ("21/11 2026 4pm", dates.UNREADABLE),
    ("mon tue 4pm", dates.UNREADABLE), ("2026-11-21T15:40+25:00", dates.UNREADABLE),
    ("2026-11-21T15:40 +01:00", dates.UNREADABLE), ("4pm\x00", dates.UNREADABLE), ("\u202e4pm", dates.UNREADABLE),
    ("１０:３０", dates.UNREADABLE),  # full-width digits are not read as digits
]


@pytest.mark.parametrize(("text", "reason"), REFUSED, ids=[repr(t)[:30] for t, _ in REFUSED])
def test_what_cannot_be_read_is_refused_in_one_sentence_that_does_not_repeat_it(text: str, reason: str) -> None:
    exc = refusal(text)
    assert isinstance(exc, InvalidInput)
    assert exc.reason == reason
    assert_one_sentence(exc)
    assert str(exc).startswith("The date and time given ")
    if text.strip():
        assert text.strip() not in str(exc) and text.strip() not in exc.reason


def test_a_reason_reads_after_a_label_and_the_sentence_on_its_own() -> None:
    exc = refusal("tomorrow 4pm")
    assert exc.reason == "could not be read as a date and time: try “yesterday 4pm” or “21/11 15:40”."
    assert str(exc) == "The date and time given could not be read: try “yesterday 4pm” or “21/11 15:40”."
    assert str(refusal("today 11pm")) == "The date and time given is in the future: give when it happened."
    for reason in REASONS:
        assert reason[0].islower() and reason.endswith(".")


# --- clock changes ------------------------------------------------------------------------------


def test_a_time_the_clocks_skipped_is_refused_and_the_hours_around_it_get_their_offsets() -> None:
    now = at(2026, 4, 1, 12, 0)  # the clocks went forward at 01:00 GMT on Sunday 29 March 2026
    assert refusal("29/03 01:30", now).reason == dates.SKIPPED
    assert refusal("29/03/2026 01:00", now).reason == dates.SKIPPED
    assert parse_when("29/03 00:59", now).astimezone(UTC) == datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    assert parse_when("29/03 02:00", now).astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert parse_when("2026-03-29T01:30Z", now) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # UTC has no gap
    # Across the change, "yesterday" keeps the wall time: 4pm on Saturday is GMT, on Sunday BST.
    monday = at(2026, 3, 30, 9, 0)
    assert parse_when("yesterday 4pm", monday).astimezone(UTC) == datetime(2026, 3, 29, 15, 0, tzinfo=UTC)
    assert parse_when("sat 4pm", monday).astimezone(UTC) == datetime(2026, 3, 28, 16, 0, tzinfo=UTC)


def test_a_time_that_happened_twice_is_the_first_of_the_two() -> None:
    now = at(2026, 10, 26, 12, 0)  # the clocks went back at 02:00 BST on Sunday 25 October 2026
    first = parse_when("25/10 01:30", now)
    assert first.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert parse_when("25/10 00:59", now).astimezone(UTC) == datetime(2026, 10, 24, 23, 59, tzinfo=UTC)
    assert parse_when("25/10 02:00", now).astimezone(UTC) == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    assert describe_when(first, LONDON) == "Sun 25 Oct 2026, 01:30"


def test_another_zones_rules_are_used_when_now_is_in_it() -> None:
    now = datetime(2026, 11, 30, 9, 0, tzinfo=NEW_YORK)
    assert parse_when("yesterday 4pm", now).astimezone(UTC) == datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
    assert parse_when("4/7 4pm", now).astimezone(UTC) == datetime(2026, 7, 4, 20, 0, tzinfo=UTC)  # EDT
    assert refusal("8/3/2026 02:30", now).reason == dates.SKIPPED  # US spring forward


def test_the_machines_fixed_offset_stands_for_its_rules(machine_zone: object) -> None:
    machine_zone("Europe/London")  # type: ignore[operator]
    now = local_moment(NOW.timestamp())
    assert isinstance(now.tzinfo, timezone) and now.utcoffset() == timedelta(0)  # a fixed offset, as astimezone()
    assert now == NOW and datetime.now().astimezone().tzname() in ("GMT", "BST")
    # A summer day read in winter gets the summer's offset, as with a ZoneInfo.
    assert parse_when("21/07 15:40", now).astimezone(UTC) == datetime(2026, 7, 21, 14, 40, tzinfo=UTC)
    assert refusal("29/03 01:30", now).reason == dates.SKIPPED
    assert parse_when("25/10 01:30", now).astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert local_day(datetime(2026, 7, 20, 23, 30, tzinfo=UTC), now) == date(2026, 7, 21)
    assert describe_when(datetime(2026, 7, 21, 14, 40, tzinfo=UTC)) == "Tue 21 Jul 2026, 15:40"
    # Any other fixed offset is just that offset, all year.
    fixed = NOW.astimezone(timezone(timedelta(hours=5)))
    assert parse_when("21/07 15:40", fixed).astimezone(UTC) == datetime(2026, 7, 21, 10, 40, tzinfo=UTC)
    assert parse_when("21/07 15:40", NOW.astimezone(UTC)).astimezone(UTC) == datetime(2026, 7, 21, 15, 40,
                                                                                      tzinfo=UTC)


def test_a_naive_now_is_the_machines_local_time(machine_zone: object) -> None:
    machine_zone("Europe/London")  # type: ignore[operator]
    naive = datetime(2026, 7, 22, 9, 0)
    assert parse_when("yesterday 15:40", naive).astimezone(UTC) == datetime(2026, 7, 21, 14, 40, tzinfo=UTC)


# --- shown back and stored ----------------------------------------------------------------------


def test_describe_when_shows_local_time_as_people_read_it(machine_zone: object) -> None:
    assert describe_when(at(2026, 11, 21, 15, 40), LONDON) == "Sat 21 Nov 2026, 15:40"
    assert describe_when(at(2026, 7, 1, 9, 5), LONDON) == "Wed 1 Jul 2026, 09:05"
    assert describe_when(datetime(2026, 7, 1, 8, 5, tzinfo=UTC), LONDON) == "Wed 1 Jul 2026, 09:05"
    assert describe_when(datetime(2024, 2, 29, 23, 59), LONDON) == "Thu 29 Feb 2024, 23:59"  # naive: UTC
    machine_zone("America/New_York")  # type: ignore[operator]
    assert describe_when(datetime(2026, 11, 21, 15, 40, tzinfo=UTC)) == "Sat 21 Nov 2026, 10:40"


def test_to_utc_iso_is_the_form_the_vault_stores_times_in() -> None:
    moment = at(2026, 7, 21, 15, 40, 5, 123456)
    assert to_utc_iso(moment) == "2026-07-21T14:40:05.123456Z" == audit.iso(moment.timestamp())
    assert to_utc_iso(datetime(2026, 11, 21, 15, 40)) == "2026-11-21T15:40:00.000000Z"  # naive: UTC
    assert parse_when(to_utc_iso(moment), NOW) == moment.astimezone(UTC)


def test_read_when_says_whether_the_text_depends_on_the_day_it_was_typed() -> None:
    for text in ("now", "today 9am", "yesterday 4pm", "9am", "sunday 4pm", "yesterday noon"):
        assert read_when(text, NOW)[1], text
    for text in ("21/11 15:40", "21/11/2026 15:40", "21 nov 3pm", "2026-11-21T15:40", "sat 21 nov 2026 15:40"):
        assert not read_when(text, NOW)[1], text


def test_local_day_is_the_day_in_nows_zone() -> None:
    late = datetime(2026, 7, 20, 23, 30, tzinfo=UTC)
    assert local_day(late, NOW) == date(2026, 7, 21)
    assert local_day(late, NOW.astimezone(timezone(timedelta(hours=-5)))) == date(2026, 7, 20)
    assert local_day(datetime(2026, 7, 20, 23, 30), NOW) == date(2026, 7, 21)  # naive: UTC


# --- properties -----------------------------------------------------------------------------------

# Only times that happened: a wall time inside a spring-forward gap never did (it is refused).
MOMENTS = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2026, 11, 29),
                       timezones=st.sampled_from([LONDON, NEW_YORK, UTC, ZoneInfo("Australia/Lord_Howe")]),
                       allow_imaginary=False)


@settings(max_examples=300, deadline=None, database=None)
@given(moment=MOMENTS)
def test_what_describe_when_shows_reads_back_to_the_same_minute(moment: datetime) -> None:
    tz = LONDON
    local = moment.astimezone(tz)
    shown = describe_when(moment, tz)
    # The second of two wall times the clocks repeated reads as the first (documented).
    assume(local.replace(fold=0).utcoffset() == local.utcoffset())
    assert parse_when(shown, NOW).astimezone(UTC) == moment.astimezone(UTC).replace(second=0, microsecond=0)


@settings(max_examples=300, deadline=None, database=None)
@given(moment=MOMENTS)
def test_the_stored_form_reads_back_exactly(moment: datetime) -> None:
    assert parse_when(to_utc_iso(moment), NOW) == moment.astimezone(UTC)


VOCABULARY = ["now", "today", "yesterday", "noon", "midnight", "at", "on", "the", "of", "sat", "monday", "nov",
              "feb", "21", "29", "31", "2026", "1899", "0", "12", "4pm", "12am", "13pm", "16:05", "25:61", "9.30",
              "21/11", "31/02", "29/02", "21/11/26", "1.2.2026", "2026-11-21", "2026-11-21t15:40z", "+01:00",
              "z", "-", "/", ":", ".", "pm", "9999-12-31t23:59", "0001-01-01t00:00+14:00", "\x00", "\u200b", "é", "🙂"]


@settings(max_examples=600, deadline=None, database=None)
@given(text=st.one_of(st.text(max_size=90),
                      st.lists(st.sampled_from(VOCABULARY), max_size=6).map(" ".join),
                      st.lists(st.sampled_from(VOCABULARY), max_size=4).map("".join)),
       now=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1),
                        timezones=st.sampled_from([LONDON, NEW_YORK, UTC])))
def test_any_text_is_a_moment_not_after_now_or_one_known_sentence(text: str, now: datetime) -> None:
    try:
        got = parse_when(text, now)
    except InvalidWhen as exc:
        assert exc.reason in REASONS  # so never anything that was typed
        assert_one_sentence(exc)
    else:
        assert got.tzinfo is not None and got.utcoffset() is not None
        assert got - now <= dates.FUTURE_SLACK
        assert got.year >= dates.EARLIEST_YEAR
