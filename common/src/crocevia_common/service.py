"""The runtime every Crocevia service shares: database, broker, outbox relay, consumers,
health and readiness, problem+json, authentication and tracing, wired once."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from faststream.nats import NatsBroker, NatsUserPassword
from nats.js import JetStreamContext
from nats.js.kv import KeyValue
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from sqlalchemy.exc import DBAPIError

from crocevia_common.auth import TokenVerifier
from crocevia_common.db import Database, storage_full, unavailable
from crocevia_common.directory import DirectoryUnavailable, DirectoryView
from crocevia_common.inputs import BodyLimit
from crocevia_common.messaging.connection import inbox_prefix_for, nats_login
from crocevia_common.messaging.consumer import Apply, StreamConsumer
from crocevia_common.messaging.intake import Intake
from crocevia_common.messaging.outbox import OutboxRelay
from crocevia_common.messaging.streams import directory_bucket, ensure_stream, ensure_streams
from crocevia_common.messaging.tables import MessagingTables
from crocevia_common.metrics import HttpMetrics, Metrics, outbox_state
from crocevia_common.problems import MEDIA_TYPE, Problem, install_problem_handlers, problem_response
from crocevia_common.redaction import redact_access_log, redact_span
from crocevia_common.settings import ServiceSettings
from crocevia_common.telemetry import setup_tracing
from crocevia_common.trust import KeyRing
from crocevia_contracts.stream import StreamSpec

log = logging.getLogger(__name__)

# How long a stopping service lets its consumers settle the batch in hand.
STOP_SECONDS = 10.0


async def _cancel(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until each has stopped."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        # A cancel that lands as an awaited future completes can be swallowed (Python 3.11's
        # wait_for, also inside libraries): ask until it stops.
        while not task.done():
            await asyncio.wait({task}, timeout=0.5)
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


Hook = Callable[["ServiceRuntime"], Awaitable[None]]


# Objects tracked by the cyclic collector, allocated net of those freed, between two
# collections of the youngest generation (Python's default: 700). Most of a request's or an
# event's objects are freed by reference counting as soon as it is done: collecting after 700
# made about 470 collections in a run of 600 referrals of bench referrals_flow (2% of its CPU).
YOUNG_OBJECTS = 20_000


_heap: list[tuple[int, ...]] = []  # the collector's thresholds before, one per running service


@contextlib.contextmanager
def long_lived_heap() -> Iterator[None]:
    """While a started service runs: what it made to start (modules, routes, schemas, tables:
    about 200,000 objects, living as long as it does) is kept out of the cyclic collector's
    full collections, which otherwise walk all of it each time (about 90 ms with the event loop
    stopped, once or more in each run of bench referrals_flow); and the youngest generation is
    collected after ``YOUNG_OBJECTS``. Not collected first: a full collection at start finds
    about 1,300 unreachable objects. Undone when the last service of the process stops (tests
    run several, one after the other or together)."""
    _heap.append(gc.get_threshold())
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *_heap[0][1:])
    try:
        yield
    finally:
        threshold = _heap.pop()
        if not _heap:
            gc.set_threshold(*threshold)
            gc.unfreeze()


class ServiceRuntime:
    """Owns a service's connections and background tasks for the lifetime of its app."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        migrations: Path,
        tables: MessagingTables,
        larger_bodies: Sequence[tuple[str, int]] = (),
    ) -> None:
        self.settings = settings
        self.larger_bodies = tuple(larger_bodies)  # (path pattern, bytes): routes that take files
        self.migrations = migrations
        self.tables = tables
        self.db = Database(settings.database_url, settings.database_pool_size, settings.database_max_overflow)
        login = nats_login(settings.nats_url, settings.nats_user, settings.nats_password_file)
        self.nats_user = login.user
        self.inbox_prefix = inbox_prefix_for(settings.nats_url, settings.nats_inbox_prefix, login.user)
        self.broker = NatsBroker(
            settings.nats_url,
            security=NatsUserPassword(login.user, login.password) if login.user and login.password else None,
            inbox_prefix=self.inbox_prefix,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            log_level=logging.DEBUG,
        )
        self.relay = OutboxRelay(self.db, tables, self.jetstream, settings.outbox_poll_seconds)
        self.consumers: list[StreamConsumer] = []
        self.metrics = Metrics()
        self.metrics.on_scrape(lambda: outbox_state(self.db, self.tables, self.metrics, self.relay.unmarked))
        self.metrics.on_scrape(self._consumer_state)
        self.metrics.on_scrape(self._ready_state)
        self._directory: DirectoryView | None = None
        self._keys: KeyRing | None = None
        self._on_start: list[Hook] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []
        self._tasks: list[asyncio.Task[Any]] = []

    def jetstream(self) -> JetStreamContext:
        return self.broker.connection.jetstream()

    async def ensure_stream(self, spec: StreamSpec) -> None:
        """Check stream ``spec`` (``crocevia_common.messaging.streams.ensure_stream``): as a
        NATS user this service never creates it, only refuses a missing or weaker one."""
        await ensure_stream(
            self.jetstream(), spec, self.settings.stream_replicas, create_missing=self.nats_user is None
        )

    async def directory_bucket(self) -> KeyValue:
        """The directory bucket, checked like the streams."""
        return await directory_bucket(
            self.jetstream(), self.settings.stream_replicas, create_missing=self.nats_user is None
        )

    @property
    def directory(self) -> DirectoryView:
        """The live view of the network directory (once started)."""
        if self._directory is None:
            raise RuntimeError("the directory is read once the service has started")
        return self._directory

    @property
    def keys(self) -> KeyRing:
        """The keys this service has pinned of the other parties (once started)."""
        if self._keys is None:
            raise RuntimeError("the key ring is read once the service has started")
        return self._keys

    def consume(
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
        after_batch: Callable[[], Awaitable[object]] | None = None,
    ) -> StreamConsumer:
        """A durable consumer with this service's settings, started with the service (call
        it from an ``on_start`` hook)."""
        s = self.settings
        consumer = StreamConsumer(
            name=name,
            stream=stream,
            filter_subject=filter_subject,
            intake=intake,
            apply=apply,
            batch_size=batch_size,
            batched=batched,
            fetch_wait_seconds=fetch_wait_seconds,
            ack_wait_seconds=s.consumer_ack_wait_seconds,
            max_deliveries=s.consumer_max_deliveries,
            retry_delay=s.redelivery_delay_seconds,
            inbox_prefix=self.inbox_prefix,
            after_batch=after_batch,
            metrics=self.metrics,
            linger_seconds=s.linger_seconds,
        )
        self.consumers.append(consumer)
        return consumer

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
        js = self.jetstream()
        await ensure_streams(js, self.settings.stream_replicas, create_missing=self.nats_user is None)
        self._directory = DirectoryView(await self.directory_bucket(), self.jetstream())
        await self._directory.start()
        self.on_stop(self._directory.stop)
        self._keys = KeyRing(
            self.db, self.tables, self._directory, KeyRing.operator_key_from(self.settings.operator_public_key)
        )
        await self._keys.load()
        for hook in self._on_start:
            await hook(self)
        await self.broker.start()
        self.spawn(self.relay.run(), "outbox-relay")
        for consumer in self.consumers:
            self.spawn(consumer.run(js), f"consumer-{consumer.name}")
        try:
            with long_lived_heap():
                yield
        finally:
            # In order: take no more messages, stop the rest, publish what the outbox still
            # holds, then close the connections (SQLite folds its WAL back on the last close).
            consuming = [t for t in self._tasks if t.get_name().startswith("consumer-")]
            for consumer in self.consumers:
                consumer.stop()  # each settles the batch in hand; a cancel only if that hangs
            if consuming:
                await asyncio.wait(consuming, timeout=STOP_SECONDS)
            await _cancel(consuming)
            await _cancel([t for t in self._tasks if t not in consuming])
            self._tasks.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.relay.flush(), timeout=5.0)
            for stop in reversed(self._on_stop):
                with contextlib.suppress(Exception):
                    await stop()
            self._on_stop.clear()
            await self.broker.stop()
            await self.db.dispose()

    async def _consumer_state(self) -> None:
        js = self.jetstream()
        for consumer in self.consumers:
            info = await js.consumer_info(consumer.stream.name, consumer.name)
            self.metrics.consumer_pending.labels(consumer.name).set(info.num_pending or 0)
            self.metrics.consumer_unacknowledged.labels(consumer.name).set(info.num_ack_pending or 0)
            self.metrics.consumer_redelivered.labels(consumer.name).set(info.num_redelivered or 0)

    async def _ready_state(self) -> None:
        for check, passed in (await self.ready()).items():
            self.metrics.ready.labels(check).set(1 if passed else 0)

    async def ready(self) -> dict[str, bool]:
        connection = self.broker._connection  # None until connected
        return {
            "database": await self.db.ping(),
            "nats": bool(connection is not None and connection.is_connected),
            "outbox": self.relay.failing is None,
            "consumers": all(c.failing is None for c in self.consumers),
        }

    def create_app(self, title: str, **fastapi_options: Any) -> FastAPI:
        # /docs (Swagger UI) and /redoc from the bundle packaged with the service: no CDN, so
        # they work offline and leak nothing to a third party.
        app = FastAPIOffline(
            title=title,
            lifespan=self.lifespan,
            static_url="/static-docs",
            favicon_url="/static-docs/favicon.png",
            **fastapi_options,
        )
        app.state.runtime = self
        app.state.token_verifier = TokenVerifier(self.settings)
        install_problem_handlers(app)

        async def _database_error(request: Request, exc: Exception) -> JSONResponse:
            # Neither the statement nor its values reach the log: they may be about a person.
            if storage_full(exc):
                log.warning("database storage full: %s", type(exc).__name__)
                problem = Problem(503, "storage-full", "The database's storage is full", "try again later")
                answer = problem_response(problem, request.url.path)
                answer.headers["Retry-After"] = "30"
                return answer
            if unavailable(exc):
                log.warning("database unavailable: %s", type(exc).__name__)
                problem = Problem(503, "database-unavailable", "The database cannot be reached", "try again shortly")
                answer = problem_response(problem, request.url.path)
                answer.headers["Retry-After"] = "5"
                return answer
            log.error("database error: %s", type(exc).__name__)
            problem = Problem(500, "internal-error", "Internal error", "the service could not answer; try again later")
            return problem_response(problem, request.url.path)

        # A lost connection surfaces as the driver's error, or as the socket's own.
        app.add_exception_handler(DBAPIError, _database_error)
        app.add_exception_handler(OSError, _database_error)

        @app.exception_handler(DirectoryUnavailable)
        async def _directory_unavailable(request: Request, exc: DirectoryUnavailable) -> JSONResponse:
            problem = Problem(503, "directory-unavailable", "The directory cannot be read now", "try again shortly")
            return problem_response(problem, request.url.path)

        @app.get("/healthz", tags=["health"], summary="The process is alive")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/readyz", tags=["health"], summary="The database and NATS are reachable")
        async def readyz() -> JSONResponse:
            checks = await self.ready()
            if all(checks.values()):
                return JSONResponse({"status": "ready", "checks": checks})
            body: dict[str, Any] = {
                "type": "/problems/not-ready",
                "title": "Not ready",
                "status": 503,
                "checks": checks,
            }
            reasons = [f"the outbox relay {self.relay.failing}"] if self.relay.failing else []
            reasons += [f"consumer {c.name} {c.failing}" for c in self.consumers if c.failing]
            if reasons:
                body["detail"] = "; ".join(reasons)
            return JSONResponse(body, status_code=503, media_type=MEDIA_TYPE)

        app.add_middleware(BodyLimit, larger=self.larger_bodies)
        app.add_middleware(HttpMetrics, metrics=self.metrics)
        app.add_api_route(
            "/metrics", self.metrics.response, methods=["GET"], tags=["health"], summary="Metrics (Prometheus)"
        )
        # One span per request; the ASGI messages inside it (receive, and send twice for a
        # response's head and body) would each be a span of their own for no question anyone asks.
        FastAPIInstrumentor.instrument_app(
            app, excluded_urls="healthz,readyz", server_request_hook=redact_span, exclude_spans=["receive", "send"]
        )
        redact_access_log()
        return app
