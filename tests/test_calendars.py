"""Business calendars: working days (Chinese public holidays and swapped working days,
weekends, German, American and Singaporean public holidays, admin overrides), business-time arithmetic across nights, weekends, holidays,
time zones and DST changes, and properties tying add() and elapsed() together.

The 2026 dates come from chinese_calendar's tables: National Day 10-01..10-07 with
Sunday 09-20 and Saturday 10-10 as swapped working days; Mid-Autumn 09-25..09-27.
"""
from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import calendars
from engine.calendars import (CALENDARS, DEFAULT_CALENDAR, BusinessCalendar, get_calendar,
                              parse_business_duration)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.timezone.utc

CN = get_calendar("cn-standard")
EU = get_calendar("eu-central")
US = get_calendar("us-eastern")
H = dt.timedelta(hours=1)


def sh(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def at(calendar: BusinessCalendar, value: dt.datetime) -> dt.datetime:
    """The result in the calendar's local time, for readable assertions."""
    assert value.utcoffset() == dt.timedelta(0), "results are returned in UTC"
    return value.astimezone(calendar.zone)


# --- the calendar set --------------------------------------------------------------------

def test_the_named_calendars():
    assert DEFAULT_CALENDAR == "cn-standard"
    expected = {"cn-standard": ("Asia/Shanghai", "cn"), "eu-central": ("Europe/Berlin", "de"),
                "us-eastern": ("America/New_York", "us"),
                "sg-standard": ("Asia/Singapore", "sg")}
    for name, (zone, holidays) in expected.items():
        cal = CALENDARS[name]
        assert (cal.name, cal.zone.key, cal.holidays) == (name, zone, holidays)
        assert (cal.day_start, cal.day_end) == (dt.time(9), dt.time(18))
        assert cal.working_day_length() == 9 * H


def test_the_around_the_clock_calendar_counts_clock_hours():
    hotline = CALENDARS["cn-24x7"]
    saturday_evening = sh(2026, 11, 28, 20)
    assert hotline.add(saturday_evening, H) == sh(2026, 11, 28, 21)
    assert hotline.add(saturday_evening, "P1D") == sh(2026, 11, 29, 20)
    assert hotline.elapsed(saturday_evening, sh(2026, 11, 30, 20)) == 48 * H
    # A national holiday is still a working day of the hotline...
    assert hotline.is_working_day(dt.date(2026, 10, 1))
    # ...unless an admin closes it.
    closed = get_calendar("cn-24x7", closed_days=[dt.date(2026, 11, 29)])
    assert closed.add(saturday_evening, 5 * H) == sh(2026, 11, 30, 1)


def test_unknown_calendar_names_the_known_ones():
    with pytest.raises(KeyError, match="unknown business calendar 'mars'.*cn-standard"):
        get_calendar("mars")


def test_calendar_rejects_a_bad_rule_or_hours():
    with pytest.raises(ValueError):
        BusinessCalendar("x", SHANGHAI, holidays="lunar")
    with pytest.raises(ValueError):
        BusinessCalendar("x", SHANGHAI, holidays="DE")
    with pytest.raises(ValueError):
        BusinessCalendar("x", BERLIN, holidays="de-zz")
    with pytest.raises(ValueError):
        BusinessCalendar("x", SHANGHAI, day_start=dt.time(18), day_end=dt.time(9))


# --- working days ------------------------------------------------------------------------

def test_chinese_holidays_and_swapped_working_days_2026():
    for day in range(1, 8):  # National Day week
        assert not CN.is_working_day(dt.date(2026, 10, day))
    assert CN.is_working_day(dt.date(2026, 9, 30))
    assert CN.is_working_day(dt.date(2026, 10, 8))
    # Swapped working days: a Sunday and a Saturday around National Day.
    assert dt.date(2026, 9, 20).weekday() == 6 and CN.is_working_day(dt.date(2026, 9, 20))
    assert dt.date(2026, 10, 10).weekday() == 5 and CN.is_working_day(dt.date(2026, 10, 10))
    assert not CN.is_working_day(dt.date(2026, 10, 11))
    # The overseas calendars know none of this.
    assert not EU.is_working_day(dt.date(2026, 10, 10))
    assert EU.is_working_day(dt.date(2026, 10, 1))
    assert get_calendar("sg-standard").is_working_day(dt.date(2026, 10, 1))


SG = get_calendar("sg-standard")
SINGAPORE = ZoneInfo("Asia/Singapore")


def test_german_christmas_closes_eu_central():
    assert EU.is_working_day(dt.date(2026, 12, 24))  # Christmas Eve is not a public holiday
    assert not EU.is_working_day(dt.date(2026, 12, 25))  # Friday, Christmas Day
    assert not EU.is_working_day(dt.date(2026, 12, 26))  # Second Day of Christmas
    assert not EU.is_working_day(dt.date(2026, 10, 3))  # German Unity Day
    assert calendars.holiday_name("de", dt.date(2026, 12, 26)) == "Second Day of Christmas"
    # Thursday 17:00 before Christmas + 2 working hours: Friday and the weekend are closed.
    due = EU.add(dt.datetime(2026, 12, 24, 17, tzinfo=BERLIN), "PT2H")
    assert at(EU, due) == dt.datetime(2026, 12, 28, 10, tzinfo=BERLIN)
    # In 2027 the 26th is a Sunday and Christmas a Saturday; the rule follows the year.
    assert not EU.is_working_day(dt.date(2027, 12, 25))
    assert EU.is_working_day(dt.date(2027, 12, 27))


def test_american_holidays_close_us_eastern():
    assert not US.is_working_day(dt.date(2026, 7, 4))
    assert not US.is_working_day(dt.date(2026, 7, 3))  # the observed Friday
    assert not US.is_working_day(dt.date(2026, 11, 26))  # Thanksgiving, fourth Thursday
    assert US.is_working_day(dt.date(2026, 11, 27))
    assert not US.is_working_day(dt.date(2027, 7, 5))  # 2027's observed Monday
    assert not US.is_working_day(dt.date(2027, 11, 25))
    # Wednesday 17:00 before Thanksgiving + 3 working hours lands on Friday 11:00.
    due = US.add(dt.datetime(2026, 11, 25, 17, tzinfo=NEW_YORK), "PT3H")
    assert at(US, due) == dt.datetime(2026, 11, 27, 11, tzinfo=NEW_YORK)
    # Thursday 2 July 17:00 + 1 working day: Friday (observed) and the weekend are closed.
    due = US.add(dt.datetime(2026, 7, 2, 17, tzinfo=NEW_YORK), "P1D")
    assert at(US, due) == dt.datetime(2026, 7, 6, 17, tzinfo=NEW_YORK)
    assert US.elapsed(dt.datetime(2026, 11, 25, 9, tzinfo=NEW_YORK),
                      dt.datetime(2026, 11, 27, 18, tzinfo=NEW_YORK)) == 18 * H


def test_singapore_national_day_closes_sg_standard():
    assert not SG.is_working_day(dt.date(2027, 8, 9))  # a Monday
    # In 2026 the 9th is a Sunday, so Monday the 10th is the holiday in lieu.
    assert not SG.is_working_day(dt.date(2026, 8, 10))
    assert SG.is_working_day(dt.date(2026, 8, 11))
    due = SG.add(dt.datetime(2026, 8, 7, 17, tzinfo=SINGAPORE), "PT4H")
    assert at(SG, due) == dt.datetime(2026, 8, 11, 12, tzinfo=SINGAPORE)


def test_a_subdivision_adds_its_own_holidays():
    bavaria = BusinessCalendar("by", BERLIN, holidays="de-by")
    assert not bavaria.is_working_day(dt.date(2026, 1, 6))  # Epiphany, Bavaria only
    assert EU.is_working_day(dt.date(2026, 1, 6))


def test_admin_closed_and_open_days():
    closed = get_calendar("cn-standard", closed_days=[dt.date(2026, 11, 26)])
    assert not closed.is_working_day(dt.date(2026, 11, 26))
    assert at(CN, closed.add(sh(2026, 11, 25, 17), "PT2H")) == sh(2026, 11, 27, 10)

    opened = get_calendar("cn-standard", open_days={dt.date(2026, 11, 28)})  # a Saturday
    assert opened.is_working_day(dt.date(2026, 11, 28))
    assert at(CN, opened.add(sh(2026, 11, 27, 17), "PT2H")) == sh(2026, 11, 28, 10)
    # An open day can even reopen a public holiday.
    assert get_calendar("cn-standard", open_days=[dt.date(2026, 10, 2)]).is_working_day(
        dt.date(2026, 10, 2))

    both = get_calendar("cn-standard", closed_days=[dt.date(2026, 11, 28)],
                        open_days=[dt.date(2026, 11, 28)])
    assert not both.is_working_day(dt.date(2026, 11, 28)), "closed days override everything"
    # The shared named calendar is not changed by overrides.
    assert CN.is_working_day(dt.date(2026, 11, 26)) and not CN.closed_days


def test_year_beyond_chinese_data_keeps_the_statutory_holidays_off(monkeypatch, caplog):
    monkeypatch.setattr(calendars, "_WARNED_YEARS", set())
    calendars._base_working_day.cache_clear()
    with caplog.at_level(logging.WARNING, logger="engine.calendars"):
        assert CN.is_working_day(dt.date(2027, 3, 10))  # a Wednesday
        assert not CN.is_working_day(dt.date(2027, 2, 13))  # a Saturday
        # The Spring Festival by its rule: New Year's Eve (Friday 5 February) to the
        # Wednesday after; a deadline set on the Thursday before runs past it.
        assert not CN.is_working_day(dt.date(2027, 2, 8))
        assert at(CN, CN.add(sh(2027, 2, 4, 17), "PT2H")) == sh(2027, 2, 11, 10)
        assert not CN.is_working_day(dt.date(2027, 10, 1))  # National Day
        assert CN.elapsed(sh(2027, 3, 8, 9), sh(2027, 3, 12, 18)) == 45 * H
    warnings = [r for r in caplog.records if r.name == "engine.calendars"]
    assert len(warnings) == 1, "one warning per year, not per date"
    assert "2027" in warnings[0].getMessage()


# --- add ---------------------------------------------------------------------------------

def test_inside_hours():
    assert at(CN, CN.add(sh(2026, 11, 25, 10), "PT4H")) == sh(2026, 11, 25, 14)
    assert at(CN, CN.add(sh(2026, 11, 25, 10), 4 * H)) == sh(2026, 11, 25, 14)


def test_after_hours_counts_from_next_opening():
    assert at(CN, CN.add(sh(2026, 11, 25, 18, 30), "PT1H")) == sh(2026, 11, 26, 10)


def test_before_opening_counts_from_opening():
    assert at(CN, CN.add(sh(2026, 11, 25, 7), "PT1H")) == sh(2026, 11, 25, 10)


def test_weekend_rolls_to_monday():
    assert at(CN, CN.add(sh(2026, 11, 28, 11), "PT1H")) == sh(2026, 11, 30, 10)


def test_overnight_carry():
    assert at(CN, CN.add(sh(2026, 11, 25, 16), "PT4H")) == sh(2026, 11, 26, 11)


def test_landing_on_closing_time_stays_there():
    assert at(CN, CN.add(sh(2026, 11, 25, 17), "PT1H")) == sh(2026, 11, 25, 18)
    assert at(CN, CN.add(sh(2026, 11, 25, 9), "P1D")) == sh(2026, 11, 25, 18)


def test_adding_zero():
    inside = sh(2026, 11, 25, 10, 15)
    assert CN.add(inside, dt.timedelta(0)) == inside
    assert CN.add(inside, "PT0M").tzinfo == UTC
    assert at(CN, CN.add(sh(2026, 11, 25, 18), dt.timedelta(0))) == sh(2026, 11, 26, 9)
    assert at(CN, CN.add(sh(2026, 11, 28, 11), dt.timedelta(0))) == sh(2026, 11, 30, 9)


def test_day_before_national_day():
    assert at(CN, CN.add(sh(2026, 9, 30, 17), "PT2H")) == sh(2026, 10, 8, 10)


def test_swapped_working_saturday_counts():
    # Friday 2026-10-09 17:00 + 2 h: one hour Friday, one on the working Saturday.
    assert at(CN, CN.add(sh(2026, 10, 9, 17), "PT2H")) == sh(2026, 10, 10, 10)
    # The swapped Sunday before Mid-Autumn works too.
    assert at(CN, CN.add(sh(2026, 9, 19, 12), "PT1H")) == sh(2026, 9, 20, 10)


def test_working_days_keep_the_local_time():
    # Wed + 3 working days: Thu, Fri, Mon.
    assert at(CN, CN.add(sh(2026, 11, 25, 10), "P3D")) == sh(2026, 11, 30, 10)
    # Across National Day: Wed 09-30, then Thu 10-08, Fri 10-09, Sat 10-10 (swapped).
    assert at(CN, CN.add(sh(2026, 9, 30, 11), "P3D")) == sh(2026, 10, 10, 11)
    assert at(CN, CN.add(sh(2026, 11, 25, 10), "P1DT4H")) == sh(2026, 11, 26, 14)


def test_naive_start_is_rejected():
    with pytest.raises(ValueError, match="time zone"):
        CN.add(dt.datetime(2026, 11, 25, 10), H)
    with pytest.raises(ValueError):
        CN.elapsed(dt.datetime(2026, 11, 25, 10), sh(2026, 11, 25, 11))
    with pytest.raises(ValueError):
        CN.next_opening(dt.datetime(2026, 11, 25, 10))


def test_negative_duration_is_rejected():
    with pytest.raises(ValueError):
        CN.add(sh(2026, 11, 25, 10), -H)


def test_results_are_utc():
    due = CN.add(sh(2026, 11, 25, 10), "PT4H")
    assert due.tzinfo == UTC and due == dt.datetime(2026, 11, 25, 6, tzinfo=UTC)


# --- other time zones --------------------------------------------------------------------

def test_us_eastern_with_a_start_given_in_shanghai_time():
    # 22:00 in Shanghai is 09:00 in New York (EST, UTC-5) the same day.
    start = sh(2026, 11, 24, 22)
    assert at(US, US.add(start, "PT1H")) == dt.datetime(2026, 11, 24, 10, tzinfo=NEW_YORK)
    assert US.add(start, "PT1H") == dt.datetime(2026, 11, 24, 15, tzinfo=UTC)
    # 09:00 in Shanghai is 20:00 the previous evening in New York: after hours there.
    assert at(US, US.add(sh(2026, 11, 25, 9), "PT1H")) == \
        dt.datetime(2026, 11, 25, 10, tzinfo=NEW_YORK)


def test_friday_afternoon_in_new_york_rolls_to_monday():
    friday = dt.datetime(2026, 11, 27, 16, tzinfo=NEW_YORK)
    assert at(US, US.add(friday, "PT4H")) == dt.datetime(2026, 11, 30, 11, tzinfo=NEW_YORK)
    # Saturday in Shanghai is still Friday afternoon in New York.
    assert US.add(sh(2026, 11, 28, 5), "PT4H") == US.add(friday, "PT4H")


def test_berlin_dst_change_week():
    # Summer time ends on Sunday 2026-10-25: the office still opens at 09:00 local, which
    # is 07:00 UTC on Friday and 08:00 UTC on Monday.
    friday = dt.datetime(2026, 10, 23, 17, tzinfo=BERLIN)
    due = EU.add(friday, "PT2H")
    assert at(EU, due) == dt.datetime(2026, 10, 26, 10, tzinfo=BERLIN)
    assert due == dt.datetime(2026, 10, 26, 9, tzinfo=UTC)
    assert EU.elapsed(friday, due) == 2 * H
    assert EU.elapsed(dt.datetime(2026, 10, 19, 9, tzinfo=BERLIN),
                      dt.datetime(2026, 10, 30, 18, tzinfo=BERLIN)) == 10 * 9 * H
    assert EU.next_opening(dt.datetime(2026, 10, 25, 12, tzinfo=UTC)) == \
        dt.datetime(2026, 10, 26, 8, tzinfo=UTC)
    # And the spring change (2026-03-29).
    assert EU.add(dt.datetime(2026, 3, 27, 17, tzinfo=BERLIN), "PT2H") == \
        dt.datetime(2026, 3, 30, 8, tzinfo=UTC)


# --- elapsed and next_opening --------------------------------------------------------------

def test_elapsed_across_national_day():
    # Wed 09-30, Thu 10-08, Fri 10-09: three full working days.
    assert CN.elapsed(sh(2026, 9, 30, 9), sh(2026, 10, 9, 18)) == 27 * H


def test_elapsed_basics():
    assert CN.elapsed(sh(2026, 11, 25, 10), sh(2026, 11, 25, 9)) == dt.timedelta(0)
    assert CN.elapsed(sh(2026, 11, 25, 10), sh(2026, 11, 25, 10)) == dt.timedelta(0)
    assert CN.elapsed(sh(2026, 11, 25, 17), sh(2026, 11, 26, 10)) == 2 * H
    assert CN.elapsed(sh(2026, 11, 28, 0), sh(2026, 11, 29, 23)) == dt.timedelta(0)


def test_next_opening():
    inside = sh(2026, 11, 25, 12, 34)
    assert CN.next_opening(inside) == inside and CN.next_opening(inside).tzinfo == UTC
    assert at(CN, CN.next_opening(sh(2026, 11, 25, 18))) == sh(2026, 11, 26, 9)
    assert at(CN, CN.next_opening(sh(2026, 9, 30, 20))) == sh(2026, 10, 8, 9)


# --- durations ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("PT4H", 4 * H), ("PT30M", dt.timedelta(minutes=30)), ("P3D", 27 * H),
    ("P1DT4H", 13 * H), ("pt1h30m", 1.5 * H), ("PT90S", dt.timedelta(seconds=90)),
    ("P0.5D", 4.5 * H), ("PT0M", dt.timedelta(0)),
])
def test_parse_business_duration(text, expected):
    assert parse_business_duration(text, CN) == expected


