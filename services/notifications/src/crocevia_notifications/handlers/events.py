"""Applying a referral event from the stream, once: follow the referral, keep its timers,
tell the people who must act."""

from __future__ import annotations

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_common.messaging.intake import Parties, Unprocessable, Verified, check_parties, claim
from crocevia_contracts import Envelope, EventName, new_event_id
from crocevia_contracts.directory import ServiceTarget
from crocevia_contracts.events import Requested
from crocevia_notifications.adapters import referral_store, timer_store
from crocevia_notifications.adapters.tables import messaging, utc
from crocevia_notifications.domain.notices import STATUS_AFTER, Notice, NoticeKind
from crocevia_notifications.domain.timers import Stage, plan, stage_open
from crocevia_notifications.handlers.context import Notifier
from crocevia_notifications.handlers.fanout import notify

CONSUMER = "notifications"

# The event that opens each stage's timers.
OPENS: dict[EventName, Stage] = {EventName.REQUESTED: Stage.RECEIVE, EventName.RECEIVED: Stage.DECIDE}


async def apply_event(ctx: Notifier, item: Verified) -> None:
    """Apply one verified event once; a duplicate (same event id) changes nothing."""
    envelope = item.envelope
    if envelope is None:
        raise Unprocessable("notifications takes referral events only")
    data = envelope.data
    acting = data.receiver_agency if envelope.source_agency == data.sender_agency else data.sender_agency
    for agency in (data.sender_agency, data.receiver_agency):
        if not await ctx.directory.knows(agency):
            raise Unprocessable("a party of the referral is not in the directory")
    names = await ctx.directory.names(data.sender_agency, data.receiver_agency)
    target = None
    if envelope.name in OPENS:
        target = await ctx.directory.target_for(data.receiver_agency, data.service_id, data.priority.value)
    requested = data if isinstance(data, Requested) else None
    async with ctx.db.transaction() as session:
        if not await claim(session, messaging, CONSUMER, item):
            return
        known = await referral_store.get(session, data.referral_id)
        check_parties(item, _requested_parties(known))
        referral = await referral_store.follow(
            session,
            data.referral_id,
            ctx.clock(),
            sender_agency=data.sender_agency,
            receiver_agency=data.receiver_agency,
            service_id=data.service_id,
            priority=data.priority.value,
            status=STATUS_AFTER.get(envelope.name),  # None: unchanged
            requested_at=data.occurred_at if requested else None,
            # The sender's user who created it; failing that (an agency system sent it), the
            # staff member who captured the legal basis.
            owner_sub=(requested.requested_by or requested.legal_basis.captured_by) if requested else None,
        )
        await _keep_timers(ctx, session, envelope, referral, target)
        notice = Notice(
            id=envelope.id,
            kind=NoticeKind.EVENT,
            event=envelope.name.value,
            referral_id=data.referral_id,
            sender_agency=data.sender_agency,
            receiver_agency=data.receiver_agency,
            service_id=data.service_id,
            priority=data.priority.value,
            status=referral["status"],
            acting_agency=acting,
            by_agency=envelope.source_agency,
            occurred_at=data.occurred_at,
            reason_code=getattr(data, "reason_code", None),
        )
        await notify(ctx, session, notice, names, referral["owner_sub"])
    await ctx.wake()


def _requested_parties(known: RowMapping | None) -> Parties | None:
    """The parties of the referral as its ``requested`` named them, if that came."""
    if known is None or known["requested_at"] is None:
        return None
    return Parties(known["sender_agency"], known["receiver_agency"], known["service_id"])


async def _keep_timers(
    ctx: Notifier,
    session: AsyncSession,
    envelope: Envelope,
    referral: RowMapping,
    target: ServiceTarget | None,
) -> None:
    """Stop the timers of stages the referral has left; start those of the stage it enters."""
    status = referral["status"]
    await timer_store.cancel(
        session, referral["id"], [s.value for s in Stage if not stage_open(s, status)], ctx.clock()
    )
    stage = OPENS.get(envelope.name)
    if stage is None or target is None or not stage_open(stage, status):
        return
    requested_at = utc(referral["requested_at"] or envelope.data.occurred_at)
    for timer in plan(stage, requested_at, target):
        await timer_store.arm(
            session,
            id=new_event_id(),
            referral_id=referral["id"],
            kind=timer.kind.value,
            stage=stage.value,
            agency=referral["receiver_agency"],
            due_at=timer.due_at,
            target_hours=timer.target_hours,
        )
