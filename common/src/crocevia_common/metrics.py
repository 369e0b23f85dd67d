"""What an operator watches, at ``/metrics`` on every service (Prometheus text format),
named ``crocevia_...``: HTTP by route and status, the outbox's backlog and the age of its
oldest event, each consumer's pending and redelivered messages, what it applied and what it
dead-lettered (by reason, numbers folded), and whether the service is ready. A service adds
its own (the audit's trail, the notifications' deliveries) through ``Metrics.on_scrape``.

Each app has its own registry, so that several services can run in one process (tests)."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import ColumnElement, and_, func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from crocevia_common.db import Database
from crocevia_common.messaging.tables import MessagingTables

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Refresh = Callable[[], Awaitable[None]]


def reason_kind(reason: str) -> str:
    """A dead-letter reason as a label: numbers folded, so that the label set stays small."""
    return re.sub(r"\d+", "N", reason)[:80]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "crocevia_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=r
        )
        self.http_seconds = Histogram(
            "crocevia_http_request_seconds", "Time to answer an HTTP request", ["method", "route"], registry=r
        )
        self.outbox_backlog = Gauge("crocevia_outbox_backlog", "Events in the outbox not published yet", registry=r)
        self.outbox_oldest = Gauge(
            "crocevia_outbox_oldest_age_seconds", "Age of the oldest event not published yet (0: none)", registry=r
        )
        self.consumer_pending = Gauge(
            "crocevia_consumer_pending",
            "Messages of the stream not delivered to the consumer yet",
            ["consumer"],
            registry=r,
        )
        self.consumer_unacknowledged = Gauge(
            "crocevia_consumer_unacknowledged", "Messages delivered, not acknowledged yet", ["consumer"], registry=r
        )
        self.consumer_redelivered = Gauge(
            "crocevia_consumer_redelivered", "Messages delivered more than once, pending now", ["consumer"], registry=r
        )
        self.applied = Counter("crocevia_consumer_applied", "Messages applied", ["consumer"], registry=r)
        self.dead_letters = Counter(
            "crocevia_dead_letters", "Messages dead-lettered, by reason", ["consumer", "reason"], registry=r
        )
        self.ready = Gauge("crocevia_ready", "1 when the check passes", ["check"], registry=r)
        self._refreshers: list[Refresh] = []

    def on_scrape(self, refresh: Refresh) -> None:
        """Run ``refresh`` before each scrape (it sets the gauges it owns)."""
        self._refreshers.append(refresh)

    async def exposition(self) -> bytes:
        for refresh in self._refreshers:
            try:
                await refresh()
            except Exception:  # a metric that cannot be read now keeps its last value
                continue
        return bytes(generate_latest(self.registry))

    async def response(self, _request: Request) -> Response:
        return Response(await self.exposition(), media_type=CONTENT_TYPE)


async def outbox_state(db: Database, tables: MessagingTables, metrics: Metrics, published: Sequence[int] = ()) -> None:
    """The outbox's backlog: its events not published, but for the positions ``published``
    (the relay's, published and not marked yet)."""
    box = tables.outbox
    waiting: ColumnElement[bool] = box.c.published_at.is_(None)
    if published:
        waiting = and_(waiting, box.c.position.not_in(list(published)))
    async with db.connect() as session:
        count, oldest = (await session.execute(select(func.count(), func.min(box.c.created_at)).where(waiting))).one()
    metrics.outbox_backlog.set(count)
    metrics.outbox_oldest.set(0 if oldest is None else max(0.0, time.time() - oldest.timestamp()))


class HttpMetrics:
    """ASGI middleware counting requests by method, route template (never the raw path, which
    holds ids) and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        began = time.perf_counter()
        try:
            await self.app(scope, receive, sending)
        finally:
            # The router names the route it matched in the scope: its template, never the path.
            route = str(getattr(scope.get("route"), "path", "other"))
            method = scope["method"]
            self.metrics.http_requests.labels(method, route, str(status["code"])).inc()
            self.metrics.http_seconds.labels(method, route).observe(time.perf_counter() - began)
