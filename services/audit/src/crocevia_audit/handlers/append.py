"""Appending events to the trail: a batch of deliveries, in stream order, in one transaction.

Each new event (a referral event or a notice) becomes the next leaf of the Merkle log,
with the perfect nodes it completes, its referral's running totals (what the indicators
read), its source's sequence bookkeeping and any anomaly, all committed together. An
event id already in the trail is not appended again: a redelivery of the same stream
message (same stream, same stream sequence) is ignored, another message carrying the same
id is recorded as a duplicate.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from crocevia_audit.domain.announcements import Anomaly
from crocevia_audit.domain.entries import (
    RecordedEntry,
    canonical_json,
    entry_document,
    is_notice_subject,
    project_document,
)
from crocevia_audit.domain.frontier import Frontier, border_names
from crocevia_audit.domain.gaps import Arrival
from crocevia_audit.domain.indicators import TargetOf, fingerprint
from crocevia_audit.domain.nodes import StoredNode
from crocevia_audit.domain.sequences import SequenceBook
from crocevia_audit.domain.totals import Held, Totals, advance, trail_event
from crocevia_audit.handlers.anomalies import announce_anomalies
from crocevia_audit.handlers.gaps import announce_closed
from crocevia_audit.handlers.intake import Accepted, NotAnEvent, accept
from crocevia_audit.handlers.ports import StreamPlace, TrailWork, UnitOfWork
from crocevia_common.messaging.intake import (
    Delivery,
    Parties,
    Unprocessable,
    Verified,
    check_parties,
    sequence_reused,
)
from crocevia_common.tlog.merkle import leaf_hash
from crocevia_contracts.directory import ServiceTarget


class Outcome(StrEnum):
    APPENDED = "appended"
    DUPLICATE = "duplicate"  # another message with an event id the trail holds
    REDELIVERED = "redelivered"  # the same stream message again (its ack was lost)
    REJECTED = "rejected"  # cannot be recorded (see ``reason``): goes to the dead-letter subject


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    position: int | None = None
    reason: str | None = None


@dataclass
class _Batch:
    """What one batch appends, read and written in its transaction."""

    tree: Frontier
    known: dict[str, StreamPlace]
    parties: dict[str, Parties]
    book: SequenceBook
    now: datetime
    entries: list[RecordedEntry] = field(default_factory=list)
    nodes: list[StoredNode] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)


class TrailWriter:
    """The only writer of the trail. One batch at a time (``lock``), so positions follow
    the order of the batches and, inside one, the order of the stream."""

    def __init__(self, uow: UnitOfWork, targets: TargetOf | None = None) -> None:
        self.uow = uow
        self.targets = targets  # the directory's, to store each referral's due times with its totals
        self.lock = asyncio.Lock()
        self.counts: Counter[str] = Counter()
        self._frontier: Frontier | None = None

    async def frontier(self, work: TrailWork) -> Frontier:
        """The tree's border as stored; read again if another writer moved the tree on."""
        size = await work.entries.size()
        if self._frontier is None or self._frontier.size != size:
            self._frontier = Frontier.read(size, await work.nodes.read(border_names(size)))
        return self._frontier

    @property
    def known_size(self) -> int | None:
        """The tree size as of this writer's last batch (None before it read the tree)."""
        return None if self._frontier is None else self._frontier.size

    async def head(self) -> tuple[int, bytes]:
        """The size and root of the tree as stored now."""
        async with self.lock, self.uow() as work:
            frontier = await self.frontier(work)
            return frontier.size, frontier.root()

    async def append(self, items: Sequence[Verified]) -> list[Result]:
        """Append verified messages in order; return what became of each."""
        results: dict[int, Result] = {}
        accepted: list[tuple[int, Accepted]] = []
        for i, item in enumerate(items):
            try:
                accepted.append((i, accept(item)))
            except NotAnEvent as exc:
                results[i] = Result(Outcome.REJECTED, reason=str(exc))
        if accepted:
            async with self.lock:
                results.update(await self._append(accepted))
        for result in results.values():
            self.counts[result.outcome.value] += 1
        return [results[i] for i in range(len(items))]

    async def apply(self, items: Sequence[Verified]) -> list[str | None]:
        """The consumer's view of ``append``: None for what the trail holds now, else why not."""
        return [r.reason if r.outcome is Outcome.REJECTED else None for r in await self.append(items)]

    def _held(self, totals: Iterable[Totals]) -> dict[str, Held]:
        """The due times of the targets these referrals are held to, where known (each
        target asked for, and its fingerprint taken, once per batch)."""
        if self.targets is None:
            return {}
        targets: dict[tuple[str, str, str], tuple[ServiceTarget | None, str | None]] = {}
        held: dict[str, Held] = {}
        for t in totals:
            by = (t.receiver_agency, t.service_id, t.priority)
            if by not in targets:
                target = self.targets(*by)
                targets[by] = (target, fingerprint(target) if target else None)
            held[t.referral_id] = t.held_to(*targets[by])
        return held

    async def _append(self, accepted: list[tuple[int, Accepted]]) -> dict[int, Result]:
        async with self.uow() as work:
            batch = _Batch(
                (await self.frontier(work)).copy(),
                await work.entries.places([a.item.id for _, a in accepted]),
                await work.entries.requested_parties([a.item.referral_id for _, a in accepted]),
                await work.sequences.load([a.item.source for _, a in accepted]),
                datetime.now(UTC),
            )
            results = {i: _one(item, batch) for i, item in accepted}
            await work.entries.add(batch.entries)
            await work.nodes.add(batch.nodes)
            events = [trail_event(e.fields) for e in batch.entries]
            moved = advance(await work.totals.load({e.referral_id for e in events}), events)
            await work.totals.save(list(moved.values()), self._held(moved.values()))
            await work.anomalies.add(batch.anomalies)
            await announce_anomalies(work.outbox, batch.anomalies)
            await work.sequences.save(batch.book)
            await announce_closed(work.outbox, batch.book.closed)
        self._frontier = batch.tree
        return results


