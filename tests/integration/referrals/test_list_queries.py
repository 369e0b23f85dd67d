"""A page of the node's list walks the referrals in the order it gives them (newest first) and
stops at the page's end: before, it read every referral and sorted them (about 30 ms a page at
100,000 referrals on SQLite)."""

from __future__ import annotations

from pathlib import Path

from crocevia_common.db import Database
from crocevia_referrals.adapters.queries import ListFilter, SqlReads
from crocevia_referrals.bootstrap import MIGRATIONS
from tests.kit.query_plans import plans_of


async def test_a_page_of_open_referrals_is_read_in_index_order_without_a_sort(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'node.db'}")
    try:
        await db.migrate(MIGRATIONS)
        reads = SqlReads(db)

        async def pages() -> None:
            await reads.search(ListFilter(include_closed=False), 50, None)  # the default view
            await reads.search(ListFilter(), 50, None)  # everything

        plans = await plans_of(db, pages, "SELECT referrals.id")
    finally:
        await db.dispose()
    assert len(plans) == 2
    for plan in plans:
        assert plan[0] == "SCAN referrals USING INDEX ix_referrals_created_at_id", plan
        assert not any("TEMP B-TREE" in step for step in plan), plan
