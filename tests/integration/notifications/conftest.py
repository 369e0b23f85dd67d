"""Starting the notifications service in the test process, beside referrals nodes, on a
real NATS server and a real database, with a real SMTP server and webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import yaml
from nats.js import JetStreamContext

from crocevia_notifications.adapters.unit_of_work import SqlUnitOfWork
from crocevia_notifications.bootstrap import UnitOfWorkFactory, create_app
from crocevia_notifications.handlers.context import Clock, utc_now
from crocevia_notifications.settings import NotificationsSettings
from crocevia_referrals.adapters.directory import load_agency_file
from tests.integration.notifications.support import Events, SmtpSink, WebhookReceiver
from tests.kit.parties import Signers
from tests.kit.services import Tokens, agency_file, serve

NotificationsFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]

TARGETS = {
    "routine": {"receive_within_hours": 24, "decide_within_hours": 120},
    "urgent": {"receive_within_hours": 4, "decide_within_hours": 24},
}


def staff_file(directory: Path, agency: str, people: list[dict[str, Any]]) -> Path:
    """Write the staff directory file of ``agency``."""
    path = directory / f"{agency}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"agency": agency, "staff": people}, allow_unicode=True))
    return path


def person(sub: str, roles: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "sub": sub,
        "name": sub.replace("-", " ").title(),
        "email": f"{sub}@staff.test",
        "roles": roles or ["operator"],
        **extra,
    }


@pytest.fixture
def agencies_dir(tmp_path: Path) -> Path:
    """The agency files both the nodes and the notifications read (same folder as node_factory's)."""
    directory = tmp_path / "agencies"
    agency_file(directory, "pioltello-casa")
    agency_file(
        directory,
        "cpia2",
        [
            {"id": "main-service", "name": "Corso di italiano A1", "domain": "education", "response_targets": TARGETS},
            {"id": "second-service", "name": "Licenza media", "domain": "education", "response_targets": TARGETS},
        ],
        name="CPIA 2",
    )
    return directory


@pytest.fixture
def staff_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "staff"
    staff_file(
        directory,
        "cpia2",
        [
            person("operator-cpia2", language="it"),
            person("op-en", language="en", services=["main-service"]),
            person("op-second", services=["second-service"]),
            person("supervisor-cpia2", ["supervisor"], language="en"),
            person("admin-cpia2", ["admin"]),
        ],
    )
    staff_file(
        directory,
        "pioltello-casa",
        [
            person("operator-pioltello-casa", language="en"),
            person("op-1", language="it"),
            person("supervisor-pioltello-casa", ["supervisor"]),
        ],
    )
    return directory


@pytest.fixture
def fast() -> dict[str, Any]:
    """Settings that make the service's timers and retries run in fractions of a second."""
    return {
        "redelivery_delay_seconds": 0.2,
        "outbox_poll_seconds": 0.1,
        "delivery_poll_seconds": 0.1,
        "timer_poll_seconds": 0.1,
        "inbox_stream_poll_seconds": 0.2,
        "webhook_retry_seconds": [0.2, 0.4],
        "webhook_timeout_seconds": 2.0,
        "email_retry_seconds": [0.2],
        "webhook_allowed_hosts": ["127.0.0.1"],
    }


@pytest.fixture
def notifications_factory(
    tmp_path: Path,
    nats_url: str,
    tokens: Tokens,
    agencies_dir: Path,
    staff_dir: Path,
    fast: dict[str, Any],
) -> NotificationsFactory:
    """Start a notifications service in this process; every call may override settings.
    The client it gives has the app as ``client.app`` (its workers: ``app.state.workers``)."""

    @asynccontextmanager
    async def start(
        database_url: str | None = None,
        clock: Clock = utc_now,
        unit_of_work: UnitOfWorkFactory = SqlUnitOfWork,
        **overrides: Any,
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings(database_url, **overrides), clock, unit_of_work)
        async with serve(app) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client

    def settings(database_url: str | None = None, **overrides: Any) -> NotificationsSettings:
        options: dict[str, Any] = {
            "nats_url": nats_url,
            "database_url": database_url or f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}",
            "auth_dev_key_file": tokens.key_file,
            "dev_signin": True,
            "agencies_dir": agencies_dir,
            "staff_dir": staff_dir,
            **fast,
        }
        options.update(overrides)
        return NotificationsSettings(**options)

    start.settings = settings  # type: ignore[attr-defined]
    return start


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def mail_settings(smtp: SmtpSink) -> dict[str, Any]:
    return {"smtp_host": "127.0.0.1", "smtp_port": smtp.port}


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver().running() as running:
        yield running


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


@pytest.fixture
def events(js: JetStreamContext, agencies_dir: Path) -> Events:
    """Events published as the agencies of ``agencies_dir`` would: each with its keys in the
    directory, signed."""
    entries = {p.stem: load_agency_file(p) for p in agencies_dir.glob("*.yaml")}
    return Events(js, Signers(js, entries))
