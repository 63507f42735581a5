"""Business calendars for SLA clocks: which days are working days, the working hours of a
day, and arithmetic in business time ("4 working hours after receipt").

The procedure counts its deadlines in effective working hours (002), over weekends,
Chinese public holidays with their swapped working days, admin overrides and the time
zones and national public holidays of overseas teams (004). Everything here is pure computation so that timer
expressions can call it inside engine steps without touching the database.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import threading
from dataclasses import dataclass, replace
from typing import Iterable
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays as public_holidays

log = logging.getLogger("engine.calendars")

UTC = dt.timezone.utc
# "cn" is the State Council's calendar with its swapped working days; "weekends" knows no
# holidays; any other rule is a country ("de", "us", "sg") or a country and subdivision
# ("de-by") whose public holidays the `holidays` package keeps.
FIXED_HOLIDAY_RULES = ("cn", "weekends", "every_day")

_WARNED_YEARS: set[int] = set()
_WARN_LOCK = threading.Lock()


def _warn_once(year: int) -> None:
    with _WARN_LOCK:
        if year in _WARNED_YEARS:
            return
        _WARNED_YEARS.add(year)
    log.warning("no State Council holiday table for %d; counting its statutory public "
                "holidays off and no swapped working days (update chinesecalendar, or set "
                "that year's days in the calendar administration)", year)


def _country_of(rule: str) -> tuple[str, str | None]:
    country, _, subdivision = rule.partition("-")
    return country.upper(), (subdivision.upper() or None)


def is_holiday_rule(rule: object) -> bool:
    if not isinstance(rule, str):
        return False
    if rule in FIXED_HOLIDAY_RULES:
        return True
    if rule != rule.lower():
        return False
    country, subdivision = _country_of(rule)
    known = public_holidays.list_supported_countries()
    if country not in known:
        return False
    return subdivision is None or subdivision in known[country]


@functools.lru_cache(maxsize=256)
def _country_holidays(rule: str, year: int):
    country, subdivision = _country_of(rule)
    # Only public holidays: optional ones (bank holidays, school days) do not close an
    # office by law, and an admin closes them per calendar if the company does.
    return public_holidays.country_holidays(country, subdiv=subdivision, years=year)


def holiday_name(rule: str, day: dt.date) -> str | None:
    """The public holiday on `day` under a country rule, or None (also for "cn",
    "weekends" and "every_day", whose tables carry no names worth showing)."""
    if rule in FIXED_HOLIDAY_RULES:
        return None
    return _country_holidays(rule, day.year).get(day)


@functools.lru_cache(maxsize=16384)
def _base_working_day(holidays: str, day: dt.date) -> bool:
    """Working day by the calendar's rule alone, before the admin's overrides.

    Cached because chinese_calendar validates its whole table on every call, and an SLA
    computation asks about the same few weeks over and over.
    """
    if holidays == "cn":
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            # The package only knows the years the State Council has published; a
            # deadline must still be computable, so fall back rather than fail a step: the
            # statutory holidays by their rules (Spring Festival, National Day...) are
            # still days off, only the swapped working days stay unknown.
            _warn_once(day.year)
            if day in _country_holidays("cn", day.year):
                return False
    elif holidays == "every_day":
        # Shops open on weekends and holidays alike; only their hours limit them.
        return True
    elif holidays != "weekends" and day in _country_holidays(holidays, day.year):
        return False
    return day.weekday() < 5


@functools.lru_cache(maxsize=16384)
def _window(zone: dt.tzinfo, day: dt.date, start: dt.time, end: dt.time
            ) -> tuple[dt.datetime, dt.datetime]:
    """Opening and closing of `day` in UTC.

    Built from local wall times per day (not by adding hours to a UTC instant) so that the
    office opens at 09:00 local on both sides of a DST change.
    """
    return (dt.datetime.combine(day, start, tzinfo=zone).astimezone(UTC),
            dt.datetime.combine(day, end, tzinfo=zone).astimezone(UTC))


def _aware_utc(moment: dt.datetime, what: str) -> dt.datetime:
    if not isinstance(moment, dt.datetime):
        raise TypeError(f"{what} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive time would silently be read in the server's zone, which is exactly
        # the error overseas teams would never notice.
        raise ValueError(f"{what} must carry its time zone: {moment!r}")
    return moment.astimezone(UTC)


_ONE_DAY = dt.timedelta(days=1)
_ZERO = dt.timedelta(0)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days and hours of one team, in the team's own time zone.

    Working hours are the half-open interval [day_start, day_end) of each working day,
    except that a deadline may fall exactly on day_end: "due by closing time" should read
    18:00 today, not 09:00 tomorrow.
    """

    name: str
    zone: ZoneInfo
    day_start: dt.time = dt.time(9, 0)
    day_end: dt.time = dt.time(18, 0)
    holidays: str = "cn"
    closed_days: frozenset[dt.date] = frozenset()
    open_days: frozenset[dt.date] = frozenset()
    # A team that answers around the clock (001's 7x24 hotline): every day is a working
    # day of 24 hours, so its deadlines are clock hours; an admin may still close a day.
    around_the_clock: bool = False

    def __post_init__(self):
        if not is_holiday_rule(self.holidays):
            raise ValueError(f"holidays must be one of {FIXED_HOLIDAY_RULES} or a lower-case "
                             f"country code such as 'de' or 'us-ny', not {self.holidays!r}")
        if self.day_start.tzinfo is not None or self.day_end.tzinfo is not None:
            raise ValueError("day_start and day_end are local wall times without a zone")
        if not self.day_start < self.day_end:
            # Overnight shifts would make one working "day" span two dates; no team in
            # the procedure works them (the 7x24 hotline is `around_the_clock` instead).
            raise ValueError("day_start must be before day_end")
        # Callers pass lists or sets from the database; freeze them so the calendar stays
        # hashable and cannot change under a cached computation.
        object.__setattr__(self, "closed_days", frozenset(self.closed_days))
        object.__setattr__(self, "open_days", frozenset(self.open_days))

    def is_working_day(self, day: dt.date) -> bool:
        if isinstance(day, dt.datetime):
            day = day.date()
        if day in self.closed_days:
            return False
        if day in self.open_days or self.around_the_clock:
            return True
        return _base_working_day(self.holidays, day)

    def working_day_length(self) -> dt.timedelta:
        if self.around_the_clock:
            return dt.timedelta(hours=24)
        return (dt.datetime.combine(dt.date.min, self.day_end)
                - dt.datetime.combine(dt.date.min, self.day_start))

    def working_window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """Opening and closing of a working `day` in UTC."""
        return self._window(day)

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        if self.around_the_clock:
            # Midnight to the next midnight in local time: 23 or 25 hours on a DST change.
            return (_window(self.zone, day, dt.time(0), dt.time(0))[0],
                    _window(self.zone, day + _ONE_DAY, dt.time(0), dt.time(0))[0])
        return _window(self.zone, day, self.day_start, self.day_end)

    def _local_day(self, moment_utc: dt.datetime) -> dt.date:
        return moment_utc.astimezone(self.zone).date()

    def next_opening(self, moment: dt.datetime) -> dt.datetime:
        moment = _aware_utc(moment, "moment")
        day = self._local_day(moment)
        while True:
            if self.is_working_day(day):
                opening, closing = self._window(day)
                if moment < closing:
                    return max(moment, opening)
            day += _ONE_DAY

    def add(self, start: dt.datetime, duration: dt.timedelta | str) -> dt.datetime:
        cursor = _aware_utc(start, "start")
        if isinstance(duration, str):
            duration = parse_business_duration(duration, self)
        elif not isinstance(duration, dt.timedelta):
            raise TypeError(f"duration must be a timedelta or an ISO 8601 string, "
                            f"not {type(duration).__name__}")
        if duration < _ZERO:
            raise ValueError(f"business duration must not be negative: {duration}")
        if not duration:
            return self.next_opening(cursor)
        remaining = duration
        day = self._local_day(cursor)
        while True:
            if self.is_working_day(day):
                opening, closing = self._window(day)
                if cursor < closing:
                    cursor = max(cursor, opening)
                    available = closing - cursor
                    # `<=` so that a deadline ending at closing time stays today.
                    if remaining <= available:
                        return cursor + remaining
                    remaining -= available
            day += _ONE_DAY

    def elapsed(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        start = _aware_utc(start, "start")
        end = _aware_utc(end, "end")
        if end <= start:
            return _ZERO
        total = _ZERO
        day, last = self._local_day(start), self._local_day(end)
        while day <= last:
            if self.is_working_day(day):
                opening, closing = self._window(day)
                lo, hi = max(start, opening), min(end, closing)
                if lo < hi:
                    total += hi - lo
            day += _ONE_DAY
        return total


_NUMBER = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"P(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?",
    re.IGNORECASE | re.ASCII)


