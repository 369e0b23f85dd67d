"""Reminder and escalation timers, kept in the database so they survive restarts."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.db import upsert_in
from crocevia_common.statements import execute
from crocevia_notifications.adapters.tables import from_row, row_of, timers
from crocevia_notifications.domain.notices import NoticeKind
from crocevia_notifications.domain.timers import Stage, Timer, TimerState

c = timers.c


def timer(row: RowMapping) -> Timer:
    return from_row(Timer, row, kind=NoticeKind(row["kind"]), stage=Stage(row["stage"]), state=TimerState(row["state"]))


@functools.cache
def _arm(dialect: str) -> Any:
    """Timers added unless armed already; made once, the timers passed as parameters."""
    return upsert_in(dialect, timers).on_conflict_do_nothing(index_elements=["referral_id", "kind", "stage"])


_CANCEL = (
    update(timers)
    .where(c.referral_id == bindparam("referral"), c.state == TimerState.PENDING, c.stage == bindparam("closed_stage"))
    .values(state=TimerState.CANCELLED.value, cancelled_at=bindparam("at"))
)


class SqlTimers:
    """What ``arm`` and ``cancel`` do in a transaction is held back and written by ``flush``,
    before the commit, in one statement of each kind: first the cancels, in the order asked
    (they reach the timers armed in earlier transactions), then the timers armed in this one,
    each in the state this transaction left it (cancelled here already, or pending). The
    table ends as after each statement in turn: a timer armed twice is armed once, as the
    table's unique key has it, and nothing in the transaction reads the timers meanwhile."""

    def __init__(self, session: AsyncConnection) -> None:
        self.session = session
        self._armed: dict[tuple[str, str, str], dict[str, Any]] = {}  # by referral, kind and stage
        self._cancels: list[dict[str, Any]] = []

    async def arm(self, armed: Sequence[Timer]) -> None:
        for one in armed:
            key = (one.referral_id, one.kind.value, one.stage.value)
            if key not in self._armed:
                self._armed[key] = {**row_of(one), "cancelled_at": None}

    async def cancel(self, referral_id: str, stages: Collection[Stage], at: datetime) -> None:
        closed = {stage.value for stage in stages}
        self._cancels += [{"referral": referral_id, "closed_stage": stage, "at": at} for stage in sorted(closed)]
        for (referral, _, stage), row in self._armed.items():
            if referral == referral_id and stage in closed and row["state"] == TimerState.PENDING:
                row.update(state=TimerState.CANCELLED, cancelled_at=at)

    async def flush(self) -> None:
        """Write what ``arm`` and ``cancel`` held back."""
        cancels, self._cancels = self._cancels, []
        armed, self._armed = list(self._armed.values()), {}
        if cancels:
            await execute(self.session, _CANCEL, cancels)
        if armed:
            await execute(self.session, _arm(self.session.dialect.name), armed)

    async def due(self, now: datetime, limit: int) -> list[Timer]:
        rows = await self.session.execute(
            select(timers).where(c.state == TimerState.PENDING, c.due_at <= now).order_by(c.due_at, c.id).limit(limit)
        )
        return [timer(row) for row in rows.mappings()]

    async def take(self, timer_id: str, state: TimerState, at: datetime) -> bool:
        """Inside the transaction that acts on the timer, so acting and taking commit together."""
        values: dict[str, Any] = {
            "state": state.value,
            "fired_at" if state is TimerState.FIRED else "cancelled_at": at,
        }
        done = await self.session.execute(
            update(timers).where(c.id == timer_id, c.state == TimerState.PENDING).values(**values)
        )
        return bool(done.rowcount)

    async def of_referral(self, referral_id: str) -> list[Timer]:
        rows = await self.session.execute(select(timers).where(c.referral_id == referral_id).order_by(c.due_at, c.kind))
        return [timer(row) for row in rows.mappings()]
