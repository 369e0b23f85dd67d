"""A network closed as ``crocevia up`` closes it, for attacking: a real ``nats-server`` with
the generated users and permissions (no anonymous access, streams made by the operator),
three agencies' nodes, notifications and audit, each connected as its own NATS user, each
on its own SQLite file. One agency (csl-lavoro) turns hostile, with its own valid keys and
within its NATS permissions; the operator's user stands for a network left open by mistake."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client
from sqlalchemy import MetaData, select

from crocevia.streams import create_streams
from crocevia_audit.bootstrap import create_app as audit_app
from crocevia_audit.settings import AuditSettings
from crocevia_common.db import Database
from crocevia_common.messaging.connection import NatsLogin
from crocevia_contracts.sealing import PartyKeys
from crocevia_notifications.bootstrap import create_app as notifications_app
from crocevia_notifications.settings import NotificationsSettings
from crocevia_referrals.bootstrap import create_app as node_app
from crocevia_referrals.settings import ReferralsSettings
from tests.kit.nats import SecuredNats
from tests.kit.services import Tokens, agency_file, eventually, serve
from tests.kit.tracing import span_exporter

CASA, CPIA, CSL = "pioltello-casa", "cpia2", "csl-lavoro"
AGENCIES = (CASA, CPIA, CSL)
CONSUMERS = (f"referrals-{CASA}", f"referrals-{CPIA}", f"referrals-{CSL}", "notifications", "audit")

# What each service keeps that an event could change.
TABLES = {
    CASA: ("referrals", "referral_history", "inbox", "pinned_keys"),
    CPIA: ("referrals", "referral_history", "inbox", "pinned_keys"),
    "notifications": ("referrals", "inbox_items", "timers", "deliveries", "inbox", "pinned_keys"),
    "audit": ("trail_entries", "sequence_gaps", "trail_anomalies", "pinned_keys"),
}

# Values about a person: they may travel only sealed, and never show anywhere else.
PERSONAL = ("RSSMRA80A01F205X", "Kowalski-Esposito", "+39 333 7654321", "Via dei Mille 12")


@dataclass
class HostileNetwork:
    nats: SecuredNats
    tokens: Tokens
    clients: dict[str, httpx.AsyncClient]
    apps: dict[str, Any]
    databases: dict[str, str]
    connections: list[Client] = field(default_factory=list)

    async def connect(self, user: str) -> Client:
        """A NATS connection as ``user`` (its permissions apply)."""
        errors: list[Exception] = []

        async def on_error(exc: Exception) -> None:
            errors.append(exc)

        nc = await nats.connect(self.nats.url_as(user), inbox_prefix=f"_INBOX.{user}".encode(), error_cb=on_error)
        self.connections.append(nc)
        return nc

    def keys(self, agency: str) -> PartyKeys:
        """An agency's own keys, as its node holds them."""
        keys: PartyKeys = self.apps[agency].state.keys
        return keys

    async def send(self, sender: str, receiver: str, **person: Any) -> str:
        body = {
            "to_agency": receiver,
            "service_id": "main-service",
            "priority": "routine",
            "reason": "Italian course A1",
            "legal_basis": {
                "basis": "consent",
                "captured_by": "op-1",
                "captured_at": "2026-11-01T10:00:00Z",
                "document_ref": f"signed form, {PERSONAL[3]}",
            },
            "person": {"given_name": "Amina", "family_name": PERSONAL[1], "phone": PERSONAL[2], **person},
        }
        answer = await self.clients[sender].post("/referrals", json=body, headers=self.tokens.bearer(sender))
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    async def status(self, agency: str, referral_id: str) -> str | None:
        answer = await self.clients[agency].get(f"/referrals/{referral_id}", headers=self.tokens.bearer(agency))
        return answer.json()["status"] if answer.status_code == 200 else None

    async def settled(self, timeout: float = 30.0) -> None:
        """Wait until every consumer has acknowledged everything and every outbox is empty."""
        admin = (await self.connect("admin")).jetstream()

        async def idle() -> bool:
            for consumer in CONSUMERS:
                try:
                    info = await admin.consumer_info("REFERRALS", consumer)
                except nats.errors.TimeoutError:  # the server did not answer in time (a loaded
                    return False  # machine): not known to be settled, asked again until the bound
                if info.num_pending or info.num_ack_pending:
                    return False
            for agency in AGENCIES:
                if self.apps[agency].state.runtime.relay.failing or await _unpublished(self.databases[agency]):
                    return False
            return True

        await eventually(idle, timeout=timeout, interval=0.2)

    async def state(self) -> dict[str, tuple[int, str]]:
        """(rows, SHA-256 of the rows) of every table an event could change, per service."""
        found: dict[str, tuple[int, str]] = {}
        for service, tables in TABLES.items():
            db = Database(self.databases[service])
            try:
                meta = MetaData()
                async with db.engine.connect() as conn:
                    await conn.run_sync(meta.reflect, only=list(tables))
                    for name in tables:
                        rows = sorted(
                            json.dumps(list(r), default=str) for r in await conn.execute(select(meta.tables[name]))
                        )
                        found[f"{service}.{name}"] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
            finally:
                await db.dispose()
        return found

    async def dead_letters(self) -> list[dict[str, Any]]:
        """Every dead letter so far, with its payload decoded."""
        admin = (await self.connect("admin")).jetstream()
        info = await admin.stream_info("DEADLETTERS")
        letters: list[dict[str, Any]] = []
        if not info.state.messages:
            return letters
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await admin.get_msg("DEADLETTERS", sequence)
            letter = json.loads(message.data or b"{}")
            letter["payload"] = base64.b64decode(letter.pop("payload_base64", ""))
            letter["reason_header"] = (message.headers or {}).get("Crocevia-Reason")
            letters.append(letter)
        return letters


