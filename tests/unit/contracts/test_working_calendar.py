"""Response targets counted on working days: weekends, public holidays and an agency's own
closures do not count; urgent targets stay on the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from crocevia_contracts.directory import AgencyEntry, Counting, ResponseTarget, WorkingCalendar

ROME = WorkingCalendar()  # Europe/Rome, Monday to Friday, Italian public holidays
WORKING = ResponseTarget(receive_within_hours=24, decide_within_hours=120, counting=Counting.WORKING_DAYS)
CLOCK = ResponseTarget(receive_within_hours=4, decide_within_hours=24)


def rome(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A wall-clock time in Rome, as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Europe/Rome")).astimezone(UTC)


def test_a_working_day_target_sent_on_a_friday_afternoon_is_due_on_monday():
    friday = rome(2026, 11, 27, 16, 0)
    assert WORKING.receive_by(friday, ROME) == rome(2026, 11, 30, 16, 0)
    assert WORKING.decide_by(friday, ROME) == rome(2026, 12, 4, 16, 0)  # five working days


def test_a_referral_sent_at_the_weekend_starts_counting_on_monday_morning():
    saturday = rome(2026, 11, 28, 10, 30)
    assert WORKING.receive_by(saturday, ROME) == rome(2026, 12, 1, 0, 0)


def test_public_holidays_do_not_count():
    # Christmas (Friday 25) and Santo Stefano (Saturday 26), then Sunday.
    christmas_eve = rome(2026, 12, 24, 11, 0)
    assert WORKING.receive_by(christmas_eve, ROME) == rome(2026, 12, 28, 11, 0)
    # Immacolata, Tuesday 8 December: Monday 7 + 1 working day lands on Wednesday.
    assert WORKING.receive_by(rome(2026, 12, 7, 9, 0), ROME) == rome(2026, 12, 9, 9, 0)


def test_an_agencys_own_closures_and_local_patron_day_do_not_count():
    closed = WorkingCalendar(closures=(date(2026, 11, 30),))
    assert WORKING.receive_by(rome(2026, 11, 27, 16, 0), closed) == rome(2026, 12, 1, 16, 0)
    milan = WorkingCalendar(holidays_subdivision="MI")  # Sant'Ambrogio, Monday 7 December
    assert WORKING.receive_by(rome(2026, 12, 4, 9, 0), milan) == rome(2026, 12, 9, 9, 0)


def test_a_working_day_is_24_wall_clock_hours_also_when_the_clocks_change():
    # Summer time ends in the night to Sunday 25 October 2026; Friday 23 + 1 working day.
    assert WORKING.receive_by(rome(2026, 10, 23, 9, 0), ROME) == rome(2026, 10, 26, 9, 0)


def test_clock_targets_count_every_hour():
    saturday = rome(2026, 11, 28, 10, 0)
    assert CLOCK.receive_by(saturday, ROME) == rome(2026, 11, 28, 14, 0)
    assert CLOCK.decide_by(saturday, ROME) == rome(2026, 11, 29, 10, 0)
    assert CLOCK.counting is Counting.CLOCK  # the default: entries written before stay as they were


def test_a_seven_day_agency_without_public_holidays_counts_like_the_clock():
    always = WorkingCalendar(weekdays=(1, 2, 3, 4, 5, 6, 7), holidays_country=None)
    start = rome(2026, 12, 24, 11, 0)
    assert WORKING.decide_by(start, always) == CLOCK.due(start, 120, always)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"timezone": "Mars/Base"}, "unknown time zone"),
        ({"weekdays": ()}, "at least one"),
        ({"weekdays": (0, 1)}, "ISO numbers"),
        ({"holidays_country": "XX"}, "no public holidays known"),
        ({"holidays_subdivision": "ZZ"}, "no public holidays known"),
    ],
)
def test_a_calendar_that_cannot_be_used_is_refused(fields, message):
    with pytest.raises(ValidationError, match=message):
        WorkingCalendar(**fields)


def test_an_entry_without_a_calendar_gets_the_italian_working_week():
    entry = AgencyEntry.model_validate({"organization": {"id": "cpia2", "name": "CPIA 2"}, "services": []})
    assert entry.working_calendar == WorkingCalendar(timezone="Europe/Rome", weekdays=(1, 2, 3, 4, 5))


def counted_hour_by_hour(calendar: WorkingCalendar, start: datetime, hours: int) -> datetime:
    """The definition, one wall-clock hour at a time: an hour counts when it starts on a
    working day (every target's hours are whole here, and so is the start)."""
    zone = ZoneInfo(calendar.timezone)
    cursor = start.astimezone(zone).replace(tzinfo=None)
    while hours:
        if calendar.is_working_day(cursor.date()):
            hours -= 1
        cursor += timedelta(hours=1)
    return cursor.replace(tzinfo=zone).astimezone(UTC)


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
        lambda moment: moment.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)
    ),
    hours=st.integers(min_value=1, max_value=400),
    closures=st.lists(st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 3, 1)), max_size=20),
)
def test_working_hours_add_up_as_counted_hour_by_hour(start: datetime, hours: int, closures: list[date]) -> None:
    calendar = WorkingCalendar(closures=tuple(closures))
    assert calendar.add_working_hours(start, hours) == counted_hour_by_hour(calendar, start, hours)
