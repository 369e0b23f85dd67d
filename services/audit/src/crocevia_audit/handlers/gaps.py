"""Gaps in sources' sequences: listed for auditors, raised as events once overdue.

A gap is opened by the append that skips numbers; it is raised on ``audit.v1.gap`` when
it is still open after the grace period (events may simply be late: the stream delivers
each source in order, but a node's relay can lag), and a late arrival closes it (and,
if it had been raised, announces that on ``audit.v1.gap-closed``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_audit.adapters.locking import lock_trail
from crocevia_audit.adapters.publishing import GAP_CLOSED_SUBJECT, GAP_SUBJECT, enqueue, json_payload
from crocevia_audit.adapters.sequences import ClosedGap
from crocevia_audit.adapters.tables import sequence_gaps
from crocevia_audit.domain.entries import utc
from crocevia_audit.handlers.schedule import every
from crocevia_common.db import Database
from crocevia_contracts import new_event_id

g = sequence_gaps.c


def gap_view(row: RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"],
        "source": row["source"],
        "first_missing": row["first_missing"],
        "last_missing": row["last_missing"],
        "missing": row["last_missing"] - row["first_missing"] + 1,
        "detected_at": utc(row["detected_at"]).isoformat(),
        "raised_at": utc(row["raised_at"]).isoformat() if row["raised_at"] else None,
        "closed_at": utc(row["closed_at"]).isoformat() if row["closed_at"] else None,
        "closed_by_event_id": row["closed_by_event_id"],
    }


async def list_gaps(session: AsyncSession, *, source: str | None, status: str) -> list[RowMapping]:
    query = select(sequence_gaps)
    if source:
        query = query.where(g.source == source)
    if status == "open":
        query = query.where(g.closed_at.is_(None))
    elif status == "closed":
        query = query.where(g.closed_at.is_not(None))
    return list((await session.execute(query.order_by(g.source, g.first_missing, g.id))).mappings())


async def announce_closed(session: AsyncSession, closed: Sequence[ClosedGap]) -> None:
    """Queue ``audit.v1.gap-closed`` for the closed gaps that had been raised."""
    for gap in closed:
        if gap.raised:
            await enqueue(
                session,
                new_event_id(),
                GAP_CLOSED_SUBJECT,
                json_payload(
                    {
                        "source": gap.source,
                        "first_missing": gap.range.first,
                        "last_missing": gap.range.last,
                        "arrived": gap.sequence,
                        "event_id": gap.event_id,
                        "still_missing": [[r.first, r.last] for r in gap.remainders],
                    }
                ),
            )


class GapWatch:
    """Raises the gaps that stay open past the grace period."""

    def __init__(
        self, db: Database, *, grace_seconds: float, check_seconds: float, wake: Callable[[], None] | None = None
    ) -> None:
        self.db = db
        self.grace = timedelta(seconds=grace_seconds)
        self.check_seconds = check_seconds
        self._wake = wake
        self.raised = 0

    async def raise_overdue(self, now: datetime | None = None) -> int:
        """Queue one ``audit.v1.gap`` event per overdue gap; return how many."""
        now = now or datetime.now(UTC)
        async with self.db.transaction() as session:
            await lock_trail(session)  # the writer may be closing these gaps right now
            rows = list(
                (
                    await session.execute(
                        select(sequence_gaps)
                        .where(g.closed_at.is_(None), g.raised_at.is_(None), g.detected_at <= now - self.grace)
                        .order_by(g.id)
                    )
                ).mappings()
            )
            for row in rows:
                body = {**gap_view(row), "raised_at": now.isoformat(), "grace_seconds": self.grace.total_seconds()}
                await enqueue(session, f"gap-{row['id']}", GAP_SUBJECT, json_payload(body))
                await session.execute(update(sequence_gaps).where(g.id == row["id"]).values(raised_at=now))
        if rows and self._wake is not None:
            self._wake()
        self.raised += len(rows)
        return len(rows)

    async def run(self) -> None:
        await every(self.check_seconds, self.raise_overdue, "raising gaps")
