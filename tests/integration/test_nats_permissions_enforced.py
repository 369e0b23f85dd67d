"""The generated NATS permissions, enforced by a real nats-server: nobody connects without a
user; an agency publishes only as itself, reads only what is addressed to it, and writes
only its own directory entry; the services read everything and publish no agency's event;
only the operator creates or changes a stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import NoKeysError

from crocevia.streams import create_streams
from crocevia_common.messaging.connection import NatsLogin, inbox_prefix_for
from crocevia_common.messaging.consumer import StreamConsumer, one_at_a_time
from crocevia_common.messaging.intake import Delivery, Unprocessable
from crocevia_common.messaging.stream_specs import bucket_stream, stream_config
from crocevia_common.messaging.streams import directory_bucket
from crocevia_contracts.stream import AUDIT_ANNOUNCEMENTS, DIRECTORY, REFERRAL_EVENTS
from crocevia_contracts.subjects import inbound_filter
from tests.kit.nats import SecuredNats
from tests.kit.services import eventually

AGENCIES = ("cpia2", "coop-abitare")
DENIED = 0.5  # seconds to wait for an answer that a refused request never gets
password = SecuredNats.password


@pytest.fixture
def secured_nats(tmp_path: Path) -> Iterator[SecuredNats]:
    server = SecuredNats(workdir=tmp_path / "nats", agencies=AGENCIES).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def streams(secured_nats: SecuredNats) -> list[str]:
    """The streams and the directory bucket, created by the operator as `crocevia streams` does."""
    return await create_streams(secured_nats.url, NatsLogin("admin", password("admin")), agencies=AGENCIES)


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


async def test_nobody_connects_without_a_user_and_its_password(secured_nats: SecuredNats) -> None:
    for credentials in ({}, {"user": "cpia2", "password": "guessed"}, {"user": "nobody", "password": "pw-nobody"}):
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(secured_nats.url, allow_reconnect=False, error_cb=ignore, **credentials)

    nc = await nats.connect(secured_nats.url, user="cpia2", password=password("cpia2"), allow_reconnect=False)
    await nc.close()


async def ignore(_error: Exception) -> None:
    pass


async def _now(value: Any) -> Any:
    return value


async def test_an_agency_publishes_its_own_events_and_not_another_agencys(connect, streams) -> None:
    coop = await connect("coop-abitare")
    js = coop.nc.jetstream()

    ack = await js.publish("referral.v1.coop-abitare.cpia2.requested", b"{}", timeout=2)
    assert ack.stream == "REFERRALS"

    forged = js.publish("referral.v1.cpia2.coop-abitare.accepted", b"{}", timeout=DENIED)
    assert await refused(forged)
    assert await eventually(lambda: _now(coop.violations()))


async def test_a_node_reads_only_what_is_addressed_to_it(connect, streams) -> None:
    coop, cpia2 = await connect("coop-abitare"), await connect("cpia2")
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
    assert await eventually(lambda: _now(any("subscription" in v.lower() for v in cpia2.violations())))


async def test_the_filter_in_the_body_must_match_the_permitted_subject(connect, streams) -> None:
    cpia2 = await connect("cpia2")
    request = {
        "stream_name": "REFERRALS",
        "config": ConsumerConfig(
            name="referrals-cpia2", durable_name="referrals-cpia2", filter_subject="referral.v1.>"
        ).as_dict(),
    }
    subject = "$JS.API.CONSUMER.CREATE.REFERRALS.referrals-cpia2." + inbound_filter("cpia2")
    answer = await cpia2.nc.request(subject, json.dumps(request).encode(), timeout=2)
    assert "error" in json.loads(answer.data)


async def test_an_agency_writes_only_its_own_directory_entry(connect, streams) -> None:
    cpia2, coop = await connect("cpia2"), await connect("coop-abitare")
    kv = await directory_bucket(cpia2.nc.jetstream(), create_missing=False)
    await kv.put("cpia2", b'{"organization": {"id": "cpia2"}}')

    coop_kv = await directory_bucket(coop.nc.jetstream(), create_missing=False)
    assert (await coop_kv.get("cpia2")).value == b'{"organization": {"id": "cpia2"}}'
    assert await refused(coop_kv.put("cpia2", b"overwritten"))
    assert await refused(coop_kv.put("service.notifications", b"a key of coop's"))
    assert (await kv.get("cpia2")).value == b'{"organization": {"id": "cpia2"}}'
    assert "cpia2" in await keys_of(coop_kv)


async def keys_of(kv) -> list[str]:
    """The bucket's keys. nats-py's ``keys()`` can end its watch before the first entry
    arrives on a loaded machine (and then says there are none): ask until it lists some."""

    async def listed() -> list[str]:
        try:
            return await kv.keys()
        except NoKeysError:
            return []

    return await eventually(listed)


async def test_notifications_writes_its_own_directory_key_and_no_other(connect, streams) -> None:
    notifications, audit = await connect("notifications"), await connect("audit")
    kv = await directory_bucket(notifications.nc.jetstream(), create_missing=False)

    await kv.put("service.notifications", b'{"public_key": "notifications"}')

    assert (await kv.get("service.notifications")).value == b'{"public_key": "notifications"}'
    assert await refused(kv.put("cpia2", b"forged by notifications"))
    assert await refused(kv.put("service.audit", b"not its key"))
    audit_kv = await directory_bucket(audit.nc.jetstream(), create_missing=False)
    assert await refused(audit_kv.put("service.notifications", b"forged by audit"))
    assert (await kv.get("service.notifications")).value == b'{"public_key": "notifications"}'
    assert await keys_of(kv) == ["service.notifications"]


@pytest.mark.parametrize("user", ["cpia2", "notifications", "audit"])
async def test_only_the_operator_creates_a_stream_or_the_directory_bucket(connect, user: str) -> None:
    session = await connect(user)
    js = session.nc.jetstream()

    for spec in (REFERRAL_EVENTS, AUDIT_ANNOUNCEMENTS, bucket_stream(DIRECTORY)):
        assert await refused(js.add_stream(stream_config(spec))), spec.name
    assert await refused(js.add_stream(StreamConfig(name="STOLEN", subjects=["stolen.>"])))
    assert await eventually(lambda: _now(session.violations()))

    admin = await connect("admin")
    assert await admin.nc.jetstream().streams_info() == []


@pytest.mark.parametrize("user", ["cpia2", "notifications", "audit"])
async def test_nobody_but_the_operator_updates_purges_or_deletes_a_stream(connect, streams, user: str) -> None:
    coop, session, admin = await connect("coop-abitare"), await connect(user), await connect("admin")
    await coop.nc.jetstream().publish("referral.v1.coop-abitare.cpia2.requested", b"{}")
    js = session.nc.jetstream()
    current = (await js.stream_info("REFERRALS")).config

    assert await refused(js.update_stream(replace(current, max_age=5, duplicate_window=5)))
    assert await refused(js.update_stream(replace(current, deny_purge=False)))
    assert await refused(js.purge_stream("REFERRALS"))
    assert await refused(js.delete_msg("REFERRALS", 1))
    assert await refused(js.delete_stream("REFERRALS"))

    info = await admin.nc.jetstream().stream_info("REFERRALS")
    assert (info.config.max_age, info.config.deny_purge, info.state.messages) == (0, True, 1)


async def test_even_the_operator_cannot_purge_the_trails_sources(connect, streams) -> None:
    """The referral, notice and audit streams deny purges: emptying one would need the
    operator to recreate it, which the audit's checkpoints would show. Dead letters and
    replays are the operator's to empty once handled."""
    js = (await connect("admin")).nc.jetstream()

    for name in ("REFERRALS", "NOTICES", "AUDIT"):
        with pytest.raises(nats.js.errors.APIError, match="purge"):
            await js.purge_stream(name)
    for name in ("DEADLETTERS", "REPLAYS"):
        assert await js.purge_stream(name) is True


