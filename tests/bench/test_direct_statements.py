"""The audit's trail writer, and notifications applying a batch of events, run their
statements on the driver's connection itself, on SQLite and on PostgreSQL
(``crocevia_common.statements``): counted by the path each takes, so a statement that slips
back to SQLAlchemy's execution (about 100 us more on SQLite, 250 us on asyncpg, each time)
shows here whatever the machine's load."""

from __future__ import annotations

import pytest

from bench.audit_append import one_run
from bench.notifications_statements import measure

pytestmark = pytest.mark.timeout(180)


async def test_the_trail_writers_batches_run_their_statements_directly(database_url: str) -> None:
    _cpu, paths = await one_run(300, database_url)  # 600 events, batches of 100
    direct = sum(n for path, n in paths.items() if path.endswith("directly"))
    through = {path: n for path, n in paths.items() if not path.endswith("directly")}
    assert direct >= 12, paths  # entries, nodes, totals, sequences: read and written
    # SQLite: its BEGIN (the write lock taken); PostgreSQL: none (the trail's advisory lock too).
    assert through == ({"BEGIN through SQLAlchemy": 1.0} if "sqlite" in database_url else {}), paths


async def test_notifications_batches_run_their_statements_directly(database_url: str) -> None:
    found = await measure(database_url, 40, 64)  # 120 events, batches of 64
    kinds = found["kinds"]
    through = {kind for kind in kinds if kind.endswith("(through SQLAlchemy)")}
    # Read ahead (referrals, assignments, staff, subscriptions, webhooks), written at the end.
    assert {"SELECT referrals", "SELECT staff", "INSERT inbox_items", "INSERT timers"} <= kinds.keys(), kinds
    assert through == ({"BEGIN (through SQLAlchemy)"} if "sqlite" in database_url else set()), kinds
    assert found["inbox_items"] > 0
