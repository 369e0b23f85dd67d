"""Applying a referral event from the stream, once: follow the referral, keep its timers,
tell the people who must act."""

from __future__ import annotations

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_common.messaging.consumer import Unprocessable
from crocevia_common.messaging.inbox import already_applied, mark_applied
from crocevia_contracts import Envelope, EnvelopeError, EventName, new_event_id, read_event
from crocevia_contracts.directory import ResponseTarget, WorkingCalendar
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


def check_event(subject: str, payload: bytes) -> tuple[Envelope, str]:
    """The envelope and the agency that must act; raise Unprocessable when the message is
    not a valid event or is not what its subject says."""
    try:
        route, envelope = read_event(subject, payload)
    except EnvelopeError as exc:
        raise Unprocessable(str(exc)) from None
    return envelope, route.to_agency


async def apply_event(ctx: Notifier, subject: str, payload: bytes) -> None:
    """Apply one event once; a duplicate (same event id) changes nothing."""
    envelope, acting = check_event(subject, payload)
    data = envelope.data
    for agency in (data.sender_agency, data.receiver_agency):
        if not await ctx.directory.knows(agency):
            raise Unprocessable(f"unknown agency {agency!r}: not in the directory")
    names = await ctx.directory.names(data.sender_agency, data.receiver_agency)
    target = None
    if envelope.name in OPENS:
        target = await ctx.directory.response_target(data.receiver_agency, data.service_id, data.priority.value)
    requested = data if isinstance(data, Requested) else None
    async with ctx.db.transaction() as session:
        if await already_applied(session, messaging, CONSUMER, envelope.id):
            return
        await mark_applied(session, messaging, CONSUMER, envelope.id)
        if requested:
            known = await referral_store.get(session, data.referral_id)
            if known is not None and known["requested_at"] is not None:
                raise Unprocessable(f"referral {data.referral_id} was requested already (a referral is requested once)")
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


async def _keep_timers(
    ctx: Notifier,
    session: AsyncSession,
    envelope: Envelope,
    referral: RowMapping,
    target: tuple[ResponseTarget, WorkingCalendar] | None,
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
    for timer in plan(stage, requested_at, *target):
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