async def test_services_read_every_event_and_publish_none(connect, streams) -> None:
    coop, audit = await connect("coop-abitare"), await connect("audit")
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
    # The server answers both subscriptions before this round trip's PONG, a refusal with -ERR.
    await cpia2.nc.flush()
    await eventually(lambda: _now(cpia2.violations()))
    await cpia2.nc.flush()
    assert len(cpia2.violations()) == 1
    assert "_inbox.coop-abitare.>" in cpia2.violations()[0].lower()


async def test_the_shared_consumer_runs_under_node_permissions(connect, secured_nats: SecuredNats, streams) -> None:
    """The services' one consumer (pull, explicit ack, retry in place, dead letters) needs
    nothing the generated node permissions do not grant."""
    coop = await connect("coop-abitare")
    js = coop.nc.jetstream()
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


async def test_real_nodes_audit_and_notifications_work_under_the_generated_permissions(
    secured_nats: SecuredNats, tmp_path: Path, streams
) -> None:
    """Each service connects as its own NATS user (its password in a file, or in the URL):
    the whole closed loop still works, on streams the operator created."""
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
        secret = tmp_path / "secrets" / user
        secret.parent.mkdir(exist_ok=True)
        secret.write_text(password(user) + "\n")
        return {
            "nats_url": secured_nats.url,
            "nats_user": user,
            "nats_password_file": secret,
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

    # The URL may carry the user and password too.
    audit = audit_app(
        AuditSettings(
            **{
                **as_user("audit"),
                "nats_url": secured_nats.url_as("audit"),
                "nats_user": None,
                "nats_password_file": None,
            }
        )
    )
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

        # A message with a file: put into cpia2's bucket by coop-abitare, read and deleted by cpia2.
        pdf = b"%PDF-1.7\n" + b"0" * 300_000
        files = [("files", ("scan.pdf", pdf, "application/pdf"))]
        wrote = await coop.post(
            f"/referrals/{rid}/messages", data={"text": "attached"}, files=files, headers=tokens.bearer("coop-abitare")
        )
        assert wrote.status_code == 201, wrote.text

        async def arrived() -> list[dict[str, Any]]:
            thread = (await cpia.get(f"/referrals/{rid}/messages", headers=tokens.bearer("cpia2"))).json()
            return [a for m in thread["messages"] for a in m["attachments"]]

        [attached] = await eventually(arrived, timeout=20)
        got = await cpia.get(f"/referrals/{rid}/attachments/{attached['id']}", headers=tokens.bearer("cpia2"))
        assert got.content == pdf


async def test_a_node_puts_files_in_another_agencys_bucket_and_reads_only_its_own(connect, streams) -> None:
    cpia2, coop = await connect("cpia2"), await connect("coop-abitare")
    from crocevia_referrals.adapters.attachments import NatsCarrier

    shipped = await NatsCarrier(coop.nc.jetstream(), "coop-abitare").ship("cpia2", b"%PDF-1.7 sealed")
    assert await NatsCarrier(cpia2.nc.jetstream(), "cpia2").fetch(shipped.object, shipped.key) == b"%PDF-1.7 sealed"

    js = coop.nc.jetstream()
    assert await refused(js.object_store("attachments-cpia2"))
    assert await refused(js.stream_info("OBJ_attachments-cpia2"))
    assert await refused(js.get_msg("OBJ_attachments-cpia2", 1))
    assert await refused(js.purge_stream("OBJ_attachments-cpia2"))
    config = ConsumerConfig(filter_subject="$O.attachments-cpia2.C.>")
    assert await refused(js.add_consumer("OBJ_attachments-cpia2", config))


async def test_only_notifications_reads_who_an_agency_assigned_a_referral_to(connect, streams) -> None:
    """Caseload notices: a node publishes its own agency's only; notifications reads them;
    the audit, whose permissions read everything else, cannot read the stream in any way."""
    cpia2, notifications, audit = await connect("cpia2"), await connect("notifications"), await connect("audit")
    js = cpia2.nc.jetstream()
    ack = await js.publish("caseload.v1.cpia2.referral-assigned", b"{}", timeout=2)
    assert ack.stream == "CASELOAD"
    assert await refused(js.publish("caseload.v1.coop-abitare.referral-assigned", b"{}", timeout=DENIED))

    told = await notifications.nc.jetstream().pull_subscribe(
        "caseload.v1.>", durable="notifications-caseload", stream="CASELOAD"
    )
    (msg,) = await told.fetch(1, timeout=2)
    assert (msg.subject, msg.data) == ("caseload.v1.cpia2.referral-assigned", b"{}")

    spy = audit.nc.jetstream()
    assert (await spy.stream_info("CASELOAD")).state.messages == 1  # it checks the stream at start
    assert await refused(spy.pull_subscribe("caseload.v1.>", durable="audit-spy", stream="CASELOAD"))
    assert await refused(spy.get_msg("CASELOAD", ack.seq))
    assert await refused(cpia2.nc.jetstream().pull_subscribe("caseload.v1.>", durable="x", stream="CASELOAD"))
    await audit.nc.subscribe("caseload.v1.>")  # core NATS: refused too
    await audit.nc.flush()
    assert await eventually(lambda: _now(any("caseload" in v.lower() for v in audit.violations())))
