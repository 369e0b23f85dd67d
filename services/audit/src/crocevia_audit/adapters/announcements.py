"""Reading back what the audit published on its stream AUDIT, from the first message.

Read-only: an ephemeral pull consumer that acknowledges nothing and is deleted after the
pass (or forgotten by the server a minute after its last fetch). Messages come in stream
order, a batch at a time, so memory stays flat however long the stream is; the pass ends
at the last message the stream held when it began.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Awaitable, Callable

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from crocevia_audit.domain.announcements import Announcement, AnnouncementsUnavailable
from crocevia_contracts.stream import AUDIT_ANNOUNCEMENTS


class AnnouncementReader:
    """Every message of the stream AUDIT, in order, handed over in batches."""

    def __init__(self, js: JetStreamContext, *, batch_size: int = 400, timeout: float = 5.0) -> None:
        self.js = js
        self.batch_size = batch_size
        self.timeout = timeout

    async def each_batch(self, handle: Callable[[list[Announcement]], Awaitable[None]]) -> None:
        """Call ``handle`` with each batch of messages, oldest first."""
        stream = AUDIT_ANNOUNCEMENTS.name
        try:
            info = await self.js.stream_info(stream)
        except NotFoundError:
            return  # nothing was ever published
        except (TimeoutError, nats.errors.Error) as exc:
            raise AnnouncementsUnavailable(f"the stream {stream} cannot be read: {exc}") from None
        if info.state.messages == 0:
            return
        last = info.state.last_seq
        name = f"audit-verify-{secrets.token_hex(8)}"
        config = ConsumerConfig(
            name=name,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=60.0,
            mem_storage=True,
            num_replicas=1,
        )
        try:
            await self.js.add_consumer(stream, config)
            subscription = await self.js.pull_subscribe_bind(stream=stream, name=name)
        except (TimeoutError, nats.errors.Error) as exc:
            raise AnnouncementsUnavailable(f"the stream {stream} cannot be read: {exc}") from None
        read = 0
        try:
            while True:
                try:
                    messages = await subscription.fetch(self.batch_size, timeout=self.timeout)
                except (TimeoutError, nats.errors.Error) as exc:
                    raise AnnouncementsUnavailable(
                        f"the stream {stream} stopped answering after {read} of its messages: {exc}"
                    ) from None
                read += len(messages)
                await handle([Announcement(m.metadata.sequence.stream, m.subject, m.data or b"") for m in messages])
                newest = messages[-1].metadata
                if newest.sequence.stream >= last or newest.num_pending == 0:
                    return
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
            with contextlib.suppress(Exception):
                await self.js.delete_consumer(stream, name)
