"""Transactional outbox: an event is stored with the state change that caused it, and a
relay publishes stored events to JetStream, in order, until JetStream acknowledges them.

The relay reads the outbox for what to publish, except what the transaction that just
committed hands it (``OutboxRelay.wake``) when that is known to come next: on SQLite, where
writers commit one at a time and a row's position is the largest plus one, the positions
committed are gapless and in commit order, so rows that continue the last position published
are all there is. On PostgreSQL positions come from a sequence (gaps, and not committed in
their order): the relay reads. It writes ``published_at`` for what JetStream confirmed once
per ``mark_after_seconds`` (or batch), not once per event; what it published and has not
marked yet is left out of its reads, and a copy published again after a crash in between is
dropped by JetStream by its ``Nats-Msg-Id`` (and by every consumer's inbox)."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext
from opentelemetry import trace
from sqlalchemy import Integer, Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.db import Database, upsert_in
from crocevia_common.messaging.tables import MessagingTables
from crocevia_common.statements import execute
from crocevia_common.telemetry import context_from, inject_headers, tracer
from crocevia_contracts import CONTENT_TYPE
from crocevia_contracts.envelope import MAX_EVENT_BYTES

log = logging.getLogger(__name__)

_SUBJECT = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


class OutboxRefused(ValueError):
    """An event the relay could never publish; nothing is stored (the caller's transaction
    should roll back)."""


async def next_sequence(session: AsyncConnection, tables: MessagingTables, source: str) -> int:
    """The next number of ``source``'s gapless sequence, taken inside the caller's
    transaction: if the transaction rolls back, the number is not used."""
    bumped = await execute(session, _bump(session.dialect.name, tables.sequences), {"source": source})
    return int(bumped.scalar_one())


@functools.cache
def _bump(dialect: str, seq: Table) -> Any:
    """One statement: the source's first number makes its row, a later one bumps it (on its
    key, so concurrent first events queue on the row's lock instead of colliding); made
    once per dialect and table, the source a parameter."""
    bump = upsert_in(dialect, seq).values(source=bindparam("source"), value=1)
    bump = bump.on_conflict_do_update(index_elements=[seq.c.source], set_={"value": seq.c.value + 1})
    return bump.returning(seq.c.value)


@dataclass(frozen=True)
class Queued:
    """An event stored in the outbox, as the relay publishes it."""

    position: int
    event_id: str
    subject: str
    payload: bytes
    headers: dict[str, str]


async def enqueue(
    session: AsyncConnection,
    tables: MessagingTables,
    subject: str,
    event_id: str,
    payload: bytes,
    headers: dict[str, str] | None = None,
    content_type: str = CONTENT_TYPE,
) -> Queued:
    """Store an event for publication, in the caller's transaction, with the current trace
    context in its headers. Refuse (OutboxRefused) what could never be published, so no row
    can hold up the relay. Once the transaction has committed, the row may be handed to the
    relay (``OutboxRelay.wake``)."""
    if len(payload) > MAX_EVENT_BYTES:
        raise OutboxRefused(f"an event of {len(payload)} bytes is over the limit of {MAX_EVENT_BYTES}")
    if len(subject) > 255 or not _SUBJECT.match(subject):
        raise OutboxRefused("not a subject an event can be published on")
    if len(event_id) > 36:
        raise OutboxRefused("an event id has at most 36 characters")
    stored_headers = inject_headers({"Content-Type": content_type, **(headers or {})})
    row = {
        "event_id": event_id,
        "subject": subject,
        "payload": payload,
        "headers": stored_headers,
        "created_at": datetime.now(UTC),
        "attempts": 0,
    }
    stored = await execute(session, _insert(tables.outbox), row)  # values as parameters: compiled once
    key = stored.inserted_key
    assert key is not None, "an INSERT of one row knows its key"
    return Queued(int(key[0]), event_id, subject, payload, stored_headers)


@functools.cache
def _insert(box: Table) -> Any:
    return insert(box)


@functools.cache
def _unpublished(box: Table, limit: int) -> Any:
    """The next ``limit`` events not published, in commit order (made once)."""
    columns = (box.c.position, box.c.event_id, box.c.subject, box.c.payload, box.c.headers)
    return select(*columns).where(box.c.published_at.is_(None)).order_by(box.c.position).limit(limit)


@functools.cache
def _unpublished_but(box: Table, limit: int) -> Any:
    """``_unpublished`` but for the positions ``published`` (made once; the positions a list)."""
    published = bindparam("published", type_=Integer(), expanding=True)
    return _unpublished(box, limit).where(box.c.position.not_in(published))


@functools.cache
def _mark(box: Table) -> Any:
    """Events confirmed by JetStream, by position (made once; the positions a list)."""
    positions = bindparam("positions", type_=Integer(), expanding=True)
    return update(box).where(box.c.position.in_(positions)).values(published_at=bindparam("at"))


class OutboxRelay:
    """Publishes the outbox in commit order. If NATS is unreachable the events wait and
    the relay retries with growing delays; a failure stops the pass so order is kept."""

    def __init__(
        self,
        db: Database,
        tables: MessagingTables,
        jetstream: Callable[[], JetStreamContext],
        poll_seconds: float = 0.5,
        batch_size: int = 100,
        mark_after_seconds: float = 0.25,
    ) -> None:
        self._db = db
        self._tables = tables
        self._jetstream = jetstream
        self._poll = poll_seconds
        self._batch = batch_size
        self._mark_after = mark_after_seconds
        self._wake = asyncio.Event()
        self._tracer = tracer("crocevia.outbox")
        self.published = 0
        self.reads = 0  # passes that read the outbox
        # Why the last pass could not publish (None when it could): the service is not
        # ready while its events cannot leave.
        self.failing: str | None = None
        self._committed: list[Queued] = []  # handed over by the transactions that stored them
        # SQLite: every position up to this one is published (None: not known yet).
        self._last: int | None = None
        self._unmarked: list[int] = []  # published, confirmed, ``published_at`` not written yet
        self._unmarked_since = 0.0  # when the first of them was confirmed (monotonic)

    @property
    def unmarked(self) -> list[int]:
        """Positions published and confirmed whose ``published_at`` is not written yet."""
        return list(self._unmarked)

    def wake(self, committed: Sequence[Queued] = ()) -> None:
        """Tell the relay there is something new, so it does not wait for its next poll;
        ``committed``: what the transaction that has just committed stored, which the relay
        then publishes without reading it back when it comes next."""
        self._committed.extend(committed)
        self._wake.set()

    async def run(self) -> None:
        delay = self._poll
        while True:
            try:
                while True:
                    # Cleared before each pass reads the outbox: an event committed after
                    # the read wakes the wait below at once instead of waiting for the poll.
                    self._wake.clear()
                    if await self.publish_pending() < self._batch:
                        break  # the pass read all there was: no second read to find nothing
                if self._unmarked and self._mark_due() <= 0:
                    await self.mark()
                delay = self._poll
                self.failing = None
                # What is published and not marked yet is marked when due, if nothing wakes
                # the relay before.
                wait = min(delay, max(self._mark_due(), 0.0)) if self._unmarked else delay
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = wait = min(max(delay * 2, 0.5), 15.0)
                self.failing = f"cannot publish: {type(exc).__name__}"
                log.warning("outbox relay: %s; retrying in %.1fs", self.failing, delay)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            except TimeoutError:
                pass

    async def flush(self) -> None:
        """Publish everything the outbox holds now, and mark it (a service that stops does
        this last)."""
        while await self.publish_pending():
            pass
        await self.mark()

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished events; return how many were confirmed."""
        rows = self._next_committed()
        if rows is None:
            rows = await self._read()
        done: list[int] = []
        try:
            for row in rows:
                await self._publish(row.event_id, row.subject, row.payload, dict(row.headers))
                done.append(row.position)
        finally:
            if done:
                if not self._unmarked:
                    self._unmarked_since = time.monotonic()
                self._unmarked += done
                self.published += len(done)
                if self._db.is_sqlite:  # rows come in position order, from the one after the last
                    self._last = done[-1]
                if len(self._unmarked) >= self._batch:
                    await self.mark()
        return len(done)

    async def mark(self) -> None:
        """Write ``published_at`` for what JetStream has confirmed (once per batch: an event
        published but not marked, as after a crash in between, is published again and
        JetStream drops the copy by its Nats-Msg-Id)."""
        if not self._unmarked:
            return
        positions = list(self._unmarked)
        async with self._db.transaction() as session:
            await execute(session, _mark(self._tables.outbox), {"positions": positions, "at": datetime.now(UTC)})
        self._unmarked = self._unmarked[len(positions) :]

    def _mark_due(self) -> float:
        """Seconds until what is unmarked should be marked."""
        return self._unmarked_since + self._mark_after - time.monotonic()

    def _next_committed(self) -> list[Queued] | None:
        """What committed transactions handed over, when it is all there is to publish next
        (SQLite: the positions that follow the last one published, without a gap); else
        None, and the relay reads the outbox (which holds them too: they are committed)."""
        committed, self._committed = self._committed, []
        if not committed or not self._db.is_sqlite or self._last is None:
            return None
        last = self._last
        rows = sorted((row for row in committed if row.position > last), key=lambda row: row.position)
        if [row.position for row in rows] != list(range(last + 1, last + 1 + len(rows))):
            return None
        return rows

    async def _read(self) -> list[Queued]:
        box = self._tables.outbox
        self.reads += 1
        async with self._db.one_read() as session:  # a batch at most, by an index
            if self._unmarked:
                found = await execute(session, _unpublished_but(box, self._batch), {"published": self._unmarked})
            else:
                found = await execute(session, _unpublished(box, self._batch), {})
            return [Queued(**row) for row in found.mappings()]

    async def _publish(self, event_id: str, subject: str, payload: bytes, headers: dict[str, Any]) -> None:
        parent = context_from(headers)
        with self._tracer.start_as_current_span(
            f"publish {subject}",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": subject,
                "messaging.message.id": event_id,
            },
        ):
            out = {k: v for k, v in headers.items() if k not in ("traceparent", "tracestate")}
            inject_headers(out)
            out["Nats-Msg-Id"] = event_id
            await self._jetstream().publish(subject, payload, headers=out, timeout=5.0)
