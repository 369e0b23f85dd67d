"""The statements a batch of appends runs (the tree's size, the events already held, the
parties of their referrals, the sources' sequences, entries, nodes, running totals, the
months whose totals changed) each run on SQLite's connection itself, made once, not through
SQLAlchemy's execution each batch: 13 of them per batch did before, about 6% of the trail
writer's CPU in SQLAlchemy's statement building and a tenth in its execution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event

from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.bootstrap import MIGRATIONS
from crocevia_audit.handlers.append import TrailWriter
from crocevia_common.db import Database
from tests.integration.audit.events import Network, checked

AGENCIES = ("pioltello-casa", "cpia2", "csl-lavoro")


async def test_every_statement_of_a_batch_of_appends_runs_on_sqlites_connection_itself(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
    await db.migrate(MIGRATIONS)
    net, writer = Network(), TrailWriter(unit_of_work(db))
    pairs = [(AGENCIES[i % 3], AGENCIES[(i + 1) % 3]) for i in range(60)]
    requested = [net.event("requested", f"ref-{i}", sender=s, receiver=r) for i, (s, r) in enumerate(pairs)]
    received = [net.event("received", f"ref-{i}", sender=s, receiver=r) for i, (s, r) in enumerate(pairs)]
    ran: list[tuple[str, bool]] = []  # each statement, and whether it ran on the connection itself

    def seen(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        ran.append((statement.split(None, 1)[0].upper(), cursor is None))

    await writer.append(checked(requested[:30]))  # the first batch: the statements compiled
    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        for batch in (requested[30:], received[:30], received[30:]):
            results = await writer.append(checked(batch))
            assert [r.outcome.value for r in results] == ["appended"] * 30
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
        await db.dispose()
    kinds = {kind for kind, _ in ran}
    assert {"SELECT", "INSERT", "DELETE", "UPDATE"} <= kinds, ran
    # Only each transaction's BEGIN goes through SQLAlchemy (its connection starts it).
    assert [kind for kind, here in ran if not here] == ["BEGIN"] * 3, ran
    assert len(ran) <= 3 * 14, ran  # per batch, whatever its size
