"""What the notifications tests stand on: a real SMTP server, a real HTTP receiver for
webhooks, a clock the test can move, and events published on the real stream."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crocevia_contracts import EVENT_MODELS, Envelope, EventName, referral_subject
from crocevia_contracts.events import Requested
from crocevia_contracts.lifecycle import PUBLISHERS, Side
from tests.kit.nats import free_port
from tests.kit.parties import Signers
from tests.kit.services import eventually


class SmtpSink:
    """An SMTP server on a free loopback port that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@dataclass
class Hit:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class WebhookReceiver:
    """An HTTP server on a free loopback port. ``POST /<name>`` is recorded and answered
    with the next status planned for ``name`` (200 when none); names in ``hang`` do not
    answer until ``release`` is set."""

    port: int = field(default_factory=free_port)
    hits: dict[str, list[Hit]] = field(default_factory=lambda: defaultdict(list))
    plans: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    hang: set[str] = field(default_factory=set)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    async def _receive(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.hits[name].append(Hit(dict(request.headers), await request.body(), time.monotonic()))
        if name in self.hang:
            await self.release.wait()
        status = self.plans[name].pop(0) if self.plans[name] else 200
        return Response(status_code=status)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[WebhookReceiver]:
        app = Starlette(routes=[Route("/{name}", self._receive, methods=["POST"])])
        async with served(app, self.port, lifespan="off"):
            yield self


@contextlib.asynccontextmanager
async def served(app: Starlette | FastAPI, port: int, lifespan: str = "on") -> AsyncIterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1:``port`` in this event loop; yield its URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, 10)
        except TimeoutError:
            server.force_exit = True
            task.cancel()


class MovableClock:
    """Real time from ``start``, plus whatever the test moves it forward by."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime.now(UTC)
        self._began = time.monotonic()
        self._offset = timedelta()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._began) + self._offset

    def advance(self, **delta: float) -> None:
        self._offset += timedelta(**delta)


class Events:
    """Publishes well-formed referral events on the real stream, as nodes would: each side
    numbers its events about a referral (``step``)."""

    def __init__(self, js: JetStreamContext, signers: Signers) -> None:
        self.js = js
        self.signers = signers
        self._sequences: dict[str, int] = defaultdict(int)
        self._steps: dict[tuple[str, Side], int] = defaultdict(int)

    async def publish(self, data: Any, event_id: str | None = None) -> Envelope:
        """Publish ``data`` from the party that reports it, to the other party."""
        name = EventName(data.event)
        side = Side.SENDER if Side.SENDER in PUBLISHERS[name] else Side.RECEIVER
        source = data.sender_agency if side is Side.SENDER else data.receiver_agency
        target = data.receiver_agency if side is Side.SENDER else data.sender_agency
        self._sequences[source] += 1
        if data.step is None:
            self._steps[(data.referral_id, side)] += 1
            data = data.model_copy(update={"step": self._steps[(data.referral_id, side)]})
        envelope = Envelope.build(source_agency=source, sequence=self._sequences[source], data=data, event_id=event_id)
        await self.signers.publish(source, referral_subject(source, target, name), envelope.to_json(), envelope.id)
        return envelope

    async def requested(
        self,
        referral_id: str,
        *,
        sender: str = "pioltello-casa",
        receiver: str = "cpia2",
        service_id: str = "main-service",
        priority: str = "routine",
        captured_by: str = "op-1",
        at: datetime | None = None,
    ) -> Requested:
        data = Requested(
            referral_id=referral_id,
            sender_agency=sender,
            receiver_agency=receiver,
            service_id=service_id,
            priority=priority,
            occurred_at=at or datetime.now(UTC),  # type: ignore[arg-type]
            legal_basis={"basis": "consent", "captured_by": captured_by},  # type: ignore[arg-type]
        )
        await self.publish(data)
        return data

    async def step(self, requested: Requested, event: EventName, **fields: Any) -> Envelope:
        """Publish a later event of the referral ``requested`` started."""
        common = requested.model_dump(
            include={"referral_id", "sender_agency", "receiver_agency", "service_id", "domain", "priority"}
        )
        data = EVENT_MODELS[event](**common, occurred_at=datetime.now(UTC), **fields)
        return await self.publish(data)


async def looked_again(client: Any, *workers: str, rounds: int = 2) -> None:
    """Wait until each named worker of the service behind ``client`` (``e-mail``,
    ``webhooks``, ``timers``) has done ``rounds`` more rounds and has nothing under way: what
    was due when this was called has been done."""
    for name in workers:
        await client.app.state.workers[name].looked_again(rounds)


async def consumed(js: JetStreamContext, consumer: str = "notifications", stream: str = "REFERRALS") -> bool:
    """True once the consumer has acknowledged everything in its stream (False while the
    service has not made its durable consumer yet)."""
    try:
        info = await js.consumer_info(stream, consumer)
    except NotFoundError:
        return False
    return info.num_pending == 0 and info.num_ack_pending == 0


async def until(check: Callable[[], Any], within: float = 10.0) -> Any:
    """``eventually`` for a plain (not async) check."""

    async def asked() -> Any:
        return check()

    return await eventually(asked, within)
