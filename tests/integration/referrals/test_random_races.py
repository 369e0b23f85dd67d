"""Both agencies act on the same referrals at random, at the same time, over real NATS:
once every event has been delivered, the two nodes agree on every referral's status and
its open questions."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import nats
import pytest
from sqlalchemy import func, select

from crocevia_referrals.adapters.tables import messaging
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


async def emitted(app: Any, agency: str) -> int:
    """How many events the node has committed to its outbox (its sequence)."""
    seq = messaging.sequences
    async with app.state.runtime.db.connect() as session:
        found = await session.execute(select(seq.c.value).where(seq.c.source == agency))
        return int(found.scalar_one_or_none() or 0)


async def applied(app: Any) -> int:
    """How many of the other node's events the node has applied."""
    async with app.state.runtime.db.connect() as session:
        return int((await session.execute(select(func.count()).select_from(messaging.inbox))).scalar_one())


async def settled(apps: dict[str, Any]) -> bool:
    """Every event either node committed has been applied by the other. Answers come from
    applying an event, in the same transaction: so if pioltello-casa committed no new event
    while cpia2's were counted, nothing is in flight."""
    casa_sent = await emitted(apps[CASA], CASA)
    if await applied(apps[CPIA]) != casa_sent:
        return False
    if await applied(apps[CASA]) != await emitted(apps[CPIA], CPIA):
        return False
    return await emitted(apps[CASA], CASA) == casa_sent


@pytest.mark.parametrize("seed", [20261122, 7, 1999])
async def test_random_concurrent_steps_leave_both_nodes_agreeing(node_factory, tokens, nats_url, database_url, seed):
    rng = random.Random(seed)
    async with node_factory(CASA) as casa, node_factory(CPIA, database_url=database_url) as cpia:
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

        await eventually(lambda: settled(node_factory.apps), timeout=30)
        statuses = set()
        for rid in ids:
            sender = (await casa.get(f"/referrals/{rid}", headers=tokens.bearer(CASA))).json()
            receiver = (await cpia.get(f"/referrals/{rid}", headers=tokens.bearer(CPIA))).json()
            at_sender, at_receiver = sender["status"], receiver["status"]
            assert at_sender == at_receiver, (rid, at_sender, at_receiver)
            assert sender["open_questions"] == receiver["open_questions"], "both agree on the open questions"
            statuses.add(at_sender)
        assert len(statuses) > 1, "the referrals ended in different places"

        nc = await nats.connect(nats_url)
        try:
            dead = (await nc.jetstream().stream_info("DEADLETTERS")).state.messages
        finally:
            await nc.close()
        assert dead == 0, "no event was refused on the way"
