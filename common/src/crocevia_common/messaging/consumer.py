"""The one durable JetStream consumer every service uses: messages applied once, in stream
order, checked before they touch state, and never stalled by one that cannot be applied.

A pull consumer fetches up to ``batch_size`` messages and hands them, in order, to the
service's ``apply`` (one at a time, or the whole batch in one transaction: ``together``).
Acknowledgement is explicit and decided here:

- applied (or a redelivery of something applied): acknowledged;
- refused by the intake or by ``apply`` (``Unprocessable``): a dead letter with the reason,
  then acknowledged — at once, so the messages behind it go on;
- ``NotYet`` or an unexpected failure: retried in place (the messages behind it wait, so
  order holds) until the message has been tried ``max_deliveries`` times counting earlier
  deliveries, then dead-lettered with the reason;
- the database is unreachable: held and retried for as long as that lasts, skipping nothing.

``max_ack_pending`` is the batch size, so the server hands out nothing later while a batch
is being applied. Messages handed out and never acknowledged (to a process that died, or
lost on the way when the connection broke) come back only once their ack wait is over, and
the server would meanwhile hand out what follows them: so a consumer that starts, or whose
fetch failed, while the server counts such messages, fetches nothing until their ack wait is
over; they then come back before anything after them. A message is never parsed before the
intake has checked its size and depth, so a payload that cannot be decoded is a dead letter
like any other.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from crocevia_common.db import unavailable
from crocevia_common.messaging.connection import DEFAULT_INBOX_PREFIX
from crocevia_common.messaging.intake import Delivery, Intake, NotYet, Unprocessable, Verified
from crocevia_common.metrics import Metrics, reason_kind
from crocevia_common.telemetry import context_from, tracer
from crocevia_contracts import dead_letter_subject
from crocevia_contracts.envelope import MAX_EVENT_BYTES
from crocevia_contracts.stream import REPLAYS, StreamSpec
from crocevia_contracts.subjects import REPLAY_PREFIX, replay_consumer, replay_subject

log = logging.getLogger(__name__)

T = TypeVar("T")

# Beyond the ack wait, for the server to have put the expired messages back in line.
STRAY_MARGIN_SECONDS = 1.0

# What ``apply`` answers for each message it was given: None when applied (or found applied
# already), else the reason it can never be applied.
Apply = Callable[[Sequence[Verified]], Awaitable[Sequence[str | None]]]


def one_at_a_time(apply_one: Callable[[Verified], Awaitable[None]]) -> Apply:
    """An ``apply`` for services that apply each message in its own transaction; ``apply_one``
    raises Unprocessable for a message that can never be applied."""

    async def apply(items: Sequence[Verified]) -> list[str | None]:
        results: list[str | None] = []
        for item in items:
            try:
                await apply_one(item)
                results.append(None)
            except Unprocessable as exc:
                results.append(exc.reason)
        return results

    return apply


def together(
    transaction: Callable[[], contextlib.AbstractAsyncContextManager[T]],
    apply_one: Callable[[T, Verified], Awaitable[None]],
    read_ahead: Callable[[T, Sequence[Verified]], Awaitable[None]] | None = None,
) -> Apply:
    """An ``apply`` for services that apply a batch in one transaction, each message by
    ``apply_one`` in order (after ``read_ahead``, which may read at once, in the same
    transaction, what they will look up); it raises Unprocessable for a message that can
    never be applied. Alone, such a message gives its reason and nothing of it is kept; in a
    batch it undoes the whole batch, which the consumer then applies again one message at a
    time."""

    async def apply(items: Sequence[Verified]) -> list[str | None]:
        try:
            async with transaction() as work:
                if read_ahead is not None:
                    await read_ahead(work, items)
                for item in items:
                    await apply_one(work, item)
        except Unprocessable as exc:
            if len(items) > 1:
                raise
            return [exc.reason]
        return [None] * len(items)

    return apply


def failure(exc: BaseException) -> str:
    """An unexpected failure as a reason: its type and where it happened, never its message
    (a database error quotes the values of its statement)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"