def _number(text: str | None) -> float:
    return float(text.replace(",", ".")) if text else 0.0


def parse_business_duration(value: str, calendar: BusinessCalendar) -> dt.timedelta:
    """Business time of an ISO 8601 duration: days are working days of `calendar`, each
    worth its working_day_length(); hours, minutes and seconds are business time."""
    if not isinstance(value, str):
        raise TypeError(f"duration must be a string, not {type(value).__name__}")
    text = value.strip()
    match = _DURATION.fullmatch(text)
    # The regex alone accepts "P" and "P1DT"; ISO requires at least one component and
    # at least one component after the T.
    if (match is None or not any(match.groups())
            or (text.upper().find("T") >= 0 and not any(match.groups()[4:]))):
        raise ValueError(f"not an ISO 8601 duration: {value!r}")
    years, months, weeks, days, hours, minutes, seconds = match.groups()
    if years or months:
        # A month of working days depends on which month; nobody writes an SLA that way.
        raise ValueError("months and years are not business durations")
    if weeks:
        # Whether a week means 5 or 7 working days is a guess we refuse to make.
        raise ValueError("weeks are not business durations; give working days, e.g. P5D")
    return (calendar.working_day_length() * _number(days)
            + dt.timedelta(hours=_number(hours), minutes=_number(minutes),
                           seconds=_number(seconds)))


