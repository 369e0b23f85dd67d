"""Missed response targets in the indicators: a target counted on working days is not missed
over a weekend; the same hours on the clock are."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from crocevia_audit.domain.indicators import Target, TrailEvent, indicators
from crocevia_contracts.directory import Counting, ResponseTarget, WorkingCalendar

KEY = ("cpia2", "main-service", "routine")


def rome(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=ZoneInfo("Europe/Rome")).astimezone(UTC)


def story(*steps: tuple[str, datetime]) -> list[TrailEvent]:
    return [
        TrailEvent("ref-1", name, "pioltello-casa", "cpia2", "main-service", "education", "routine", at)
        for name, at in steps
    ]


def missed(target: ResponseTarget, events: list[TrailEvent], as_of: datetime) -> dict[str, int]:
    [row] = indicators(events, dimensions=[], targets={KEY: Target(target, WorkingCalendar())}, as_of=as_of)
    return row["targets_missed"]


# Sent on Friday 27 November at 16:00, received on Monday at 10:00, accepted the Friday after at 12:00.
FRIDAY_TO_MONDAY = story(("requested", rome(11, 27, 16)), ("received", rome(11, 30, 10)), ("accepted", rome(12, 4, 12)))


def test_received_on_monday_meets_one_working_day_but_not_24_clock_hours():
    working = ResponseTarget(receive_within_hours=24, decide_within_hours=120, counting=Counting.WORKING_DAYS)
    clock = ResponseTarget(receive_within_hours=24, decide_within_hours=120)
    as_of = rome(12, 10, 0)
    assert missed(working, FRIDAY_TO_MONDAY, as_of) == {"receive": 0, "accept_or_reject": 0, "without_target": 0}
    # on the clock, five days from Friday 16:00 end on Wednesday: Friday's acceptance is late too
    assert missed(clock, FRIDAY_TO_MONDAY, as_of) == {"receive": 1, "accept_or_reject": 1, "without_target": 0}


def test_a_decision_after_the_fifth_working_day_is_missed():
    working = ResponseTarget(receive_within_hours=24, decide_within_hours=96, counting=Counting.WORKING_DAYS)
    # four working days from Friday 16:00 end on Thursday 16:00; accepted Friday at 12:00
    assert missed(working, FRIDAY_TO_MONDAY, rome(12, 10, 0))["accept_or_reject"] == 1


def test_a_referral_still_waiting_is_missed_only_once_its_working_days_are_over():
    working = ResponseTarget(receive_within_hours=24, decide_within_hours=120, counting=Counting.WORKING_DAYS)
    waiting = FRIDAY_TO_MONDAY[:1]
    assert missed(working, waiting, rome(11, 30, 15))["receive"] == 0  # Monday 15:00: not yet
    assert missed(working, waiting, rome(11, 30, 17))["receive"] == 1  # Monday 17:00: missed
