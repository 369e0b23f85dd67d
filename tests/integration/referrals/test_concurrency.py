"""Two people acting on one referral at the same moment: one wins, the other is told."""

from __future__ import annotations

import asyncio

from tests.integration.referrals.conftest import referral_body
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"


async def test_concurrent_accept_and_reject_decide_once(node_factory, tokens, database_url):
    async with node_factory(CASA) as casa, node_factory(CPIA, database_url=database_url) as cpia:
        ids = [
            (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]
            for _ in range(5)
        ]

        async def all_in():
            page = (await cpia.get("/referrals", headers=tokens.bearer(CPIA))).json()
            return len(page["items"]) == 5

        await eventually(all_in, timeout=20)
        for rid in ids:
            answers = await asyncio.gather(
                cpia.post(f"/referrals/{rid}/accept", headers=tokens.bearer(CPIA, sub="op-a")),
                cpia.post(
                    f"/referrals/{rid}/reject",
                    json={"reason_code": "no-capacity"},
                    headers=tokens.bearer(CPIA, sub="op-b"),
                ),
            )
            assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
            history = (await cpia.get(f"/referrals/{rid}", headers=tokens.bearer(CPIA))).json()["history"]
            decisions = [h["event"] for h in history if h["event"] in ("accepted", "rejected")]
            assert len(decisions) == 1, decisions
