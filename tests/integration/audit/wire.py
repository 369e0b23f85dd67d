"""Talking to the audit over NATS as the network does: publishing events, reading what
the audit publishes and dead-letters."""

from __future__ import annotations

import json
import weakref
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import nats
from nats.js import JetStreamContext

from crocevia_common.messaging.intake import Delivery
from crocevia_common.messaging.stream_specs import bucket_stream
from crocevia_common.messaging.streams import directory_bucket
from crocevia_contracts.directory import service_party
from crocevia_contracts.sealing import PartyKeys
from crocevia_contracts.stream import DIRECTORY
from tests.kit.parties import Signers

_signers: weakref.WeakKeyDictionary[JetStreamContext, Signers] = weakref.WeakKeyDictionary()
# By NATS server and the directory it holds: the same keys on every connection to a server,
# and across its restarts, but never the keys of an earlier server that used the same port
# (they are not in this server's directory).
_keys: dict[tuple[str, str], dict[str, PartyKeys]] = {}


async def signers(js: JetStreamContext) -> Signers:
    """The keys the test's agencies and notifications service sign with on this NATS server;
    each is in its directory once it has signed something."""
    found = _signers.get(js)
    if found is None:
        server = str(js._nc.connected_url.netloc if js._nc.connected_url else "")  # type: ignore[attr-defined]
        await directory_bucket(js)
        made = (await js.stream_info(bucket_stream(DIRECTORY).name)).created
        found = _signers[js] = Signers(js, keys=_keys.setdefault((server, str(made)), {}))
    return found


def publisher(subject: str) -> str:
    """Who publishes on ``subject``: the agency it names first, or the notifications service."""
    parts = subject.split(".")
    return service_party("notifications") if parts[0] == "notice" else parts[2]


@asynccontextmanager
async def jetstream(nats_url: str) -> AsyncIterator[JetStreamContext]:
    connection = await nats.connect(nats_url)
    try:
        yield connection.jetstream()
    finally:
        await connection.close()


async def publish(js: JetStreamContext, deliveries: Iterable[Delivery], *, dedupe: bool = True) -> None:
    """Publish events as a node's relay does: signed by their publisher, ``Nats-Msg-Id`` =
    event id (unless not ``dedupe``)."""
    for delivery in deliveries:
        headers = await (await signers(js)).headers(publisher(delivery.subject), delivery.payload)
        if dedupe:
            try:
                headers["Nats-Msg-Id"] = json.loads(delivery.payload)["id"]
            except (ValueError, KeyError):
                pass
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
