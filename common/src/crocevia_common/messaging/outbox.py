"""Transactional outbox: an event is stored with the state change that caused it, and a
relay publishes stored events to JetStream, in order, until JetStream acknowledges them."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext
from opentelemetry import trace
from sqlalchemy import Integer, Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.db import Database, upsert_in
from crocevia_common.messaging.tables import MessagingTables
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
    bumped = await session.execute(_bump(session.dialect.name, tables.sequences), {"source": source})
    return int(bumped.scalar_one())


@functools.cache
def _bump(dialect: str, seq: Table) -> Any:
    """One statement: the source's first number makes its row, a later one bumps it (on its
    key, so concurrent first events queue on the row's lock instead of colliding); made
    once per dialect and table, the source a parameter."""
    bump = upsert_in(dialect, seq).values(source=bindparam("source"), value=1)
    bump = bump.on_conflict_do_update(index_elements=[seq.c.source], set_={"value": seq.c.value + 1})
    return bump.returning(seq.c.value)


async def enqueue(
    session: AsyncConnection,
    tables: MessagingTables,
    subject: str,
    event_id: str,
    payload: bytes,
    headers: dict[str, str] | None = None,
    content_type: str = CONTENT_TYPE,
) -> None:
    """Store an event for publication, in the caller's transaction, with the current trace
    context in its headers. Refuse (OutboxRefused) what could never be published, so no row
    can hold up the relay."""
    if len(payload) > MAX_EVENT_BYTES:
        raise OutboxRefused(f"an event of {len(payload)} bytes is over the limit of {MAX_EVENT_BYTES}")
    if len(subject) > 255 or not _SUBJECT.match(subject):
        raise OutboxRefused("not a subject an event can be published on")
    if len(event_id) > 36:
        raise OutboxRefused("an event id has at most 36 characters")
    row = {
        "event_id": event_id,
        "subject": subject,
        "payload": payload,
        "headers": inject_headers({"Content-Type": content_type, **(headers or {})}),
        "created_at": datetime.now(UTC),
        "attempts": 0,
    }
    await session.execute(_insert(tables.outbox), row)  # values as parameters: compiled once


@functools.cache
def _insert(box: Table) -> Any:
    return insert(box)


@functools.cache
def _unpublished(box: Table, limit: int) -> Any:
    """The next ``limit`` events not published, in commit order (made once)."""
    columns = (box.c.position, box.c.event_id, box.c.subject, box.c.payload, box.c.headers)
    return select(*columns).where(box.c.published_at.is_(None)).order_by(box.c.position).limit(limit)


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
    ) -> None:
        self._db = db
        self._tables = tables
        self._jetstream = jetstream
        self._poll = poll_seconds
        self._batch = batch_size
        self._wake = asyncio.Event()
        self._tracer = tracer("crocevia.outbox")
        self.published = 0
        # Why the last pass could not publish (None when it could): the service is not
        # ready while its events cannot leave.
        self.failing: str | None = None

    def wake(self) -> None:
        """Tell the relay there is something new, so it does not wait for its next poll."""
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
                delay = self._poll
                self.failing = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = min(max(delay * 2, 0.5), 15.0)
                self.failing = f"cannot publish: {type(exc).__name__}"
                log.warning("outbox relay: %s; retrying in %.1fs", self.failing, delay)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def flush(self) -> None:
        """Publish everything the outbox holds now (a service that stops does this last)."""
        while await self.publish_pending():
            pass

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished events; return how many were confirmed."""
        box = self._tables.outbox
        async with self._db.snapshot(short=True) as session:  # a batch at most, by an index
            rows = (await session.execute(_unpublished(box, self._batch))).all()
        done: list[int] = []
        try:
            for row in rows:
                await self._publish(row.event_id, row.subject, row.payload, dict(row.headers))
                done.append(row.position)
        finally:
            # Marked once per batch: an event published but not marked (a crash in between)
            # is published again and JetStream drops the copy by its Nats-Msg-Id.
            if done:
                async with self._db.transaction() as session:
                    await session.execute(_mark(box), {"positions": done, "at": datetime.now(UTC)})
                self.published += len(done)
        return len(done)

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
