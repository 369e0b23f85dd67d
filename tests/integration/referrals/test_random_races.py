"""Both agencies act on the same referrals at random, at the same time, over real NATS:
once every event has been delivered, the two nodes agree on every referral's status."""

from __future__ import annotations

import asyncio
import random

import nats
import pytest

from tests.integration.referrals.conftest import referral_body
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"
SENDER_ACTIONS = ["cancel", "request-info", "provide-info"]
RECEIVER_ACTIONS = ["accept", "reject", "start", "hold", "resume", "complete", "fail", "request-info"]
BODIES = {
    "reject": {"reason_code": "no-capacity"},
    "complete": {"outcome": "got-help"},
    "fail": {"reason_code": "unreachable"},
    "cancel": {"reason_code": "no-longer-needed"},
    "request-info": {"question": "?"},
    "provide-info": {"answer": "!"},
}


async def settled(nats_url: str) -> bool:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for consumer in (f"referrals-{CASA}", f"referrals-{CPIA}"):
            info = await js.consumer_info("REFERRALS", consumer)
            if info.num_pending or info.num_ack_pending:
                return False
        return True
    finally:
        await nc.close()


@pytest.mark.parametrize("seed", [20261122, 7, 1999])
async def test_random_concurrent_steps_leave_both_nodes_agreeing(node_factory, tokens, nats_url, seed):
    rng = random.Random(seed)
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        ids = [
            (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]
            for _ in range(8)
        ]

        async def all_arrived():
            return len((await cpia.get("/referrals", headers=tokens.bearer(CPIA))).json()["items"]) == len(ids)

        await eventually(all_arrived)

        async def act(client, agency, rid, action):
            return await client.post(
                f"/referrals/{rid}/{action}", json=BODIES.get(action), headers=tokens.bearer(agency)
            )

        answered = []
        for _round in range(6):
            moves = []
            for rid in ids:
                moves.append(act(cpia, CPIA, rid, rng.choice(RECEIVER_ACTIONS)))
                if rng.random() < 0.3:
                    moves.append(act(casa, CASA, rid, rng.choice(SENDER_ACTIONS)))
            answered += await asyncio.gather(*moves)
            await asyncio.sleep(rng.random() * 0.1)
        assert {a.status_code for a in answered} <= {200, 409}, [a.text for a in answered if a.status_code >= 500]
        assert sum(a.status_code == 200 for a in answered) > len(ids), "the random walk moved referrals along"

        async def quiet_twice():
            # Settled when no event is pending at either node, twice in a row (an answer to
            # the last event may still have been in an outbox the first time).
            if not await settled(nats_url):
                return False
            await asyncio.sleep(0.5)
            return await settled(nats_url)

        await eventually(quiet_twice, timeout=30)
        statuses = set()
        for rid in ids:
            at_sender = (await casa.get(f"/referrals/{rid}", headers=tokens.bearer(CASA))).json()["status"]
            at_receiver = (await cpia.get(f"/referrals/{rid}", headers=tokens.bearer(CPIA))).json()["status"]
            assert at_sender == at_receiver, (rid, at_sender, at_receiver)
            statuses.add(at_sender)
        assert len(statuses) > 1, "the referrals ended in different places"

        nc = await nats.connect(nats_url)
        try:
            dead = (await nc.jetstream().stream_info("DEADLETTERS")).state.messages
        finally:
            await nc.close()
        assert dead == 0, "no event was refused on the way"
