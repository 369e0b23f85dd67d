"""Firing reminders and escalations that are due: tell the people, and publish the notice
as an event, in one transaction; whichever replica takes the timer first does it."""

from __future__ import annotations

from datetime import datetime

from crocevia_notifications.domain.notices import Notice
from crocevia_notifications.domain.timers import Timer, TimerState, stage_open
from crocevia_notifications.handlers.context import Notifier
from crocevia_notifications.handlers.fanout import notify


async def fire_due_timers(ctx: Notifier, limit: int = 50) -> int:
    """Fire (or drop, when the referral has left the timer's stage) every timer due now;
    return how many fired."""
    now = ctx.clock()
    async with ctx.uow.reading() as tx:
        due = await tx.timers.due(now, limit)
    fired = 0
    for timer in due:
        fired += await _fire(ctx, timer, now)
    if fired:
        await ctx.wake()
    return fired


async def _fire(ctx: Notifier, timer: Timer, now: datetime) -> bool:
    async with ctx.uow.reading() as tx:
        seen = await tx.referrals.get(timer.referral_id)
    if seen is None:
        return False
    names = await ctx.directory.names(seen.sender_agency, seen.receiver_agency)
    async with ctx.uow.transaction() as tx:
        referral = await tx.referrals.get(timer.referral_id)
        assert referral is not None  # referrals are never deleted
        if not stage_open(timer.stage, referral.status):
            await tx.timers.take(timer.id, TimerState.CANCELLED, now)
            return False
        if not await tx.timers.take(timer.id, TimerState.FIRED, now):
            return False  # another replica fired it
        notice = Notice.about(
            referral,
            id=timer.id,
            kind=timer.kind,
            event=timer.stage.value,
            acting_agency=timer.agency,
            by_agency=referral.sender_agency,
            occurred_at=timer.due_at,
        )
        told = await notify(ctx, tx, notice, names, referral.owner_sub)
        await tx.publish(notice, due_at=timer.due_at, target_hours=timer.target_hours, notified=told.people)
    return True
