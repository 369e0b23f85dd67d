"""Every event about a referral cancels that referral's pending timers: the search must go
through the referral's own timers, not every pending timer of the service (on SQLite it went
through the index of due timers, about 2 ms per event with 20,000 pending)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from crocevia_common.db import Database
from crocevia_notifications.adapters.timer_store import SqlTimers
from crocevia_notifications.bootstrap import MIGRATIONS
from crocevia_notifications.domain.timers import Stage
from tests.kit.query_plans import plans_of


async def test_cancelling_a_referrals_timers_searches_that_referrals_timers_only(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}")
    try:
        await db.migrate(MIGRATIONS)

        async def cancel() -> None:
            async with db.transaction() as session:
                timers = SqlTimers(session)
                await timers.cancel("r-1", [Stage.RECEIVE, Stage.DECIDE], datetime.now(UTC))
                await timers.flush()  # held back until the transaction's end

        plans = await plans_of(db, cancel, "UPDATE timers")
    finally:
        await db.dispose()
    assert plans == [["SEARCH timers USING INDEX ix_timers_referral_state (referral_id=? AND state=?)"]], plans
