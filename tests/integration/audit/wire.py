"""Talking to the audit over NATS as the network does: publishing events, reading what
the audit publishes and dead-letters."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import nats
from nats.js import JetStreamContext

from crocevia_audit.handlers.intake import Delivery


@asynccontextmanager
async def jetstream(nats_url: str) -> AsyncIterator[JetStreamContext]:
    connection = await nats.connect(nats_url)
    try:
        yield connection.jetstream()
    finally:
        await connection.close()


async def publish(js: JetStreamContext, deliveries: Iterable[Delivery], *, dedupe: bool = True) -> None:
    """Publish events as a node's relay does (``Nats-Msg-Id`` = event id, unless not)."""
    for delivery in deliveries:
        headers = None
        if dedupe:
            try:
                headers = {"Nats-Msg-Id": json.loads(delivery.payload)["id"]}
            except (ValueError, KeyError):
                headers = None
        await js.publish(delivery.subject, delivery.payload, headers=headers)


async def stored(js: JetStreamContext, stream: str, subject: str) -> list[tuple[bytes, dict[str, str]]]:
    """Every message of ``stream`` on ``subject`` so far: payload and headers."""
    found = []
    info = await js.stream_info(stream)
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msg = await js.get_msg(stream, sequence)
        except Exception:
            continue
        if msg.subject == subject:
            found.append((msg.data or b"", dict(msg.headers or {})))
    return found
