"""Before a referral is sent, the node looks for an open one it already sent to the same
service for the same person. The look-up searches that person's referrals to that service by
an index: it read every open referral the agency had sent before (a cost that grew with the
agency's caseload, on every referral it created)."""

from __future__ import annotations

from pathlib import Path

from crocevia_common.db import Database
from crocevia_referrals.adapters.repository import SqlReferrals
from crocevia_referrals.bootstrap import MIGRATIONS
from tests.kit.query_plans import plans_of


async def test_the_look_up_of_a_persons_open_referrals_to_a_service_searches_by_its_index(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'node.db'}")
    try:
        await db.migrate(MIGRATIONS)

        async def lookup() -> None:
            async with db.engine.begin() as conn:
                await SqlReferrals(conn, locking=False).open_sent("agency-b", "service-1", "ada | rossi")

        plans = await plans_of(db, lookup, "SELECT referrals.id")
    finally:
        await db.dispose()
    assert len(plans) == 1
    (plan,) = plans
    assert plan[0] == (
        "SEARCH referrals USING INDEX ix_referrals_sent_to_person"
        " (receiver_agency=? AND service_id=? AND person_names=? AND direction=?)"
    ), plan
    assert not any(step.startswith("SCAN") for step in plan), plan
