"""Services check the streams they use before they start, and only the operator creates or
mends them (`crocevia streams`): a stream weaker than the contracts' spec stops a service
with a message naming the stream and what is weaker."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.js import JetStreamContext

from crocevia.cli import main
from crocevia_audit.bootstrap import create_app as audit_app
from crocevia_audit.settings import AuditSettings
from crocevia_common.messaging.stream_specs import stream_config, weaknesses
from crocevia_common.messaging.streams import StreamError, ensure_streams
from crocevia_contracts.stream import AUDIT_ANNOUNCEMENTS, NETWORK_STREAMS, REFERRAL_EVENTS
from crocevia_referrals.bootstrap import create_app as node_app
from crocevia_referrals.settings import ReferralsSettings
from tests.kit.nats import SecuredNats
from tests.kit.services import Tokens, agency_file, serve

password = SecuredNats.password


@pytest.fixture
def secured_nats(tmp_path: Path) -> Iterator[SecuredNats]:
    server = SecuredNats(workdir=tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def operator(secured_nats: SecuredNats) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(secured_nats.url, user="admin", password=password("admin"))
    yield nc.jetstream()
    await nc.close()


async def crocevia(args: list[str]) -> int:
    """The ``crocevia`` command, in a thread of its own (it runs its own event loop)."""
    return await asyncio.to_thread(main, args)


def password_file(tmp_path: Path, user: str) -> Path:
    path = tmp_path / "secrets" / user
    path.parent.mkdir(exist_ok=True)
    path.write_text(password(user) + "\n")
    return path


def node_as_cpia2(secured_nats: SecuredNats, tmp_path: Path):
    return node_app(
        ReferralsSettings(
            agency_id="cpia2",
            agency_file=agency_file(tmp_path / "agencies", "cpia2"),
            nats_url=secured_nats.url,
            nats_user="cpia2",
            nats_password_file=password_file(tmp_path, "cpia2"),
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'cpia2.db'}",
            auth_dev_key_file=Tokens(tmp_path / "key").key_file,
        )
    )


def streams_command(secured_nats: SecuredNats, tmp_path: Path, user: str = "admin") -> list[str]:
    return [
        "streams",
        "--nats-url",
        secured_nats.url,
        "--user",
        user,
        "--password-file",
        str(password_file(tmp_path, user)),
        "--wait",
        "5",
        "--agencies-dir",
        str(agency_file(tmp_path / "registry", "cpia2").parent),
    ]


async def test_a_node_refuses_to_start_on_a_stream_that_keeps_messages_five_seconds(
    secured_nats: SecuredNats, operator: JetStreamContext, tmp_path: Path
) -> None:
    weak = dataclasses.replace(stream_config(REFERRAL_EVENTS), max_age=5, duplicate_window=5)
    await operator.add_stream(weak)

    with pytest.raises(StreamError) as refused:
        async with serve(node_as_cpia2(secured_nats, tmp_path)):
            pass

    message = str(refused.value)
    assert message.startswith(
        "stream REFERRALS keeps messages only 5 s (max_age); the network's spec keeps them forever; "
        "and it detects duplicates over 5 s only (duplicate_window); the network's spec over 24 h"
    )
    assert message.endswith("fix it with `crocevia streams` as the network's operator")
    consumers = await operator.consumers_info("REFERRALS")
    assert consumers == []  # it stopped before consuming anything


async def test_a_node_refuses_to_start_when_the_operator_has_not_created_the_streams(
    secured_nats: SecuredNats, operator: JetStreamContext, tmp_path: Path
) -> None:
    with pytest.raises(StreamError, match=r"^stream REFERRALS does not exist, and services connected as a NATS user"):
        async with serve(node_as_cpia2(secured_nats, tmp_path)):
            pass

    assert await operator.streams_info() == []


async def test_the_audit_refuses_an_audit_stream_that_can_be_purged(secured_nats: SecuredNats, tmp_path: Path) -> None:
    assert await crocevia(streams_command(secured_nats, tmp_path)) == 0
    nc = await nats.connect(secured_nats.url, user="admin", password=password("admin"))
    js = nc.jetstream()
    await js.delete_stream(AUDIT_ANNOUNCEMENTS.name)
    await js.add_stream(dataclasses.replace(stream_config(AUDIT_ANNOUNCEMENTS), deny_purge=False))
    await nc.close()
    settings = AuditSettings(
        nats_url=secured_nats.url,
        nats_user="audit",
        nats_password_file=password_file(tmp_path, "audit"),
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}",
        auth_dev_key_file=Tokens(tmp_path / "key").key_file,
    )

    with pytest.raises(StreamError, match=r"^stream AUDIT can be purged \(deny_purge is off\)"):
        async with serve(audit_app(settings)):
            pass


async def test_crocevia_streams_creates_every_stream_then_finds_them_as_specified(
    secured_nats: SecuredNats, operator: JetStreamContext, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await crocevia(streams_command(secured_nats, tmp_path)) == 0
    assert capsys.readouterr().out.splitlines() == [
        "REFERRALS: created",
        "DEADLETTERS: created",
        "NOTICES: created",
        "CASELOAD: created",
        "AUDIT: created",
        "REPLAYS: created",
        "KV_directory: created",
        "OBJ_attachments-cpia2: created",
    ]
    for spec in NETWORK_STREAMS:
        assert weaknesses(spec, (await operator.stream_info(spec.name)).config) == []

    assert await crocevia(streams_command(secured_nats, tmp_path)) == 0
    assert "REFERRALS: as specified" in capsys.readouterr().out


async def test_crocevia_streams_mends_a_weaker_stream_and_keeps_its_messages(
    secured_nats: SecuredNats, operator: JetStreamContext, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weak = dataclasses.replace(stream_config(REFERRAL_EVENTS), max_age=60, duplicate_window=60, deny_purge=False)
    await operator.add_stream(weak)
    await operator.publish("referral.v1.coop-abitare.cpia2.requested", b"{}")

    assert await crocevia(streams_command(secured_nats, tmp_path)) == 0

    assert "REFERRALS: mended (max_age, duplicate_window, deny_purge)" in capsys.readouterr().out
    info = await operator.stream_info("REFERRALS")
    assert weaknesses(REFERRAL_EVENTS, info.config) == []
    assert info.state.messages == 1
    async with serve(node_as_cpia2(secured_nats, tmp_path)) as node:
        assert (await node.get("/readyz")).status_code == 200


async def test_crocevia_streams_as_an_agency_says_it_may_not(
    secured_nats: SecuredNats, operator: JetStreamContext, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await crocevia(streams_command(secured_nats, tmp_path, user="cpia2")) == 1

    assert "crocevia streams: JetStream" in capsys.readouterr().err
    assert await operator.streams_info() == []


def test_crocevia_streams_with_a_wrong_password_is_refused_and_shows_no_password(
    secured_nats: SecuredNats, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")

    url = secured_nats.url.replace("nats://", "nats://admin:not-the-password@")
    assert main(["streams", "--nats-url", url, "--wait", "5"]) == 1

    error = capsys.readouterr().err
    assert "refused the connection as user 'admin'" in error and "Authorization Violation" in error
    assert "not-the-password" not in error


async def test_on_a_server_without_users_a_service_creates_what_is_missing(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()

    await ensure_streams(js)

    info = await js.stream_info(REFERRAL_EVENTS.name)
    await nc.close()
    assert weaknesses(REFERRAL_EVENTS, info.config) == []
    assert info.config.deny_purge and info.config.deny_delete
