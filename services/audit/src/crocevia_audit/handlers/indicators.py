"""Indicators for a time range, from the referrals' running totals (or, as the reference
the totals are checked against, from the trail's events) and the directory's targets."""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from datetime import datetime
from typing import Any

from crocevia_audit.domain.indicators import Tally, TargetOf, TrailEvent
from crocevia_audit.domain.totals import Mismatch, Totals, fold, mismatches


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


async def from_totals(
    totals: AsyncIterable[Totals],
    *,
    dimensions: Sequence[str],
    targets: TargetOf,
    as_of: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """What ``compute`` gives for the same referrals, from their running totals: one
    row per referral read instead of every event."""
    tally = Tally(dimensions=dimensions, targets=targets, as_of=as_of, since=since, until=until)
    async for referral in totals:
        tally.add(referral.referral())
    return tally.rows()


async def check_totals(stored: dict[str, Totals], events: AsyncIterable[TrailEvent]) -> list[Mismatch]:
    """Where the stored running totals disagree with the totals recomputed from the trail
    alone (``events`` grouped by referral, each referral's in trail order)."""
    recomputed = [totals async for totals in _fold(events)]
    return mismatches(stored, recomputed)


async def _fold(events: AsyncIterable[TrailEvent]) -> AsyncIterable[Totals]:
    batch: list[TrailEvent] = []
    async for event in events:
        if batch and batch[-1].referral_id != event.referral_id:
            for totals in fold(batch):
                yield totals
            batch = []
        batch.append(event)
    for totals in fold(batch):
        yield totals
