"""Durable JetStream pull consumers with a deliberate acknowledgement policy.

Acknowledgement is manual (``AckPolicy.MANUAL``), decided here once for every service:

- the handler returns: the message is acknowledged;
- the handler raises ``Unprocessable``: the message can never be applied, so it goes to the
  dead-letter subject with the reason, and is then acknowledged;
- the handler raises anything else (database down, a bug): the message is nacked with a
  delay and redelivered; after ``max_attempts`` deliveries it goes to the dead-letter
  subject too, so nothing is dropped silently.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from faststream import AckPolicy
from faststream.nats import ConsumerConfig, DeliverPolicy, JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from opentelemetry import trace

from crocevia_common.messaging.connection import DEFAULT_INBOX_PREFIX
from crocevia_common.telemetry import context_from, tracer
from crocevia_contracts import dead_letter_subject

log = logging.getLogger(__name__)


class Unprocessable(Exception):
    """A message that can never be applied; ``reason`` is recorded with its dead letter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Handler = Callable[[Msg], Awaitable[None]]


async def dead_letter(js: JetStreamContext, consumer: str, msg: Msg, reason: str) -> None:
    """Store ``msg`` on the dead-letter subject of ``consumer`` with ``reason``."""
    meta = msg.metadata
    entry: dict[str, Any] = {
        "consumer": consumer,
        "reason": reason,
        "subject": msg.subject,
        "stream_sequence": meta.sequence.stream if meta else None,
        "deliveries": meta.num_delivered if meta else None,
        "headers": dict(msg.headers or {}),
        "dead_lettered_at": datetime.now(UTC).isoformat(),
    }
    try:
        entry["payload"] = msg.data.decode()
    except UnicodeDecodeError:
        entry["payload_base64"] = base64.b64encode(msg.data).decode()
    msg_id = f"{consumer}:{entry['stream_sequence']}"
    await js.publish(
        dead_letter_subject(consumer),
        json.dumps(entry).encode(),
        headers={"Nats-Msg-Id": msg_id, "Crocevia-Reason": reason[:200]},
        timeout=5.0,
    )


class DurableConsumer:
    """One durable pull consumer of a stream, applying messages one at a time in order."""

    def __init__(
        self,
        *,
        name: str,
        stream: str,
        filter_subject: str,
        handler: Handler,
        redelivery_delay: float = 2.0,
        max_attempts: int = 10,
        ack_wait_seconds: float = 60.0,
        inbox_prefix: str = DEFAULT_INBOX_PREFIX,
    ) -> None:
        self.name = name
        self.inbox_prefix = inbox_prefix
        self.stream = stream
        self.filter_subject = filter_subject
        self.handler = handler
        self.redelivery_delay = redelivery_delay
        self.max_attempts = max_attempts
        self.ack_wait_seconds = ack_wait_seconds
        self.applied = 0
        self.dead_lettered = 0
        self._tracer = tracer("crocevia.consumer")

    def register(self, broker: NatsBroker) -> None:
        """Subscribe on ``broker``. One message per fetch, so messages are applied in stream
        order (a larger fetch would be handled concurrently by FastStream)."""

        @broker.subscriber(
            self.filter_subject,
            stream=JStream(name=self.stream, declare=False),
            durable=self.name,
            pull_sub=PullSub(batch_size=1, timeout=1.0),
            ack_policy=AckPolicy.MANUAL,
            config=ConsumerConfig(
                ack_wait=self.ack_wait_seconds,
                deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=1000,
            ),
            title=self.name,
            # FastStream would otherwise fetch on the shared ``_INBOX.``, which a NATS user
            # confined to its own replies may not read.
            inbox_prefix=f"{self.inbox_prefix}.".encode(),
        )
        async def _on_message(body: Any, message: NatsMessage) -> None:
            await self.process(message, broker)

    async def process(self, message: NatsMessage, broker: NatsBroker) -> None:
        msg: Msg = message.raw_message
        js = broker.connection.jetstream()
        with self._tracer.start_as_current_span(
            f"process {msg.subject}",
            context=context_from(msg.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.consumer.group.name": self.name,
                "messaging.destination.name": msg.subject,
            },
        ) as span:
            try:
                await self.handler(msg)
            except Unprocessable as exc:
                span.set_attribute("crocevia.dead_letter.reason", exc.reason)
                await dead_letter(js, self.name, msg, exc.reason)
                self.dead_lettered += 1
                await message.ack()
                log.warning("%s: dead-lettered %s: %s", self.name, msg.subject, exc.reason)
                return
            except Exception as exc:
                span.record_exception(exc)
                attempts = msg.metadata.num_delivered if msg.metadata else 1
                if attempts >= self.max_attempts:
                    await dead_letter(js, self.name, msg, f"gave up after {attempts} attempts: {exc!r}")
                    self.dead_lettered += 1
                    await message.ack()
                    log.error("%s: gave up on %s: %r", self.name, msg.subject, exc)
                else:
                    log.warning("%s: will retry %s (attempt %d): %r", self.name, msg.subject, attempts, exc)
                    await message.nack(delay=self.redelivery_delay * attempts)
                return
            self.applied += 1
            await message.ack()
