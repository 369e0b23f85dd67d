"""A region runs a three-server NATS cluster with streams replicated three times: nodes on
different servers still close the loop, and losing one server loses nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats

from crocevia_common.messaging.streams import ensure_streams, wait_for_jetstream
from crocevia_contracts.stream import REFERRAL_EVENTS
from crocevia_referrals.bootstrap import create_app
from crocevia_referrals.settings import ReferralsSettings
from tests.integration.conftest import referral_body
from tests.kit.nats import plan_cluster
from tests.kit.services import agency_file, eventually, serve


def node(agency: str, url: str, tmp_path: Path, tokens) -> object:
    return serve(
        create_app(
            ReferralsSettings(
                agency_id=agency,
                agency_file=agency_file(tmp_path / "agencies", agency),
                nats_url=url,
                database_url=f"sqlite+aiosqlite:///{tmp_path / f'{agency}.db'}",
                auth_dev_key_file=tokens.key_file,
                stream_replicas=3,
                outbox_poll_seconds=0.2,
                redelivery_delay_seconds=0.2,
            )
        )
    )


async def test_nodes_on_different_servers_close_the_loop_and_survive_losing_one(nats_cluster, tokens, tmp_path):
    n1, n2, n3 = nats_cluster
    async with (
        node("pioltello-casa", n1.url, tmp_path, tokens) as casa,
        node("cpia2", n2.url, tmp_path, tokens) as cpia,
    ):
        nc = await nats.connect(n1.url)
        info = await nc.jetstream().stream_info("REFERRALS")
        assert info.config.num_replicas == 3
        await nc.close()

        async def arrived(rid):
            return (await cpia.get(f"/referrals/{rid}", headers=tokens.bearer("cpia2"))).status_code == 200

        first = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer("pioltello-casa"))
        await eventually(lambda: arrived(first.json()["id"]), timeout=30)

        n3.stop()
        second = await casa.post(
            "/referrals", json=referral_body(reason="after n3 stopped"), headers=tokens.bearer("pioltello-casa")
        )
        await eventually(lambda: arrived(second.json()["id"]), timeout=30)
        listed = (await cpia.get("/referrals", headers=tokens.bearer("cpia2"))).json()["items"]
        assert sorted(i["id"] for i in listed) == sorted([first.json()["id"], second.json()["id"]])


async def test_replicated_streams_wait_until_the_cluster_can_place_them(tmp_path):
    """Services starting with a new cluster may find a meta leader before every server has
    joined; three replicas cannot be placed on two servers, so creating waits, then works."""
    servers = plan_cluster(tmp_path / "cluster")
    try:
        servers[0].start()
        servers[1].start()
        nc = await nats.connect(servers[0].url)
        js = nc.jetstream()
        await wait_for_jetstream(js)  # two of three elect a meta leader
        creating = asyncio.create_task(ensure_streams(js, replicas=3))
        await asyncio.sleep(2)
        assert not creating.done(), creating  # neither created on two servers nor given up
        servers[2].start()
        await asyncio.wait_for(creating, timeout=60)
        info = await js.stream_info(REFERRAL_EVENTS.name)
        await nc.close()
    finally:
        for server in servers:
            server.stop()
    assert info.config.num_replicas == 3
    assert info.cluster is not None and len(info.cluster.replicas or []) == 2  # and the leader