def _place(delivery: Delivery) -> StreamPlace:
    return is_notice_subject(delivery.subject), delivery.stream_sequence


def _one(item: Accepted, batch: _Batch) -> Result:
    checked, delivery = item.item, item.delivery
    if checked.id in batch.known:
        if delivery.stream_sequence is not None and batch.known[checked.id] == _place(delivery):
            return Result(Outcome.REDELIVERED)
        batch.anomalies.append(_anomaly("duplicate", item, batch.now, "event id already in the trail"))
        return Result(Outcome.DUPLICATE, reason="event id already in the trail")
    try:
        check_parties(checked, batch.parties.get(checked.referral_id))
    except Unprocessable as exc:
        return Result(Outcome.REJECTED, reason=exc.reason)
    seen = batch.book.observe(checked.source, checked.sequence, checked.id, batch.now)
    if seen.arrival is Arrival.REPEATED:  # observing a repeat changes nothing
        return Result(Outcome.REJECTED, reason=sequence_reused(checked))
    if checked.envelope is not None and checked.envelope.name.value == "requested":
        batch.parties[checked.referral_id] = checked.parties
    position = batch.tree.size
    document = entry_document(position, delivery.subject, item.raw)
    entry = canonical_json(document)
    leaf = leaf_hash(entry)
    batch.nodes.extend(batch.tree.append(leaf))
    fields = project_document(document)  # what the entry's bytes parse back to: one JSON value, one spelling
    batch.entries.append(RecordedEntry(fields, entry, leaf, delivery.stream_sequence, batch.now))
    batch.known[checked.id] = _place(delivery)
    return Result(Outcome.APPENDED, position=position)


def _anomaly(kind: str, item: Accepted, now: datetime, detail: str) -> Anomaly:
    return Anomaly(
        kind=kind,
        event_id=item.item.id,
        source=item.item.source,
        sequence=item.item.sequence,
        subject=item.delivery.subject,
        stream_sequence=item.delivery.stream_sequence,
        payload_sha256=hashlib.sha256(item.delivery.payload).hexdigest(),
        detail=detail,
        detected_at=now,
    )
