"""Gaps in sources' sequences, raised as events once overdue.

A gap is opened by the append that skips numbers; it is raised on ``audit.v1.gap`` when
it is still open after the grace period (events may simply be late: the stream delivers
each source in order, but a node's relay can lag), and a late arrival closes it (and,
if it had been raised, announces that on ``audit.v1.gap-closed``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from crocevia_audit.domain.announcements import json_payload
from crocevia_audit.domain.sequences import ClosedGap
from crocevia_audit.handlers.ports import Outbox, UnitOfWork
from crocevia_common.schedule import every
from crocevia_contracts import new_event_id
from crocevia_contracts.stream import AUDIT_GAP_CLOSED_SUBJECT, AUDIT_GAP_SUBJECT


async def announce_closed(outbox: Outbox, closed: Sequence[ClosedGap]) -> None:
    """Queue ``audit.v1.gap-closed`` for the closed gaps that had been raised."""
    for gap in closed:
        if gap.raised:
            body = {
                "source": gap.source,
                "first_missing": gap.range.first,
                "last_missing": gap.range.last,
                "arrived": gap.sequence,
                "event_id": gap.event_id,
                "still_missing": [[r.first, r.last] for r in gap.remainders],
            }
            await outbox.enqueue(new_event_id(), AUDIT_GAP_CLOSED_SUBJECT, json_payload(body))


class GapWatch:
    """Raises the gaps that stay open past the grace period."""

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        grace_seconds: float,
        check_seconds: float,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.uow = uow
        self.grace = timedelta(seconds=grace_seconds)
        self.check_seconds = check_seconds
        self._wake = wake
        self.raised = 0

    async def raise_overdue(self, now: datetime | None = None) -> int:
        """Queue one ``audit.v1.gap`` event per overdue gap; return how many."""
        now = now or datetime.now(UTC)
        async with self.uow() as work:  # under the trail's lock: the writer may be closing them
            overdue = await work.gaps.overdue(now - self.grace)
            for gap in overdue:
                body = {**gap.view(), "raised_at": now.isoformat(), "grace_seconds": self.grace.total_seconds()}
                await work.outbox.enqueue(f"gap-{gap.id}", AUDIT_GAP_SUBJECT, json_payload(body))
                await work.gaps.mark_raised(gap, now)
        if overdue and self._wake is not None:
            self._wake()
        self.raised += len(overdue)
        return len(overdue)

    async def run(self) -> None:
        await every(self.check_seconds, self.raise_overdue, "raising gaps")