async def _unpublished(database_url: str) -> int:
    db = Database(database_url)
    try:
        async with db.engine.connect() as conn:
            meta = MetaData()
            await conn.run_sync(meta.reflect, only=["outbox"])
            outbox = meta.tables["outbox"]
            return len((await conn.execute(select(outbox.c.position).where(outbox.c.published_at.is_(None)))).all())
    finally:
        await db.dispose()


@pytest.fixture
async def network(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[HostileNetwork]:
    caplog.set_level(logging.DEBUG)
    span_exporter().clear()
    server = SecuredNats(workdir=tmp_path / "nats", agencies=AGENCIES).start()
    tokens = Tokens(tmp_path / "dev-jwt.key")
    await create_streams(server.url, NatsLogin("admin", server.password("admin")), agencies=AGENCIES)
    databases = {name: f"sqlite+aiosqlite:///{tmp_path / name}.db" for name in (*AGENCIES, "notifications", "audit")}

    def common(user: str) -> dict[str, Any]:
        return {
            "nats_url": server.url,
            "nats_user": user,
            "nats_password_file": _password_file(tmp_path, server, user),
            "database_url": databases[user],
            "data_dir": tmp_path / user,
            "auth_dev_key_file": tokens.key_file,
            "outbox_poll_seconds": 0.2,
            "redelivery_delay_seconds": 0.1,
            "consumer_max_deliveries": 3,
        }

    apps: dict[str, Any] = {
        agency: node_app(
            ReferralsSettings(
                agency_id=agency, agency_file=agency_file(tmp_path / "agencies", agency), **common(agency)
            )
        )
        for agency in AGENCIES
    }
    apps["notifications"] = notifications_app(
        NotificationsSettings(
            agencies_dir=tmp_path / "agencies", staff_dir=tmp_path / "none", **common("notifications")
        )
    )
    apps["audit"] = audit_app(AuditSettings(checkpoint_every_seconds=0.5, **common("audit")))
    net = HostileNetwork(server, tokens, {}, apps, databases)
    try:
        async with AsyncExitStack() as stack:
            for name, app in apps.items():
                net.clients[name] = await stack.enter_async_context(serve(app))
            yield net
            for connection in net.connections:
                await connection.close()
    finally:
        server.stop()


def _password_file(tmp_path: Path, server: SecuredNats, user: str) -> Path:
    path = tmp_path / "secrets" / user
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(server.password(user))
    path.chmod(0o600)
    return path


def leaks(text: str) -> list[str]:
    """The personal values found in ``text``."""
    return [value for value in PERSONAL if value in text]


def who_leaked(caplog: pytest.LogCaptureFixture) -> set[str]:
    """The loggers (and spans) whose records hold a personal value."""
    found = {r.name for r in caplog.records if leaks(f"{r.getMessage()} {r.exc_text or ''}")}
    for s in span_exporter().get_finished_spans():
        if leaks(f"{s.name} {dict(s.attributes or {})} {[(e.name, dict(e.attributes or {})) for e in s.events]}"):
            found.add(f"span {s.name}")
    return found


def everything_said(caplog: pytest.LogCaptureFixture) -> str:
    """Every log record and every span (name, attributes, events) of the test, as text."""
    records = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    spans = "\n".join(
        f"{s.name} {dict(s.attributes or {})} {[(e.name, dict(e.attributes or {})) for e in s.events]}"
        f" {s.status.description or ''}"
        for s in span_exporter().get_finished_spans()
    )
    return records + "\n" + spans


async def wait_for(check: Any, timeout: float = 30.0) -> Any:
    return await eventually(check, timeout=timeout, interval=0.1)


__all__ = ["AGENCIES", "CASA", "CPIA", "CSL", "PERSONAL", "HostileNetwork", "asyncio"]