async def dead_letter(js: JetStreamContext, consumer: str, delivery: Delivery, reason: str) -> None:
    """Store the message as it arrived on the dead-letter subject of ``consumer``, with
    ``reason``. Personal details travel sealed, so the message as it arrived holds none in
    clear; the reason names fields, never values."""
    entry: dict[str, Any] = {
        "consumer": consumer,
        "reason": reason,
        "subject": delivery.subject,
        "stream_sequence": delivery.stream_sequence,
        "deliveries": delivery.deliveries,
        "headers": dict(delivery.headers),
        "dead_lettered_at": datetime.now(UTC).isoformat(),
        "payload_sha256": hashlib.sha256(delivery.payload).hexdigest(),
        "payload_bytes": len(delivery.payload),
    }
    # A copy of what fits in any event; a larger message stays where it is, in its stream at
    # ``stream_sequence``, named by its hash.
    if len(delivery.payload) <= MAX_EVENT_BYTES:
        entry["payload_base64"] = base64.b64encode(delivery.payload).decode()
    await js.publish(
        dead_letter_subject(consumer),
        json.dumps(entry).encode(),
        headers={
            "Nats-Msg-Id": f"{consumer}:{delivery.stream}:{delivery.stream_sequence}",
            "Crocevia-Reason": reason[:200],
        },
        timeout=5.0,
    )


# On a replayed message (stream REPLAYS): the subject it first came on.
REPLAYED_SUBJECT = "Crocevia-Subject"
REPLAYED_FROM = "Crocevia-Replay-Of"


def delivery_of(msg: Msg) -> Delivery:
    """The message as the intake reads it; a replay as the message it puts back."""
    meta = msg.metadata
    headers = dict(msg.headers or {})
    subject = msg.subject
    if subject.startswith(REPLAY_PREFIX + ".") and REPLAYED_SUBJECT in headers:
        subject = headers.pop(REPLAYED_SUBJECT)
    return Delivery(
        subject=subject,
        payload=msg.data,
        headers=headers,
        stream_sequence=meta.sequence.stream if meta else None,
        deliveries=meta.num_delivered if meta else 1,
        stream=meta.stream if meta else "",
    )


