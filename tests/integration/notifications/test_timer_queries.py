"""Every event about a referral cancels that referral's pending timers: the search must go
through the referral's own timers, not every pending timer of the service (on SQLite it went
through the index of due timers, about 2 ms per event with 20,000 pending)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from crocevia_common.db import Database
from crocevia_notifications.adapters.timer_store import SqlTimers
from crocevia_notifications.bootstrap import MIGRATIONS
from crocevia_notifications.domain.timers import Stage


async def test_cancelling_a_referrals_timers_searches_that_referrals_timers_only(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}")
    statements: list[tuple[str, Any]] = []
    try:
        await db.migrate(MIGRATIONS)
        event.listen(
            db.engine.sync_engine,
            "before_cursor_execute",
            lambda _conn, _cursor, statement, parameters, _context, _many: statements.append((statement, parameters)),
        )
        async with db.transaction() as session:
            await SqlTimers(session).cancel("r-1", [Stage.RECEIVE, Stage.DECIDE], datetime.now(UTC))
        [(cancel, parameters)] = [(s, p) for s, p in statements if s.lstrip().upper().startswith("UPDATE TIMERS")]
        async with db.engine.connect() as conn:
            plan = [row[-1] for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {cancel}", parameters)]
    finally:
        await db.dispose()
    assert plan == ["SEARCH timers USING INDEX ix_timers_referral_state (referral_id=? AND state=?)"], plan
