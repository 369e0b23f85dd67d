"""Appending events to the trail: a batch of deliveries, in stream order, in one transaction.

Each new event (a referral event or a notice) becomes the next leaf of the Merkle log,
with the perfect nodes it completes, its source's sequence bookkeeping and any anomaly,
all committed together. An event id already in the trail is not appended again: a
redelivery of the same stream message (same stream, same stream sequence) is ignored,
another message carrying the same id is recorded as a duplicate.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_audit.adapters.locking import lock_trail
from crocevia_audit.adapters.sequences import SequenceBook
from crocevia_audit.adapters.tables import anomalies, trail_entries
from crocevia_audit.adapters.tree import Frontier, store_nodes
from crocevia_audit.domain.entries import NOTICE_KINDS, entry_bytes, is_notice_subject, project
from crocevia_audit.domain.gaps import Arrival
from crocevia_audit.domain.merkle import leaf_hash
from crocevia_audit.domain.nodes import StoredNode
from crocevia_audit.handlers.anomalies import announce_anomalies
from crocevia_audit.handlers.gaps import announce_closed
from crocevia_audit.handlers.intake import Accepted, NotAnEvent, accept
from crocevia_common.db import Database
from crocevia_common.messaging.intake import (
    Delivery,
    Parties,
    Unprocessable,
    Verified,
    check_parties,
    sequence_reused,
)


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
    rows: list[dict[str, Any]]
    nodes: list[StoredNode]
    anomalies: list[dict[str, Any]]


class TrailWriter:
    """The only writer of the trail. One batch at a time (``lock``), so positions follow
    the order of the batches and, inside one, the order of the stream."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.lock = asyncio.Lock()
        self.counts: Counter[str] = Counter()
        self._frontier: Frontier | None = None

    async def frontier(self, session: AsyncSession) -> Frontier:
        """The tree's border as stored; reloaded if another writer moved the tree on."""
        last = (await session.execute(select(func.max(trail_entries.c.position)))).scalar_one_or_none()
        size = 0 if last is None else int(last) + 1
        if self._frontier is None or self._frontier.size != size:
            self._frontier = await Frontier.load(session, size)
        return self._frontier

    @property
    def known_size(self) -> int | None:
        """The tree size as of this writer's last batch (None before it read the tree)."""
        return None if self._frontier is None else self._frontier.size

    async def head(self) -> tuple[int, bytes]:
        """The size and root of the tree as stored now."""
        async with self.lock, self.db.sessions() as session:
            frontier = await self.frontier(session)
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

    async def _append(self, accepted: list[tuple[int, Accepted]]) -> dict[int, Result]:
        now = datetime.now(UTC)
        results: dict[int, Result] = {}
        batch = _Batch([], [], [])
        async with self.db.transaction() as session:
            await lock_trail(session)
            work = (await self.frontier(session)).copy()
            known = await _known(session, [a.item.id for _, a in accepted])
            parties = await _requested_parties(session, [a.item.referral_id for _, a in accepted])
            book = await SequenceBook.load(session, [a.item.source for _, a in accepted])
            for i, item in accepted:
                results[i] = _one(item, work, known, parties, book, batch, now)
            if batch.rows:
                await session.execute(insert(trail_entries), batch.rows)
            await store_nodes(session, batch.nodes)
            if batch.anomalies:
                await session.execute(insert(anomalies), batch.anomalies)
                await announce_anomalies(session, batch.anomalies)
            await book.save(session)
            await announce_closed(session, book.closed)
        self._frontier = work
        return results


# Where an entry came from: its stream (notices and referral events have their own, with
# their own message numbers) and its sequence number in that stream.
_StreamPlace = tuple[bool, int | None]  # (a notice, stream sequence)


async def _known(session: AsyncSession, event_ids: list[str]) -> dict[str, _StreamPlace]:
    c = trail_entries.c
    rows = await session.execute(select(c.event_id, c.event, c.stream_sequence).where(c.event_id.in_(set(event_ids))))
    return {row.event_id: (row.event in NOTICE_KINDS, row.stream_sequence) for row in rows}


async def _requested_parties(session: AsyncSession, referral_ids: list[str]) -> dict[str, Parties]:
    """The parties of each referral's ``requested`` in the trail."""
    c = trail_entries.c
    rows = await session.execute(
        select(c.referral_id, c.sender_agency, c.receiver_agency, c.service_id).where(
            c.referral_id.in_(set(referral_ids)), c.event == "requested"
        )
    )
    return {r.referral_id: Parties(r.sender_agency, r.receiver_agency, r.service_id) for r in rows}


def _place(delivery: Delivery) -> _StreamPlace:
    return is_notice_subject(delivery.subject), delivery.stream_sequence


def _one(
    item: Accepted,
    work: Frontier,
    known: dict[str, _StreamPlace],
    parties: dict[str, Parties],
    book: SequenceBook,
    batch: _Batch,
    now: datetime,
) -> Result:
    checked, delivery = item.item, item.delivery
    if checked.id in known:
        if delivery.stream_sequence is not None and known[checked.id] == _place(delivery):
            return Result(Outcome.REDELIVERED)
        batch.anomalies.append(_anomaly("duplicate", item, now, "event id already in the trail"))
        return Result(Outcome.DUPLICATE, reason="event id already in the trail")
    try:
        check_parties(checked, parties.get(checked.referral_id))
    except Unprocessable as exc:
        return Result(Outcome.REJECTED, reason=exc.reason)
    seen = book.observe(checked.source, checked.sequence, checked.id, now)
    if seen.arrival is Arrival.REPEATED:  # observing a repeat changes nothing
        return Result(Outcome.REJECTED, reason=sequence_reused(checked))
    if checked.envelope is not None and checked.envelope.name.value == "requested":
        parties[checked.referral_id] = checked.parties
    position = work.size
    entry = entry_bytes(position, delivery.subject, item.raw)
    leaf = leaf_hash(entry)
    batch.nodes.extend(work.append(leaf))
    batch.rows.append(
        {
            **project(entry).as_row(),
            "stream_sequence": delivery.stream_sequence,
            "recorded_at": now,
            "entry": entry,
            "leaf_hash": leaf,
        }
    )
    known[checked.id] = _place(delivery)
    return Result(Outcome.APPENDED, position=position)


def _anomaly(kind: str, item: Accepted, now: datetime, detail: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "event_id": item.item.id,
        "source": item.item.source,
        "sequence": item.item.sequence,
        "subject": item.delivery.subject,
        "stream_sequence": item.delivery.stream_sequence,
        "payload_sha256": hashlib.sha256(item.delivery.payload).hexdigest(),
        "detail": detail,
        "detected_at": now,
    }
