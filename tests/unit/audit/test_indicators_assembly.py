"""Assembling the indicators from a stream of trail events, as ``GET /indicators`` does: one
referral at a time, in the cohort of the month it was requested, each held to the target
the directory states for its receiver, service and priority."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta

from crocevia_audit.domain.indicators import Summary, TrailEvent, indicators
from crocevia_audit.handlers.indicators import compute
from tests.unit.audit.directory import ROUTINE, entry, targets_of

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
AS_OF = datetime(2026, 4, 10, tzinfo=UTC)
TARGETS = targets_of(entry("cpia2", ROUTINE))  # csl-lavoro is not in the directory


def event(referral: str, name: str, hours: float, receiver: str = "cpia2", priority: str = "routine") -> TrailEvent:
    at = T0 + timedelta(hours=hours)
    return TrailEvent(referral, name, "pioltello-casa", receiver, "main-service", "education", priority, at)


async def streamed(events: Iterable[TrailEvent]) -> AsyncIterator[TrailEvent]:
    for one in events:
        yield one


EVENTS = [
    event("a", "requested", 0),
    event("a", "received", 30),  # late: 24 hours
    event("a", "accepted", 40),
    event("b", "requested", 1, priority="urgent"),  # no urgent target: the routine one
    event("b", "received", 2),
    event("c", "requested", 2, receiver="csl-lavoro"),  # not in the directory
    event("d", "requested", -24 * 40),  # January: outside the cohort asked for
    event("d", "received", 10),
]


async def test_the_streamed_events_give_the_same_groups_as_the_domain_s_fold() -> None:
    rows = await compute(streamed(EVENTS), dimensions=["pair"], targets=TARGETS, as_of=AS_OF)
    assert rows == indicators(EVENTS, dimensions=["pair"], targets=TARGETS, as_of=AS_OF)
    assert [(r["group"]["receiver_agency"], r["requested"]) for r in rows] == [("cpia2", 3), ("csl-lavoro", 1)]


async def test_each_referral_is_held_to_the_target_of_its_receiver_service_and_priority() -> None:
    since = datetime(2026, 3, 1, tzinfo=UTC)
    [row] = await compute(streamed(EVENTS), dimensions=[], targets=TARGETS, as_of=AS_OF, since=since)
    # a: received after 30 hours (24 due): late; accepted after 40 (120 due): on time.
    # b: urgent, held to the routine target: received in time, never decided: late at AS_OF.
    # c: its receiver states no target.
    assert row["requested"] == 3
    assert row["targets_missed"] == {"receive": 1, "accept_or_reject": 1, "without_target": 1}


async def test_the_last_referral_of_the_stream_is_counted_too() -> None:
    [row] = await compute(streamed(EVENTS[:2]), dimensions=[], targets=TARGETS, as_of=AS_OF)
    assert (row["requested"], row["received"]) == (1, 1)


async def test_no_events_no_groups() -> None:
    assert await compute(streamed([]), dimensions=["pair"], targets=TARGETS, as_of=AS_OF) == []


def test_a_summary_from_microseconds_is_the_summary_of_the_seconds() -> None:
    """The database gives each group's times in whole microseconds, in no order: the
    summary is the one of the same times in seconds, the median the mean of the two middle
    ones for an even count, the 90th percentile the nearest-rank one."""
    for micros in ([7_000_001], [3_500_000, 1_000_000], [9, 1, 5, 3, 7, 2, 8, 6, 4, 10, 11], [5, 5, 1, 9]):
        seconds = [value / 1e6 for value in micros]
        assert Summary.of_microseconds(list(micros)) == Summary.of(seconds), micros
    assert Summary.of_microseconds([4_000_000, 1_000_000]) == Summary(2, 2.5, 4.0)
    assert Summary.of_microseconds([]) == Summary()
