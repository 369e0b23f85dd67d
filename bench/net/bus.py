"""The network's NATS as its operator (``admin``) sees it: how far each durable consumer
has come, what a stream holds, and copies of its messages for the raw reference."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import ServiceUnavailableError

from crocevia.deadletters import letters
from crocevia_common.messaging.connection import read_password
from crocevia_contracts.stream import DEAD_LETTERS, NOTICES, REFERRAL_EVENTS

REFERRALS = REFERRAL_EVENTS.name
# The durable consumers of the audit and of notifications on REFERRALS (ARCHITECTURE.md).
AUDIT_CONSUMER = "audit"
NOTIFICATIONS_CONSUMER = "notifications"
RAW_STREAM = "BENCHRAW"
RAW_SUBJECT = "bench.raw"
# What a read's consumer or fetch meets while a cluster elects leaders again.
_UNANSWERED = (ServiceUnavailableError, NoRespondersError, NatsTimeoutError, TimeoutError)


async def _quiet(_error: Exception) -> None:
    pass


class Bus:
    """A connection as the network's operator."""

    def __init__(self, nc: Nats) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream(timeout=30)

    @classmethod
    async def connect(cls, urls: Mapping[str, Any]) -> Bus:
        password = read_password(Path(urls["nats_password_files"]["admin"]))
        nc = await nats.connect(
            urls["nats"],
            user="admin",
            password=password,
            inbox_prefix=b"_INBOX.admin",
            max_reconnect_attempts=-1,
            error_cb=_quiet,  # a NATS server going away is reported by what waits on it
        )
        return cls(nc)

    async def close(self) -> None:
        await self.nc.close()

    async def last_sequence(self, stream: str = REFERRALS) -> int:
        return int((await self.js.stream_info(stream)).state.last_seq)

    async def count(self, stream: str) -> int:
        return int((await self.js.stream_info(stream)).state.messages)

    async def dead_letters(self) -> int:
        return await self.count(DEAD_LETTERS.name)

    async def dead_letter_reasons(self) -> Counter[str]:
        """How many dead letters each consumer holds for each reason."""
        return Counter(f"{letter.consumer}: {letter.reason}" for letter in await letters(self.nc))

    async def notices(self) -> int:
        return await self.count(NOTICES.name)

    async def wait_caught_up(self, durable: str, upto: int, timeout: float, poll: float = 0.02) -> float:
        """Wait until ``durable`` has acknowledged every message up to stream sequence
        ``upto``; the ``time.perf_counter()`` at which it was seen so."""
        return (await self.drain(durable, upto, upto, timeout, poll))[1]

    async def drain(
        self, durable: str, first: int, last: int, timeout: float, poll: float = 0.01
    ) -> tuple[float, float]:
        """Wait until ``durable`` has acknowledged everything up to stream sequence ``last``;
        when (``time.perf_counter()``) it was first seen holding message ``first``
        (delivered to it, or already acknowledged), and when it was done."""
        deadline = time.perf_counter() + timeout
        started: float | None = None
        while True:
            info = await self.js.consumer_info(REFERRALS, durable)
            now = time.perf_counter()
            if started is None and int(info.delivered.stream_seq or 0) >= first:
                started = now
            floor = int(info.ack_floor.stream_seq or 0)
            if floor >= last:
                return (started if started is not None else now), now
            if now > deadline:
                raise TimeoutError(f"consumer {durable}: at {floor} of {last} after {timeout:.0f} s")
            await asyncio.sleep(poll)

    async def read(
        self, stream: str, first: int = 1, last: int | None = None, patience: float = 60.0
    ) -> AsyncIterator[Msg]:
        """The messages of ``stream`` from sequence ``first`` to ``last`` (its end by
        default), each once and in order, read by an ephemeral consumer that acknowledges
        nothing. A clustered stream may have no consumer leader to answer for a while after
        a member was killed: the read goes on from the next message with a new consumer,
        for up to ``patience`` seconds in all."""
        deadline = time.monotonic() + patience
        while last is None:
            try:
                last = await self.last_sequence(stream)
            except _UNANSWERED:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
        after = first - 1  # the last message handed out
        while after < last:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=after + 1,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=60.0,
            )
            try:
                sub = await self.js.pull_subscribe("", stream=stream, config=config)
                try:
                    while after < last:
                        for msg in await sub.fetch(1000, timeout=10):
                            yield msg
                            after = msg.metadata.sequence.stream
                            if after >= last:
                                return
                finally:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()
            except _UNANSWERED:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def event_ids(self, stream: str) -> list[str]:
        """The ``Nats-Msg-Id`` (the event id) of every message of ``stream``."""
        return [(m.headers or {}).get("Nats-Msg-Id", "") async for m in self.read(stream)]

    async def copy_to_raw(self, first: int, last: int) -> int:
        """Copy REFERRALS' messages ``first`` to ``last`` (headers and payloads as they are)
        to a stream of their own, for the raw pipeline to consume; how many."""
        await self.js.add_stream(StreamConfig(name=RAW_STREAM, subjects=[f"{RAW_SUBJECT}.>"], storage=StorageType.FILE))
        acks = []
        async for msg in self.read(REFERRALS, first, last):
            headers = {k: v for k, v in (msg.headers or {}).items() if not k.startswith("Nats-Expected")}
            acks.append(await self.js.publish_async(f"{RAW_SUBJECT}.{msg.subject}", msg.data, headers=headers))
        await asyncio.gather(*acks)
        return len(acks)

    async def drop_raw(self) -> None:
        await self.js.delete_stream(RAW_STREAM)
