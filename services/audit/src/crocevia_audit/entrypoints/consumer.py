"""The audit's durable consumers: ``audit`` on ``referral.v1.>`` (stream REFERRALS) and
``audit-notices`` on ``notice.v1.>`` (stream NOTICES); batches, in stream order, manual ack.
Both feed the one trail writer, whose lock (and the trail's database lock) serialises their
appends, so every entry, whichever stream it came from, gets the next leaf index.

The shared ``DurableConsumer`` applies one message per transaction; the trail commits a
batch per transaction instead (an append also writes O(log n) tree nodes, so batching is
what keeps up with a busy network). Order is kept on purpose:

- at most ``batch_size`` messages are ever unacknowledged (``max_ack_pending``), so the
  server cannot hand out later messages while a batch is still being applied;
- a batch that fails because the database is away is held and retried in place (the
  server told the work is in progress) for as long as the outage lasts, never skipped;
- a batch that fails otherwise (a bug, a row the database refuses) is retried message by
  message, and a message that still fails after ``max_attempts`` goes to the dead-letter
  subject with the reason, so one bad message never stops the consumer;
- a message that is not a valid event goes to the dead-letter subject at once.

Acknowledgements follow the commit: a crash in between redelivers messages the trail
already holds, which it recognises (same event id, same stream sequence) and skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import trace
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from crocevia_audit.handlers.append import Outcome, Result, TrailWriter
from crocevia_audit.handlers.intake import Delivery
from crocevia_audit.handlers.schedule import stopping
from crocevia_common.messaging.consumer import dead_letter
from crocevia_common.telemetry import context_from, tracer
from crocevia_contracts.stream import REFERRAL_EVENTS, StreamSpec
from crocevia_contracts.subjects import ALL_REFERRAL_EVENTS

log = logging.getLogger(__name__)


class BatchConsumer:
    """Feeds the trail writer from a durable pull consumer, one batch at a time."""

    def __init__(
        self,
        *,
        name: str,
        jetstream: Callable[[], JetStreamContext],
        writer: TrailWriter,
        batch_size: int,
        wait_seconds: float,
        stream: StreamSpec = REFERRAL_EVENTS,
        filter_subject: str = ALL_REFERRAL_EVENTS,
        after_batch: Callable[[], Awaitable[object]] | None = None,
        retry_delay: float = 1.0,
        max_attempts: int = 5,
        ack_wait_seconds: float = 60.0,
    ) -> None:
        self.name = name
        self._jetstream = jetstream
        self.writer = writer
        self.stream = stream
        self.filter_subject = filter_subject
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self.after_batch = after_batch
        self.retry_delay = retry_delay
        self.max_attempts = max_attempts
        self.ack_wait_seconds = ack_wait_seconds
        self.dead_lettered = 0
        self.batches = 0
        self._tracer = tracer("crocevia.consumer")

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.name,
            filter_subject=self.filter_subject,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_seconds,
            max_ack_pending=self.batch_size,
            max_deliver=-1,
        )

    async def ensure(self, js: JetStreamContext) -> bool:
        """Create the durable, or bring an existing one to this configuration."""
        try:
            await js.add_consumer(self.stream.name, config=self.config())
            return True
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s: could not create or update the consumer: %r", self.name, exc)
            return False

    async def run(self) -> None:
        js = self._jetstream()
        await self.ensure(js)
        subscription = await js.pull_subscribe_bind(durable=self.name, stream=self.stream.name)
        try:
            while True:
                if stopping():  # a cancellation the client's fetch swallowed
                    raise asyncio.CancelledError
                try:
                    messages = await subscription.fetch(self.batch_size, timeout=self.wait_seconds)
                except (TimeoutError, NatsTimeoutError):
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Connection trouble (the client reconnects by itself), or no consumer to
                    # answer: one that could not be made at start, or was deleted. Make it again.
                    log.warning("%s: fetch failed: %r", self.name, exc)
                    await asyncio.sleep(self.retry_delay)
                    await self.ensure(js)
                    continue
                await self.process(js, messages)
        finally:
            # Leave nothing pending on the connection, so it drains promptly at shutdown.
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def process(self, js: JetStreamContext, messages: Sequence[Msg]) -> None:
        """Apply one fetched batch and acknowledge it."""
        spans = [self._span(msg) for msg in messages]
        try:
            results = await self._append_with_retries(js, messages)
            for msg, result, span in zip(messages, results, spans, strict=True):
                if result is None:
                    continue  # dead-lettered after repeated failures, already acknowledged
                span.set_attribute("crocevia.audit.outcome", result.outcome.value)
                if result.outcome is Outcome.REJECTED:
                    span.set_attribute("crocevia.dead_letter.reason", result.reason or "")
                    await dead_letter(js, self.name, msg, result.reason or "not an event")
                    self.dead_lettered += 1
                    log.warning("%s: dead-lettered %s: %s", self.name, msg.subject, result.reason)
                await msg.ack()
        finally:
            for span in spans:
                span.end()
        self.batches += 1
        if self.after_batch is not None:
            try:
                await self.after_batch()
            except Exception as exc:
                log.error("%s: after the batch: %s", self.name, exc)

    def _span(self, msg: Msg) -> trace.Span:
        return self._tracer.start_span(
            f"process {msg.subject}",
            context=context_from(msg.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.consumer.group.name": self.name,
                "messaging.destination.name": msg.subject,
            },
        )

    async def _append_with_retries(self, js: JetStreamContext, messages: Sequence[Msg]) -> list[Result | None]:
        deliveries = [_delivery(msg) for msg in messages]
        attempt, failure = 0, ""
        while True:
            if stopping():
                raise asyncio.CancelledError
            try:
                return list(await self.writer.append(deliveries))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if unavailable(exc):  # the database is away: wait for it, skip nothing
                    log.warning("%s: database unavailable, holding %d messages: %r", self.name, len(messages), exc)
                    await self._hold(messages, min(attempt + 1, 30))
                    continue
                attempt, failure = attempt + 1, repr(exc)
                log.warning("%s: batch of %d failed (attempt %d): %r", self.name, len(messages), attempt, exc)
                if attempt >= self.max_attempts or (len(messages) > 1 and attempt >= 2):
                    break
                await self._hold(messages, attempt)
        if len(messages) == 1:
            await dead_letter(js, self.name, messages[0], f"gave up after {attempt} attempts: {failure}"[:500])
            self.dead_lettered += 1
            await messages[0].ack()
            return [None]
        results: list[Result | None] = []  # find the message that fails, one at a time
        for msg in messages:
            results.extend(await self._append_with_retries(js, [msg]))
        return results

    async def _hold(self, messages: Sequence[Msg], attempt: int) -> None:
        for msg in messages:
            with contextlib.suppress(Exception):
                await msg.in_progress()
        await asyncio.sleep(self.retry_delay * attempt)


def unavailable(exc: BaseException) -> bool:
    """A failure of the database connection (retried for as long as it lasts), rather than
    a message the trail cannot take (retried a few times, then dead-lettered)."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError))
    return isinstance(exc, (OSError, ConnectionError, TimeoutError))


def _delivery(msg: Msg) -> Delivery:
    meta = msg.metadata
    return Delivery(msg.subject, msg.data, meta.sequence.stream if meta else None)
