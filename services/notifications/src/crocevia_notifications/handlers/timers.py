"""Firing reminders and escalations that are due: tell the people, and publish the notice
as an event, in one transaction; whichever replica takes the timer first does it."""

from __future__ import annotations

from crocevia_notifications.adapters import referral_store, timer_store
from crocevia_notifications.adapters.notice_events import enqueue_notice
from crocevia_notifications.adapters.tables import utc
from crocevia_notifications.domain.notices import Notice, NoticeKind
from crocevia_notifications.domain.timers import Stage, stage_open
from crocevia_notifications.handlers.context import Notifier
from crocevia_notifications.handlers.fanout import notify


async def fire_due_timers(ctx: Notifier, limit: int = 50) -> int:
    """Fire (or drop, when the referral moved on) every timer due now; return how many fired."""
    now = ctx.clock()
    async with ctx.db.sessions() as session:
        due = await timer_store.due(session, now, limit)
    fired = 0
    for timer in due:
        async with ctx.db.sessions() as session:
            seen = await referral_store.get(session, timer["referral_id"])
        if seen is None:
            continue
        names = await ctx.directory.names(seen["sender_agency"], seen["receiver_agency"])
        async with ctx.db.transaction() as session:
            referral = await referral_store.get(session, timer["referral_id"])
            assert referral is not None
            if not stage_open(Stage(timer["stage"]), referral["status"]):
                await timer_store.take(session, timer["id"], "cancelled", now)
                continue
            if not await timer_store.take(session, timer["id"], "fired", now):
                continue  # another replica fired it
            notice = Notice(
                id=timer["id"],
                kind=NoticeKind(timer["kind"]),
                event=timer["stage"],
                referral_id=referral["id"],
                sender_agency=referral["sender_agency"],
                receiver_agency=referral["receiver_agency"],
                service_id=referral["service_id"],
                priority=referral["priority"],
                status=referral["status"],
                acting_agency=timer["agency"],
                by_agency=referral["sender_agency"],
                occurred_at=utc(timer["due_at"]),
            )
            told = await notify(ctx, session, notice, names, referral["owner_sub"])
            await enqueue_notice(
                session,
                notice,
                ctx.keys,
                due_at=utc(timer["due_at"]),
                target_hours=timer["target_hours"],
                notified=told.people,
            )
        fired += 1
    if fired:
        await ctx.wake()
    return fired