class StreamConsumer:
    """One durable pull consumer of a stream, applying what the intake lets through."""

    def __init__(
        self,
        *,
        name: str,
        stream: StreamSpec,
        filter_subject: str,
        intake: Intake,
        apply: Apply,
        batch_size: int = 1,
        batched: bool = False,
        fetch_wait_seconds: float = 1.0,
        ack_wait_seconds: float = 30.0,
        max_deliveries: int = 5,
        retry_delay: float = 0.5,
        inbox_prefix: str = DEFAULT_INBOX_PREFIX,
        after_batch: Callable[[], Awaitable[object]] | None = None,
        metrics: Metrics | None = None,
        linger_seconds: float = 0.0,
    ) -> None:
        self.name = name
        self.linger_seconds = linger_seconds
        self.metrics = metrics
        self.stream = stream
        self.filter_subject = filter_subject
        self.intake = intake
        self.apply = apply
        self.batch_size = batch_size
        self.batched = batched
        self.fetch_wait_seconds = fetch_wait_seconds
        self.ack_wait_seconds = ack_wait_seconds
        self.max_deliveries = max_deliveries
        self.retry_delay = retry_delay
        self.inbox_prefix = inbox_prefix
        self.after_batch = after_batch
        self.applied = 0
        self.dead_lettered = 0
        self.batches = 0
        # Why the last fetch failed (None once one succeeds): the service is not ready.
        self.failing: str | None = None
        self._tracer = tracer("crocevia.consumer")
        self._stopping = asyncio.Event()

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            # Named, so the create request names its filter in the subject: NATS permissions
            # confine a node to creating its own consumer on its own subjects.
            name=self.name,
            durable_name=self.name,
            filter_subject=self.filter_subject,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_seconds,
            max_ack_pending=self.batch_size,
            max_deliver=-1,  # bounded here, with a dead letter, never dropped by the server
        )

    async def ensure(self, js: JetStreamContext) -> None:
        """Create the durable, or bring an existing one to this configuration."""
        await js.add_consumer(self.stream.name, config=self.config())

    def replay_config(self) -> ConsumerConfig:
        """The durable that takes what the operator replays for this consumer (one at a time)."""
        name = replay_consumer(self.name)
        return ConsumerConfig(
            name=name,
            durable_name=name,
            filter_subject=replay_subject(self.name),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_seconds,
            max_ack_pending=1,
            max_deliver=-1,
        )

    def stop(self) -> None:
        """Ask ``run`` to return once the batch in hand is settled (no fetch after it)."""
        self._stopping.set()

    async def run(self, js: JetStreamContext) -> None:
        """Fetch and apply until stopped or cancelled, from the stream and from the replays
        of its dead letters; a consumer that disappears is made again."""
        await asyncio.gather(
            self._pull(js, self.stream.name, self.config(), self.batch_size),
            self._pull(js, REPLAYS.name, self.replay_config(), 1),
        )

    async def _pull(self, js: JetStreamContext, stream: str, config: ConsumerConfig, batch: int) -> None:
        async def ensure() -> None:
            await js.add_consumer(stream, config=config)

        await ensure()
        subscription = await js.pull_subscribe_bind(
            durable=str(config.durable_name), stream=stream, inbox_prefix=f"{self.inbox_prefix}.".encode()
        )
        strays = True  # until the server says none are out: at the start, after a failed fetch
        try:
            while not self._stopping.is_set():
                task = asyncio.current_task()
                if task is not None and task.cancelling():  # a cancellation the client's fetch swallowed
                    raise asyncio.CancelledError
                try:
                    if strays:
                        await self._await_strays(js, stream, str(config.durable_name))
                        strays = False
                    messages = await self._fetch(subscription, batch)
                    self.failing = None
                except (TimeoutError, NatsTimeoutError):
                    if not strays:  # the server answered the fetch: nothing to fetch
                        self.failing = None
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Connection trouble (the client reconnects by itself), or no consumer to
                    # answer (deleted while running): make it again.
                    self.failing = f"cannot fetch: {type(exc).__name__}"
                    log.warning("%s: %s", self.name, self.failing)
                    strays = True
                    await asyncio.sleep(self.retry_delay)
                    with contextlib.suppress(Exception):
                        await ensure()
                    continue
                try:
                    await self.process(js, messages)
                    if self.linger_seconds and len(messages) < batch:
                        # What comes meanwhile is fetched and applied as one batch.
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._stopping.wait(), self.linger_seconds)
                except Exception as exc:
                    # Not even a dead letter could be written (NATS away): what is not
                    # acknowledged comes back after the ack wait, before anything later.
                    log.error("%s: a batch could not be settled: %s", self.name, failure(exc))
                    strays = True
                    await asyncio.sleep(self.retry_delay)
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _fetch(self, subscription: JetStreamContext.PullSubscription, batch: int) -> list[Msg]:
        """Up to ``batch`` messages: the first as soon as it comes, then as many more as the
        server says are pending after it. One fetch of the whole batch is a pull request the
        server keeps open after its first message until the next one comes or the request
        ends, and the client waits for that end: in bench network, 110-220 ms added to a
        message that came alone."""
        messages = await subscription.fetch(1, timeout=self.fetch_wait_seconds)
        pending = messages[0].metadata.num_pending
        if batch > 1 and pending:
            with contextlib.suppress(TimeoutError, NatsTimeoutError):
                messages += await subscription.fetch(min(batch - 1, pending), timeout=self.fetch_wait_seconds)
        return messages

    async def _await_strays(self, js: JetStreamContext, stream: str, durable: str) -> None:
        """When the server counts messages handed out and not acknowledged while this
        process holds none, wait until their ack wait is over (they were handed out before
        now), so that they come back before anything after them."""
        if not (await js.consumer_info(stream, durable)).num_ack_pending:
            return
        wait = self.ack_wait_seconds + STRAY_MARGIN_SECONDS
        log.info("%s: messages handed out earlier are unacknowledged: fetching again in %.0f s", self.name, wait)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), wait)

    async def process(self, js: JetStreamContext, messages: Sequence[Msg]) -> None:
        """Check, apply and acknowledge one fetched batch, in order."""
        spans = [self._span(msg) for msg in messages]
        try:
            pairs = list(zip(messages, spans, strict=True))
            if self.batched:
                await self._apply_batch(js, pairs, pairs)
            else:
                for i, pair in enumerate(pairs):
                    await self._apply_batch(js, [pair], pairs[i:])
        finally:
            for span in spans:
                span.end()
        self.batches += 1
        if self.after_batch is not None:
            try:
                await self.after_batch()
            except Exception as exc:
                log.error("%s: after the batch: %s", self.name, failure(exc))

    async def _apply_batch(
        self, js: JetStreamContext, batch: list[tuple[Msg, trace.Span]], waiting: list[tuple[Msg, trace.Span]]
    ) -> None:
        """Verify each message, then apply those that passed together; on a failure of the
        whole, apply them one by one so that only the culprit is retried. ``waiting`` are the
        fetched messages not acknowledged yet (kept alive while one is retried)."""
        ready: list[tuple[Msg, trace.Span, Verified]] = []
        for msg, span in batch:
            verified = await self._verify(js, msg, span, waiting)
            if verified is not None:
                ready.append((msg, span, verified))
        if not ready:
            return
        if len(ready) > 1:  # only with ``batched``
            try:
                results = await self._attempt(ready, waiting)
            except Exception as exc:
                log.warning("%s: a batch of %d failed (%s): applying one by one", self.name, len(ready), failure(exc))
            else:
                await self._settle(js, ready, results)
                return
        for one in ready:
            await self._apply_one(js, one, waiting)

    async def _verify(
        self, js: JetStreamContext, msg: Msg, span: trace.Span, waiting: list[tuple[Msg, trace.Span]]
    ) -> Verified | None:
        delivery = delivery_of(msg)
        tries, outage = 0, 0
        while True:
            if delivery.deliveries + tries > self.max_deliveries:
                await self._dead_letter(js, msg, span, f"gave up after {delivery.deliveries + tries - 1} tries")
                return None
            try:
                return await self.intake.verify(delivery)
            except Unprocessable as exc:
                await self._dead_letter(js, msg, span, exc.reason)
                return None
            except Exception as exc:
                if unavailable(exc):
                    outage += 1
                    log.warning("%s: cannot check %s now: %s", self.name, msg.subject, failure(exc))
                    await self._hold(waiting, min(outage, 10))
                    continue
                tries += 1
                reason = str(exc) if isinstance(exc, NotYet) else failure(exc)
                if delivery.deliveries + tries > self.max_deliveries:
                    await self._dead_letter(js, msg, span, f"gave up after {tries} tries: {reason}")
                    return None
                span.add_event("retry", {"reason": reason})
                await self._hold(waiting, tries)

    async def _attempt(
        self, ready: list[tuple[Msg, trace.Span, Verified]], waiting: list[tuple[Msg, trace.Span]]
    ) -> Sequence[str | None]:
        """Apply ``ready`` once, waiting out a database outage."""
        outage = 0
        while True:
            try:
                results = await self.apply([v for _, _, v in ready])
            except Exception as exc:
                if not unavailable(exc):
                    raise
                outage += 1
                log.warning("%s: database unavailable, holding %d messages: %s", self.name, len(ready), failure(exc))
                await self._hold(waiting, min(outage, 10))
                continue
            if len(results) != len(ready):
                raise RuntimeError("apply answered for another number of messages than it was given")
            return results

    async def _apply_one(
        self,
        js: JetStreamContext,
        one: tuple[Msg, trace.Span, Verified],
        waiting: list[tuple[Msg, trace.Span]],
    ) -> None:
        msg, span, verified = one
        tries = 0
        while True:
            try:
                # Current, so that what the message causes (events, spans) joins its trace.
                with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
                    results = await self._attempt([one], waiting)
            except Exception as exc:
                tries += 1
                reason = str(exc) if isinstance(exc, NotYet) else failure(exc)
                if verified.delivery.deliveries + tries > self.max_deliveries:
                    await self._dead_letter(js, msg, span, f"gave up after {tries} tries: {reason}")
                    return
                span.add_event("retry", {"reason": reason})
                log.warning("%s: will retry %s (try %d): %s", self.name, msg.subject, tries, reason)
                await self._hold(waiting, tries)
                continue
            await self._settle(js, [one], results)
            return

    async def _settle(
        self, js: JetStreamContext, ready: list[tuple[Msg, trace.Span, Verified]], results: Sequence[str | None]
    ) -> None:
        for (msg, span, _), reason in zip(ready, results, strict=True):
            if reason is None:
                self.applied += 1
                if self.metrics is not None:
                    self.metrics.applied.labels(self.name).inc()
                span.set_attribute("crocevia.outcome", "applied")
                await msg.ack()
            else:
                await self._dead_letter(js, msg, span, reason)

    async def _dead_letter(self, js: JetStreamContext, msg: Msg, span: trace.Span, reason: str) -> None:
        span.set_attribute("crocevia.outcome", "dead-lettered")
        span.set_attribute("crocevia.dead_letter.reason", reason)
        span.set_status(Status(StatusCode.ERROR, "dead-lettered"))
        await dead_letter(js, self.name, delivery_of(msg), reason)
        self.dead_lettered += 1
        if self.metrics is not None:
            self.metrics.dead_letters.labels(self.name, reason_kind(reason)).inc()
        await msg.ack()
        log.warning("%s: dead-lettered %s: %s", self.name, msg.subject, reason)

    async def _hold(self, waiting: Sequence[tuple[Msg, trace.Span]], tries: int) -> None:
        """Tell the server the messages are still being worked on, and wait before a retry."""
        for msg, _ in waiting:
            with contextlib.suppress(Exception):
                await msg.in_progress()
        await asyncio.sleep(min(self.retry_delay * tries, 5.0))

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
