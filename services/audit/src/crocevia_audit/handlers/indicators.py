"""Indicators for a time range, from the trail's events and the directory's targets."""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from datetime import datetime
from typing import Any

from crocevia_audit.domain.indicators import Tally, TargetOf, TrailEvent


async def compute(
    events: AsyncIterable[TrailEvent],
    *,
    dimensions: Sequence[str],
    targets: TargetOf,
    as_of: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """The indicators of the referrals requested in ``[since, until)``, grouped by
    ``dimensions``, each target counted as ``targets`` says. ``events`` come grouped by
    referral, each referral's in trail order, and are folded one at a time: memory grows
    with the groups, not with the events."""
    tally = Tally(dimensions=dimensions, targets=targets, as_of=as_of, since=since, until=until)
    async for event in events:
        tally.add_event(event)
    return tally.rows()
