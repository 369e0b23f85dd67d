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
    .where(
        c.referral_id == bindparam("referral"),
        c.state == TimerState.PENDING,
        c.stage.in_(bindparam("stages", expanding=True)),
    )
    .values(state=TimerState.CANCELLED.value, cancelled_at=bindparam("at"))
)


class SqlTimers:
    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def arm(self, armed: Sequence[Timer]) -> None:
        if armed:
            statement = _arm(self.session.dialect.name)
            await execute(self.session, statement, [row_of(timer) for timer in armed])

    async def cancel(self, referral_id: str, stages: Collection[Stage], at: datetime) -> None:
        if stages:
            await execute(self.session, _CANCEL, {"referral": referral_id, "stages": list(stages), "at": at})

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
