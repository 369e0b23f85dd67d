"""Indicators for a time range, grouped and counted by the database on the referrals'
running totals (or, as the references they are checked against, folded from the totals or
from the trail's events) and the directory's targets."""

from __future__ import annotations

import asyncio
import logging
from array import array
from collections.abc import AsyncIterable, Sequence
from datetime import datetime
from typing import Any

from crocevia_audit.domain.cells import Cell, merged, month_start, next_month, split
from crocevia_audit.domain.indicators import (
    Group,
    GroupKey,
    Summary,
    Tally,
    TargetOf,
    TrailEvent,
    fingerprint,
    group_fields,
    group_rows,
    missed,
)
from crocevia_audit.domain.totals import Held, Mismatch, Totals, fold, mismatches
from crocevia_audit.handlers.ports import Cohort, IndicatorReads, UnitOfWork

log = logging.getLogger(__name__)
_TIMES = {"receive_us": "time_to_receive", "decide_us": "time_to_decide", "complete_us": "time_to_complete"}


class MonthCells:
    """The cells of whole months, kept while their month's generation holds: a month whose
    referrals did not change since is not read again (``domain/cells.py``)."""

    def __init__(self) -> None:
        self._months: dict[str, tuple[int, list[Cell]]] = {}

    async def of(self, reads: IndicatorReads, cohort: Cohort) -> list[Cell]:
        """The cells of the cohort's referrals: its whole months' (kept, or read and kept),
        the rest of its span read, each cell in ``cohort.party``'s view. Each month's cells
        are read after its generation: without one snapshot for both, the cells kept are
        never older than the generation they are kept under."""
        generations = await reads.generations()
        whole, edges = split(cohort.since, cohort.until, generations)
        found: list[Cell] = []
        for month in whole:
            generation, kept = generations[month], self._months.get(month)
            if kept is None or kept[0] != generation:
                start = month_start(month)
                read = (generation, await reads.cells(start, next_month(start)))
                if kept is None or kept[0] < generation:  # a read at an older snapshot is not kept
                    self._months[month] = read
                kept = read
            found += kept[1]
        for since, until in edges:
            found += await reads.cells(since, until)
        return [cell for cell in found if cell.sees(cohort.party)]


async def grouped(
    queries: IndicatorReads,
    *,
    dimensions: Sequence[str],
    targets: TargetOf,
    as_of: datetime,
    cohort: Cohort,
    months: MonthCells | None = None,
) -> list[dict[str, Any]]:
    """What ``compute`` gives for the cohort, from its cells (``months``' where given):
    counts, reasons, outcomes, missed targets and times merged by group and summarised. A
    referral whose due times were stored under a target that has changed since (or under
    none) is counted against the directory's target here, one at a time."""
    names = group_fields(dimensions)
    groups: dict[GroupKey, Group] = {}

    def group_of(values: tuple[Any, ...]) -> Group:
        return groups.setdefault(tuple(zip(names, values, strict=True)), Group())

    current: dict[tuple[str, str, str], tuple[Any, str | None]] = {}
    times: dict[tuple[Any, ...], dict[str, list[array[int]]]] = {}
    unheld: set[tuple[str, str, str]] = set()  # held by a target its due times were not stored under
    for cell in await (months or MonthCells()).of(queries, cohort):
        key = cell.group(names)
        group = group_of(key)
        group.counts.update(cell.counts)
        if rejected := cell.counts["rejected"]:
            group.rejected_by_reason[cell.field("reason_code") or "unspecified"] += rejected
        if completed := cell.counts["completed"]:
            group.completed_by_outcome[cell.field("outcome") or "unspecified"] += completed
        runs = times.setdefault(key, {})
        for column, values in cell.times.items():
            runs.setdefault(column, []).append(values)
        if cell.held_by not in current:
            target = targets(*cell.held_by)
            current[cell.held_by] = (target, fingerprint(target) if target else None)
        target, now = current[cell.held_by]
        if target is None:
            group.counts["targets_unknown"] += cell.counts["requested"]
        elif cell.field("held_to") == now:
            group.count_missed(*cell.missed(as_of))
        else:
            unheld.add(cell.held_by)
    for held_by in sorted(unheld):
        target, now = current[held_by]
        for referral in await queries.unheld(names, cohort, held_by, now):
            decided = min((t for t in (referral.accepted, referral.rejected) if t is not None), default=None)
            receive_by, decide_by = target.receive_by(referral.requested), target.decide_by(referral.requested)
            group_of(referral.group).count_missed(*missed(referral.received, decided, receive_by, decide_by, as_of))
    for key, by_column in times.items():
        for column, runs_of in by_column.items():
            group_of(key).summaries[_TIMES[column]] = Summary.of_microseconds(merged(runs_of))
    return group_rows(groups)


async def restate_due_times(reads: IndicatorReads, uow: UnitOfWork, targets: TargetOf, *, page: int = 500) -> int:
    """Store the due times of the targets the directory holds referrals to now wherever
    they were stored under another (one changed since, or none known when the referral was
    appended, as after revision 0007), so that the database counts them again; return how
    many referrals were restated. Each page is written under the trail's lock, between
    appends; a referral an append rewrote meanwhile is left as the append stored it."""
    restated = 0
    for held_by, stored in (await reads.held()).items():
        target = targets(*held_by)
        if target is None:
            continue  # counted as without target whatever was stored
        now = fingerprint(target)
        if stored == {now}:
            continue
        seen: set[str] = set()
        while page_of := await reads.requested_unheld(held_by, now, page):
            ids = {referral_id for referral_id, _ in page_of}
            if ids & seen:  # rewritten under another target meanwhile: the next round
                break
            seen |= ids
            held = {rid: Held(now, target.receive_by(at), target.decide_by(at)) for rid, at in page_of}
            async with uow() as work:
                await work.totals.restate(held)
            restated += len(held)
    return restated


async def keep_due_times(
    reads: IndicatorReads,
    uow: UnitOfWork,
    targets: TargetOf,
    changed: asyncio.Event,
    at_most_every: float,
    months: MonthCells | None = None,
) -> None:
    """``restate_due_times`` whenever the directory ``changed`` (it is set when the
    directory is first read, and cleared here), at most once per ``at_most_every`` seconds,
    for as long as the audit runs; then the cells of every whole month are read into
    ``months``, so that the first indicators asked after a start or a change of targets
    find them kept (a month that changes meanwhile is read again when asked)."""
    while True:
        await changed.wait()
        changed.clear()
        try:
            if restated := await restate_due_times(reads, uow, targets):
                log.info("restated the due times of %d referrals under the directory's targets", restated)
            if months is not None:
                await months.of(reads, Cohort())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            changed.set()  # try again at the next turn
            log.error("restating due times failed: %s", exc)
        await asyncio.sleep(at_most_every)


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


async def check_totals(
    stored: dict[str, Totals], events: AsyncIterable[TrailEvent], measured: Sequence[Mismatch] = ()
) -> list[Mismatch]:
    """Where the stored running totals disagree with the totals recomputed from the trail
    alone (``events`` grouped by referral, each referral's in trail order), together with
    the stored ``measured`` found disagreeing with their own totals, one per referral."""
    recomputed = [totals async for totals in _fold(events)]
    found: dict[str, tuple[str, ...]] = {}
    for mismatch in [*mismatches(stored, recomputed), *measured]:
        found[mismatch.referral_id] = found.get(mismatch.referral_id, ()) + mismatch.fields
    return [Mismatch(referral_id, fields) for referral_id, fields in sorted(found.items())]


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
