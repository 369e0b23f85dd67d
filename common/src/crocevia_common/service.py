"""The runtime every Crocevia service shares: database, broker, outbox relay, consumers,
health and readiness, problem+json, authentication and tracing, wired once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from crocevia_common.auth import TokenVerifier
from crocevia_common.db import Database
from crocevia_common.inputs import BodyLimit
from crocevia_common.messaging.connection import inbox_prefix_for
from crocevia_common.messaging.consumer import DurableConsumer
from crocevia_common.messaging.outbox import OutboxRelay
from crocevia_common.messaging.streams import ensure_streams
from crocevia_common.messaging.tables import MessagingTables
from crocevia_common.problems import MEDIA_TYPE, install_problem_handlers
from crocevia_common.redaction import redact_access_log, redact_span
from crocevia_common.settings import ServiceSettings
from crocevia_common.telemetry import setup_tracing

log = logging.getLogger(__name__)

Hook = Callable[["ServiceRuntime"], Awaitable[None]]


class ServiceRuntime:
    """Owns a service's connections and background tasks for the lifetime of its app."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        migrations: Path,
        tables: MessagingTables,
    ) -> None:
        self.settings = settings
        self.migrations = migrations
        self.tables = tables
        self.db = Database(settings.database_url)
        self.broker = NatsBroker(
            settings.nats_url,
            inbox_prefix=inbox_prefix_for(settings.nats_url, settings.nats_inbox_prefix),
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            log_level=logging.DEBUG,
        )
        self.relay = OutboxRelay(self.db, tables, self.jetstream, settings.outbox_poll_seconds)
        self.consumers: list[DurableConsumer] = []
        self._on_start: list[Hook] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []
        self._tasks: list[asyncio.Task[Any]] = []

    def jetstream(self) -> JetStreamContext:
        return self.broker.connection.jetstream()

    def add_consumer(self, consumer: DurableConsumer) -> None:
        consumer.inbox_prefix = inbox_prefix_for(self.settings.nats_url, self.settings.nats_inbox_prefix)
        consumer.ack_wait_seconds = self.settings.consumer_ack_wait_seconds
        self.consumers.append(consumer)
        consumer.register(self.broker)

    def on_start(self, hook: Hook) -> None:
        """Run ``hook`` after the database and NATS are ready, before consumers start."""
        self._on_start.append(hook)

    def on_stop(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` when the service stops, before the connections close."""
        self._on_stop.append(hook)

    def spawn(self, coro: Awaitable[Any], name: str) -> None:
        """Run a background task for as long as the service runs."""
        self._tasks.append(asyncio.ensure_future(coro))
        self._tasks[-1].set_name(name)

    @asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        setup_tracing(self.settings.service_name, self.settings.otel_exporter_otlp_endpoint)
        await self.db.migrate(self.migrations)
        await self.broker.connect()
        await ensure_streams(self.jetstream(), self.settings.stream_replicas)
        for hook in self._on_start:
            await hook(self)
        await self.broker.start()
        self.spawn(self.relay.run(), "outbox-relay")
        try:
            yield
        finally:
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                # A cancel that lands as an awaited future completes can be swallowed
                # (Python 3.11's wait_for, also inside libraries): ask until it stops.
                while not task.done():
                    await asyncio.wait({task}, timeout=0.5)
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._tasks.clear()
            for stop in reversed(self._on_stop):
                with contextlib.suppress(Exception):
                    await stop()
            self._on_stop.clear()
            await self.broker.stop()
            await self.db.dispose()

    async def ready(self) -> dict[str, bool]:
        connection = self.broker._connection  # None until connected
        return {
            "database": await self.db.ping(),
            "nats": bool(connection is not None and connection.is_connected),
        }

    def create_app(self, title: str, **fastapi_options: Any) -> FastAPI:
        app = FastAPI(title=title, lifespan=self.lifespan, **fastapi_options)
        app.state.runtime = self
        app.state.token_verifier = TokenVerifier(self.settings)
        install_problem_handlers(app)

        @app.get("/healthz", tags=["health"], summary="The process is alive")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/readyz", tags=["health"], summary="The database and NATS are reachable")
        async def readyz() -> JSONResponse:
            checks = await self.ready()
            if all(checks.values()):
                return JSONResponse({"status": "ready", "checks": checks})
            body = {"type": "/problems/not-ready", "title": "Not ready", "status": 503, "checks": checks}
            return JSONResponse(body, status_code=503, media_type=MEDIA_TYPE)

        app.add_middleware(BodyLimit)
        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz", server_request_hook=redact_span)
        redact_access_log()
        return app
