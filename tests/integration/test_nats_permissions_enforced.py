"""The generated NATS permissions, enforced by a real nats-server: an agency publishes only
as itself, reads only what is addressed to it, and writes only its own directory entry;
the services read everything and publish no agency's event."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig

from crocevia.nats_accounts import network_users, render_accounts
from crocevia_common.messaging.connection import inbox_prefix_for
from crocevia_common.messaging.consumer import StreamConsumer, one_at_a_time
from crocevia_common.messaging.intake import Delivery, Unprocessable
from crocevia_common.messaging.streams import directory_bucket, ensure_streams
from crocevia_contracts.stream import REFERRAL_EVENTS
from crocevia_contracts.subjects import inbound_filter
from tests.kit.nats import NatsProcess, nats_server_binary

ROOT = Path(__file__).resolve().parents[2]
AGENCIES = ("cpia2", "coop-abitare")
DENIED = 0.5  # seconds to wait for an answer that a refused request never gets


@dataclass
class SecuredNats(NatsProcess):
    accounts: str = ""

    def config_text(self) -> str:
        return super().config_text() + self.accounts


def password(user: str) -> str:
    return f"pw-{user}"


@pytest.fixture
def secured_nats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecuredNats]:
    users = network_users(AGENCIES)
    for user in users:
        monkeypatch.setenv(user.password_variable, password(user.name))
    monkeypatch.setenv("CROCEVIA_NATS_PASSWORD_SYSTEM", "pw-system")
    server = SecuredNats(workdir=tmp_path / "nats", accounts=render_accounts(users))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Session:
    nc: Client
    errors: list[str]

    def violations(self) -> list[str]:
        return [e for e in self.errors if "permissions violation" in e.lower()]


@pytest.fixture
async def connect(secured_nats: SecuredNats) -> AsyncIterator[object]:
    sessions: list[Session] = []

    async def as_user(user: str) -> Session:
        errors: list[str] = []

        async def on_error(exc: Exception) -> None:
            errors.append(str(exc))

        nc = await nats.connect(
            secured_nats.url,
            user=user,
            password=password(user),
            error_cb=on_error,
            allow_reconnect=False,
            inbox_prefix=inbox_prefix_for(f"nats://{user}@host"),
        )
        sessions.append(Session(nc, errors))
        return sessions[-1]

    yield as_user
    for session in sessions:
        await session.nc.close()


async def refused(coro: object) -> bool:
    """True when the request gets no answer (nats-server drops what a user may not send)."""
    try:
        await asyncio.wait_for(coro, DENIED * 2)  # type: ignore[arg-type]
    except (TimeoutError, nats.errors.TimeoutError):
        return True
    except nats.js.errors.APIError:
        return True
    return False


async def test_an_agency_publishes_its_own_events_and_not_another_agencys(connect) -> None:
    coop = await connect("coop-abitare")
    js = coop.nc.jetstream()
    await ensure_streams(js)

    ack = await js.publish("referral.v1.coop-abitare.cpia2.requested", b"{}", timeout=2)
    assert ack.stream == "REFERRALS"

    forged = js.publish("referral.v1.cpia2.coop-abitare.accepted", b"{}", timeout=DENIED)
    assert await refused(forged)
    await asyncio.sleep(0.1)
    assert coop.violations()


async def test_a_node_reads_only_what_is_addressed_to_it(connect) -> None:
    coop, cpia2 = await connect("coop-abitare"), await connect("cpia2")
    await ensure_streams(coop.nc.jetstream())
    await coop.nc.jetstream().publish("referral.v1.coop-abitare.cpia2.requested", b"to cpia2")
    await cpia2.nc.jetstream().publish("referral.v1.cpia2.coop-abitare.received", b"to coop")

    js = cpia2.nc.jetstream()
    wider = js.pull_subscribe("referral.v1.>", durable="referrals-cpia2", stream="REFERRALS")
    assert await refused(wider)
    others = js.pull_subscribe(inbound_filter("coop-abitare"), durable="referrals-cpia2", stream="REFERRALS")
    assert await refused(others)
    coop_consumer = js.pull_subscribe(
        inbound_filter("coop-abitare"), durable="referrals-coop-abitare", stream="REFERRALS"
    )
    assert await refused(coop_consumer)

    sub = await js.pull_subscribe(inbound_filter("cpia2"), durable="referrals-cpia2", stream="REFERRALS")
    (msg,) = await sub.fetch(1, timeout=2)
    assert msg.subject == "referral.v1.coop-abitare.cpia2.requested"
    await msg.ack_sync(timeout=2)
    with pytest.raises(nats.errors.TimeoutError):  # the event to coop-abitare is not here
        await sub.fetch(1, timeout=DENIED)

    await cpia2.nc.subscribe("referral.v1.>")
    await cpia2.nc.flush()
    await asyncio.sleep(0.1)
    assert any("subscription" in v.lower() for v in cpia2.violations())


async def test_the_filter_in_the_body_must_match_the_permitted_subject(connect) -> None:
    cpia2 = await connect("cpia2")
    await ensure_streams(cpia2.nc.jetstream())
    request = {
        "stream_name": "REFERRALS",
        "config": ConsumerConfig(
            name="referrals-cpia2", durable_name="referrals-cpia2", filter_subject="referral.v1.>"
        ).as_dict(),
    }
    subject = "$JS.API.CONSUMER.CREATE.REFERRALS.referrals-cpia2." + inbound_filter("cpia2")
    answer = await cpia2.nc.request(subject, json.dumps(request).encode(), timeout=2)
    assert "error" in json.loads(answer.data)


async def test_an_agency_writes_only_its_own_directory_entry(connect) -> None:
    cpia2, coop = await connect("cpia2"), await connect("coop-abitare")
    kv = await directory_bucket(cpia2.nc.jetstream())
    await kv.put("cpia2", b'{"organization": {"id": "cpia2"}}')

    coop_kv = await directory_bucket(coop.nc.jetstream())
    assert (await coop_kv.get("cpia2")).value == b'{"organization": {"id": "cpia2"}}'
    assert await refused(coop_kv.put("cpia2", b"overwritten"))
    assert (await kv.get("cpia2")).value == b'{"organization": {"id": "cpia2"}}'
    assert "cpia2" in await coop_kv.keys()


async def test_services_read_every_event_and_publish_none(connect) -> None:
    coop, audit = await connect("coop-abitare"), await connect("audit")
    await ensure_streams(audit.nc.jetstream())
    await coop.nc.jetstream().publish("referral.v1.coop-abitare.cpia2.requested", b"{}")

    js = audit.nc.jetstream()
    sub = await js.pull_subscribe("referral.v1.>", durable="audit", stream="REFERRALS")
    (msg,) = await sub.fetch(1, timeout=2)
    await msg.ack_sync(timeout=2)

    assert await refused(js.publish("referral.v1.cpia2.coop-abitare.accepted", b"{}", timeout=DENIED))
    assert await refused(js.delete_stream("REFERRALS"))


async def test_an_agency_cannot_read_the_replies_meant_for_another(connect) -> None:
    cpia2 = await connect("cpia2")
    await cpia2.nc.subscribe("_INBOX.coop-abitare.>")
    await cpia2.nc.subscribe("_INBOX.cpia2.>")
    await cpia2.nc.flush()
    await asyncio.sleep(DENIED)
    assert len(cpia2.violations()) == 1
    assert "_inbox.coop-abitare.>" in cpia2.violations()[0].lower()


async def test_the_shared_consumer_runs_under_node_permissions(connect, secured_nats: SecuredNats) -> None:
    """The services' one consumer (pull, explicit ack, retry in place, dead letters) needs
    nothing the generated node permissions do not grant."""
    coop = await connect("coop-abitare")
    js = coop.nc.jetstream()
    await ensure_streams(js)
    attempts: dict[str, int] = {}
    applied: list[str] = []
    done = asyncio.Event()

    class Intake:
        async def verify(self, delivery: Delivery) -> Any:
            if delivery.subject.endswith(".cancelled"):
                raise Unprocessable("cannot cancel")
            return SimpleNamespace(delivery=delivery, subject=delivery.subject)

    async def apply_one(item: Any) -> None:
        attempts[item.subject] = attempts.get(item.subject, 0) + 1
        if attempts[item.subject] == 1:
            raise RuntimeError("database busy")
        applied.append(item.subject)
        done.set()

    consumer = StreamConsumer(
        name="referrals-cpia2",
        stream=REFERRAL_EVENTS,
        filter_subject=inbound_filter("cpia2"),
        intake=Intake(),  # type: ignore[arg-type]
        apply=one_at_a_time(apply_one),
        retry_delay=0.1,
        inbox_prefix="_INBOX.cpia2",
    )
    url = secured_nats.url.replace("nats://", f"nats://cpia2:{password('cpia2')}@")
    nc = await nats.connect(url, inbox_prefix=inbox_prefix_for(url).encode())
    running = asyncio.create_task(consumer.run(nc.jetstream()))
    try:
        await js.publish("referral.v1.coop-abitare.cpia2.cancelled", b"{}")
        await js.publish("referral.v1.coop-abitare.cpia2.requested", b"{}")
        await asyncio.wait_for(done.wait(), 15)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await nc.close()

    assert applied == ["referral.v1.coop-abitare.cpia2.requested"]
    assert attempts == {"referral.v1.coop-abitare.cpia2.requested": 2}
    assert consumer.dead_lettered == 1
    admin = await connect("admin")
    info = await admin.nc.jetstream().stream_info("DEADLETTERS")
    assert info.state.messages == 1


def test_the_cluster_configurations_are_valid(tmp_path: Path) -> None:
    accounts = (ROOT / "deploy/nats/accounts.conf").read_text()
    env = {
        **os.environ,
        "CROCEVIA_NATS_ROUTE_PASSWORD": "route-pw",
        "CROCEVIA_NATS_ROUTES": "[nats-route://route:route-pw@n1:6222]",
    }
    for variable in set(word.lstrip("$") for word in accounts.split() if word.startswith("$CROCEVIA")):
        env[variable] = "pw"
    for node in ("n1", "n2", "n3"):
        conf = ROOT / f"deploy/nats/cluster/{node}.conf"
        done = subprocess.run([nats_server_binary(), "-t", "-c", str(conf)], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        assert f"server_name: {node}" in conf.read_text()


async def test_real_nodes_audit_and_notifications_work_under_the_generated_permissions(
    secured_nats: SecuredNats, tmp_path: Path
) -> None:
    """Each service connects as its own NATS user: the whole closed loop still works."""
    from crocevia_audit.bootstrap import create_app as audit_app
    from crocevia_audit.settings import AuditSettings
    from crocevia_notifications.bootstrap import create_app as notifications_app
    from crocevia_notifications.settings import NotificationsSettings
    from crocevia_referrals.bootstrap import create_app as node_app
    from crocevia_referrals.settings import ReferralsSettings
    from tests.integration.conftest import referral_body
    from tests.kit.services import Tokens, agency_file, eventually, serve

    tokens = Tokens(tmp_path / "key")

    def as_user(user: str) -> dict[str, object]:
        url = secured_nats.url.replace("nats://", f"nats://{user}:{password(user)}@")
        return {
            "nats_url": url,
            "auth_dev_key_file": tokens.key_file,
            "outbox_poll_seconds": 0.2,
            "database_url": f"sqlite+aiosqlite:///{tmp_path / user}.db",
        }

    def node(agency: str):
        return serve(
            node_app(
                ReferralsSettings(
                    agency_id=agency, agency_file=agency_file(tmp_path / "agencies", agency), **as_user(agency)
                )
            )
        )

    audit = audit_app(AuditSettings(**as_user("audit")))
    notifications = notifications_app(
        NotificationsSettings(
            agencies_dir=tmp_path / "agencies", staff_dir=tmp_path / "none", **as_user("notifications")
        )
    )
    async with node("coop-abitare") as coop, node("cpia2") as cpia, serve(audit) as trail, serve(notifications):
        sent = await coop.post(
            "/referrals", json=referral_body(service_id="main-service"), headers=tokens.bearer("coop-abitare")
        )
        assert sent.status_code == 201, sent.text
        rid = sent.json()["id"]

        async def received() -> bool:
            r = await coop.get(f"/referrals/{rid}", headers=tokens.bearer("coop-abitare"))
            return r.json()["status"] == "received"

        await eventually(received, timeout=20)
        assert (await cpia.get(f"/referrals/{rid}", headers=tokens.bearer("cpia2"))).status_code == 200

        async def recorded() -> bool:
            page = await trail.get(f"/trail?referral_id={rid}", headers=tokens.bearer("x", "network-auditor"))
            return len(page.json()["items"]) == 2

        await eventually(recorded, timeout=20)