def test_a_day_is_the_calendar_working_day():
    short = BusinessCalendar("short", SHANGHAI, day_start=dt.time(9), day_end=dt.time(17))
    assert parse_business_duration("P2D", short) == 16 * H


@pytest.mark.parametrize("text", ["P1M", "P1Y", "P1Y2M3D", "P2M"])
def test_months_and_years_are_rejected(text):
    with pytest.raises(ValueError, match="months and years are not business durations"):
        parse_business_duration(text, CN)


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "4h", "PT1M1H", "P-1D", "1D", "P1W"])
def test_malformed_durations_are_rejected(text):
    with pytest.raises(ValueError):
        parse_business_duration(text, CN)


# --- properties --------------------------------------------------------------------------

offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)))
starts = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 31),
                      timezones=offsets)
durations = st.integers(min_value=0, max_value=200 * 60).map(lambda m: dt.timedelta(minutes=m))
closed_or_open = st.frozensets(st.dates(dt.date(2026, 1, 1), dt.date(2027, 1, 31)), max_size=5)
calendar_choice = st.builds(
    lambda name, closed, opened: get_calendar(name, closed, opened),
    st.sampled_from(sorted(CALENDARS)), closed_or_open, closed_or_open)


def inside_or_at_closing(calendar: BusinessCalendar, moment: dt.datetime) -> bool:
    local = moment.astimezone(calendar.zone)
    if calendar.around_the_clock:
        return calendar.is_working_day(local.date())
    return (calendar.is_working_day(local.date())
            and calendar.day_start <= local.time().replace(fold=0) <= calendar.day_end)


