"""Raising gaps, on in-memory stores: a gap still open after the grace period is announced
once on ``audit.v1.gap``; a late arrival that fills a raised gap is announced on
``audit.v1.gap-closed`` with what stays missing."""

from __future__ import annotations

import json
from datetime import timedelta

from crocevia_audit.handlers.append import TrailWriter
from crocevia_audit.handlers.gaps import GapWatch
from tests.integration.audit.events import Network, checked
from tests.unit.audit.fakes import FakeTrail

GRACE = 600.0


async def a_trail_missing_2_to_5() -> tuple[FakeTrail, TrailWriter, Network, dict[int, object]]:
    trail, net = FakeTrail(), Network()
    event = {n: net.event("requested", f"ref-{n}", sequence=n) for n in range(1, 7)}
    writer = TrailWriter(trail.uow)
    await writer.append(checked([event[1], event[6]]))
    return trail, writer, net, event


async def test_a_gap_is_raised_once_it_outlives_the_grace_period_and_only_once() -> None:
    trail, _, _, _ = await a_trail_missing_2_to_5()
    [gap] = trail.state.gaps
    woken: list[int] = []
    watch = GapWatch(trail.uow, grace_seconds=GRACE, check_seconds=5, wake=lambda: woken.append(1))
    assert await watch.raise_overdue(now=gap.detected_at + timedelta(seconds=GRACE - 1)) == 0
    assert trail.published() == [] and woken == []
    raised_at = gap.detected_at + timedelta(seconds=GRACE)
    assert await watch.raise_overdue(now=raised_at) == 1
    assert await watch.raise_overdue(now=raised_at + timedelta(hours=1)) == 0
    [message] = trail.published()
    assert (message.id, message.subject) == (f"gap-{gap.id}", "audit.v1.gap")
    assert json.loads(message.payload) == {
        "id": gap.id,
        "source": "/agencies/pioltello-casa",
        "first_missing": 2,
        "last_missing": 5,
        "missing": 4,
        "detected_at": gap.detected_at.isoformat(),
        "raised_at": raised_at.isoformat(),
        "closed_at": None,
        "closed_by_event_id": None,
        "grace_seconds": GRACE,
    }
    assert trail.state.gaps[0].raised_at == raised_at
    assert (watch.raised, woken) == (1, [1])


async def test_a_gap_filled_in_time_is_never_raised() -> None:
    trail, writer, _, event = await a_trail_missing_2_to_5()
    await writer.append(checked([event[n] for n in (2, 3, 4, 5)]))
    watch = GapWatch(trail.uow, grace_seconds=0, check_seconds=5)
    assert await watch.raise_overdue() == 0
    assert trail.published() == []


async def test_filling_a_raised_gap_announces_the_closing_and_what_stays_missing() -> None:
    trail, writer, _, event = await a_trail_missing_2_to_5()
    await GapWatch(trail.uow, grace_seconds=0, check_seconds=5).raise_overdue()
    [result] = await writer.append(checked([event[3]]))
    [closing] = trail.published("audit.v1.gap-closed")
    body = json.loads(closing.payload)
    assert {k: body[k] for k in ("first_missing", "last_missing", "arrived", "still_missing")} == {
        "first_missing": 2,
        "last_missing": 5,
        "arrived": 3,
        "still_missing": [[2, 2], [4, 5]],
    }
    # What the raised gap left open is still raised: it is not announced a second time.
    assert await GapWatch(trail.uow, grace_seconds=0, check_seconds=5).raise_overdue() == 0
    assert [(g.range.first, g.range.last, g.closed_at is None) for g in trail.state.gaps] == [
        (2, 5, False),
        (2, 2, True),
        (4, 5, True),
    ]
    assert result.position == 2
