"""Missed response targets in the indicators count by the contracts' one rule
(``AgencyEntry.target_for``): the priority's target, else the routine one; from when the
referral was requested; on the receiving agency's calendar. The table of cases every
service runs (``tests/kit/due_cases.py``) is run here on the indicators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crocevia_audit.domain.indicators import TargetOf, TrailEvent, indicators
from tests.kit.due_cases import DUE_CASES, WORKING_DAYS, DueCase
from tests.unit.audit.directory import targets_of

SECOND = timedelta(seconds=1)
NOTHING_MISSED = {"receive": 0, "accept_or_reject": 0, "without_target": 0}


def rome(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=ZoneInfo("Europe/Rome")).astimezone(UTC)


def story(*steps: tuple[str, datetime], priority: str = "routine") -> list[TrailEvent]:
    return [
        TrailEvent("ref-1", name, "pioltello-casa", "cpia2", "main-service", "education", priority, at)
        for name, at in steps
    ]


def missed(targets: TargetOf, events: list[TrailEvent], as_of: datetime) -> dict[str, int]:
    [row] = indicators(events, dimensions=[], targets=targets, as_of=as_of)
    missed: dict[str, int] = row["targets_missed"]
    return missed


def answered(case: DueCase, lateness: timedelta) -> list[TrailEvent]:
    """The case's referral, received and accepted ``lateness`` after each target (before, if negative)."""
    assert case.receive_by is not None and case.decide_by is not None
    return story(
        ("requested", case.requested_at),
        ("received", case.receive_by + lateness),
        ("accepted", case.decide_by + lateness),
        priority=case.priority,
    )


TIMED = [case for case in DUE_CASES if case.receive_by is not None]
UNTIMED = [case for case in DUE_CASES if case.receive_by is None]


@pytest.mark.parametrize("case", TIMED, ids=str)
def test_a_step_one_second_before_its_target_is_on_time(case: DueCase) -> None:
    assert missed(targets_of(case.entry()), answered(case, -SECOND), as_of=rome(12, 31, 0)) == NOTHING_MISSED


@pytest.mark.parametrize("case", TIMED, ids=str)
def test_a_step_at_its_target_is_on_time(case: DueCase) -> None:
    assert missed(targets_of(case.entry()), answered(case, timedelta(0)), as_of=rome(12, 31, 0)) == NOTHING_MISSED


@pytest.mark.parametrize("case", TIMED, ids=str)
def test_a_step_one_second_after_its_target_is_missed(case: DueCase) -> None:
    found = missed(targets_of(case.entry()), answered(case, SECOND), as_of=rome(12, 31, 0))
    assert found == {"receive": 1, "accept_or_reject": 1, "without_target": 0}


@pytest.mark.parametrize("case", TIMED, ids=str)
def test_a_referral_still_waiting_is_missed_only_once_its_target_has_passed(case: DueCase) -> None:
    assert case.receive_by is not None and case.decide_by is not None
    waiting = story(("requested", case.requested_at), priority=case.priority)
    targets = targets_of(case.entry())
    assert missed(targets, waiting, as_of=case.receive_by) == NOTHING_MISSED
    assert missed(targets, waiting, as_of=case.receive_by + SECOND)["receive"] == 1
    assert missed(targets, waiting, as_of=case.decide_by)["accept_or_reject"] == 0
    assert missed(targets, waiting, as_of=case.decide_by + SECOND)["accept_or_reject"] == 1


@pytest.mark.parametrize("case", UNTIMED, ids=str)
def test_a_service_without_targets_is_counted_without_target(case: DueCase) -> None:
    events = story(("requested", case.requested_at), ("received", case.requested_at + 1000 * SECOND))
    assert missed(targets_of(case.entry()), events, as_of=rome(12, 31, 0)) == {
        "receive": 0,
        "accept_or_reject": 0,
        "without_target": 1,
    }


def test_an_urgent_referral_to_a_service_without_an_urgent_target_counts_by_its_routine_one() -> None:
    routine_only = DueCase("routine only", "urgent", WORKING_DAYS, rome(11, 27, 15), None, None).entry()
    # Friday 15:00, received Monday 15:00: one working day, the routine target, met.
    events = story(("requested", rome(11, 27, 15)), ("received", rome(11, 30, 15)), priority="urgent")
    assert missed(targets_of(routine_only), events, as_of=rome(11, 30, 16))["without_target"] == 0
    assert missed(targets_of(routine_only), events, as_of=rome(11, 30, 16))["receive"] == 0


def test_an_agency_missing_from_the_directory_is_counted_without_target() -> None:
    events = story(("requested", rome(11, 27, 15)))
    assert missed(targets_of(), events, as_of=rome(12, 31, 0))["without_target"] == 1