@settings(max_examples=300)
@given(calendar_choice, starts, durations)
def test_elapsed_inverts_add(calendar, start, duration):
    due = calendar.add(start, duration)
    assert calendar.elapsed(start, due) == duration
    assert inside_or_at_closing(calendar, due)
    assert due >= start


@settings(max_examples=200)
@given(calendar_choice, starts, durations, durations)
def test_add_is_monotonic(calendar, start, d1, d2):
    d1, d2 = sorted((d1, d2))
    assert calendar.add(start, d1) <= calendar.add(start, d2)


@settings(max_examples=200)
@given(calendar_choice, starts, starts, starts)
def test_elapsed_is_additive(calendar, a, b, c):
    a, b, c = sorted((a, b, c))
    assert calendar.elapsed(a, b) + calendar.elapsed(b, c) == calendar.elapsed(a, c)


@settings(max_examples=100)
@given(calendar_choice, starts)
def test_next_opening_is_add_zero(calendar, start):
    opening = calendar.next_opening(start)
    assert opening == calendar.add(start, dt.timedelta(0)) >= start
    assert calendar.elapsed(start, opening) == dt.timedelta(0)
    assert inside_or_at_closing(calendar, opening)


# --- work done ---------------------------------------------------------------------------

def test_business_time_looks_at_each_calendar_day_once_not_hour_by_hour(monkeypatch):
    # What a deadline or an SLA figure costs grows with the days it spans: each day is
    # asked whether it is a working day once. (Speed itself is bench/ material.)
    asked = []
    real = calendars._base_working_day
    monkeypatch.setattr(calendars, "_base_working_day",
                        lambda holidays, day: asked.append(day) or real(holidays, day))
    start = sh(2026, 11, 25, 10)  # a Wednesday
    # Nine-hour days: 8 hours on Wednesday, 36 on Thursday to Tuesday, 4 on Wednesday.
    assert CN.add(start, dt.timedelta(hours=48)) == sh(2026, 12, 2, 13)
    assert asked == [dt.date(2026, 11, 25) + dt.timedelta(days=n) for n in range(8)]
    asked.clear()
    CN.elapsed(start, start + dt.timedelta(days=31))
    assert asked == [dt.date(2026, 11, 25) + dt.timedelta(days=n) for n in range(32)]