CALENDARS: dict[str, BusinessCalendar] = {
    c.name: c for c in (
        BusinessCalendar("cn-standard", ZoneInfo("Asia/Shanghai"), holidays="cn"),
        # The overseas teams of 004 work in Germany, the eastern United States and
        # Singapore; their offices close on that country's public holidays.
        BusinessCalendar("eu-central", ZoneInfo("Europe/Berlin"), holidays="de"),
        BusinessCalendar("us-eastern", ZoneInfo("America/New_York"), holidays="us"),
        BusinessCalendar("sg-standard", ZoneInfo("Asia/Singapore"), holidays="sg"),
        BusinessCalendar("cn-24x7", ZoneInfo("Asia/Shanghai"), around_the_clock=True),
        # 001: the stores' customer-service counters receive complaints 09:00-21:00.
        BusinessCalendar("cn-store", ZoneInfo("Asia/Shanghai"), dt.time(9, 0), dt.time(21, 0),
                         holidays="every_day"),
    )
}
DEFAULT_CALENDAR = "cn-standard"
# Customer service answers the hotline 7x24 (001) and counts clock hours from receipt;
# departments count effective working hours (002). An admin may change either.
# The overseas support team (004) answers from New York by default. The social-media desk
# answers on working days 09:00-18:00 (001), which is the standard calendar; the store
# counters receive complaints during the stores' opening hours (001).
TEAM_CALENDARS = {"customer_service": "cn-24x7", "overseas_support": "us-eastern",
                  "social_media": "cn-standard", "store_counters": "cn-store"}


def default_calendar_of(team: str | None) -> str:
    return TEAM_CALENDARS.get(team or "", DEFAULT_CALENDAR)


def get_calendar(name: str, closed_days: Iterable[dt.date] = (),
                 open_days: Iterable[dt.date] = ()) -> BusinessCalendar:
    """A named calendar with the admin's extra closed and open days applied."""
    try:
        base = CALENDARS[name]
    except KeyError:
        raise KeyError(f"unknown business calendar {name!r}; known: "
                       f"{', '.join(sorted(CALENDARS))}") from None
    closed, opened = frozenset(closed_days), frozenset(open_days)
    if not closed and not opened:
        return base
    return replace(base, closed_days=base.closed_days | closed,
                   open_days=base.open_days | opened)
