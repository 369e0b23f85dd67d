"""Applying a referral event from the stream, once: follow the referral by the contracts'
lifecycle, keep its timers, tell the people who must act."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from crocevia_common.messaging.intake import Parties, Unprocessable, Verified, check_parties
from crocevia_contracts import Envelope, new_event_id
from crocevia_contracts.directory import ServiceTarget
from crocevia_contracts.events import Requested
from crocevia_contracts.lifecycle import Side, TransitionRefused
from crocevia_notifications.domain.notices import Notice, NoticeKind
from crocevia_notifications.domain.referral import Followed, Observed
from crocevia_notifications.domain.timers import OPENED_BY, Stage, Timer, closed_stages, plan, stage_open
from crocevia_notifications.handlers.context import Notifier
from crocevia_notifications.handlers.fanout import notify
from crocevia_notifications.handlers.ports import Transaction


async def apply_event(ctx: Notifier, item: Verified) -> None:
    """Apply one verified referral event once, in its own transaction; raise Unprocessable
    for an event that can never be applied."""
    async with ctx.uow.transaction() as tx:
        await apply_in(ctx, tx, item)
    await ctx.wake()


async def apply_in(ctx: Notifier, tx: Transaction, item: Verified) -> None:
    """Apply one verified referral event in the caller's transaction; a redelivery (same
    event id) changes nothing. Raise Unprocessable for an event that can never be applied."""
    envelope = item.envelope
    if envelope is None:
        raise Unprocessable("notifications takes referral events only")
    data = envelope.data
    for agency in (data.sender_agency, data.receiver_agency):
        if not await ctx.directory.knows(agency):
            raise Unprocessable("a party of the referral is not in the directory")
    names = await ctx.directory.names(data.sender_agency, data.receiver_agency)
    stage = OPENED_BY.get(envelope.name)
    target = (
        await ctx.directory.target_for(data.receiver_agency, data.service_id, data.priority.value) if stage else None
    )
    now = ctx.clock()
    if not await tx.claim(item):
        return
    known = await tx.referrals.get(data.referral_id)
    check_parties(item, _parties(known))
    observed = await _follow(tx, envelope, known, now)
    if not observed.news:
        return  # older than what its publisher said already: told then
    referral = observed.referral
    if known is not None:  # a referral followed from this event on has no timer yet
        await tx.timers.cancel(referral.id, closed_stages(referral.status), now)
    if stage is not None and target is not None and stage_open(stage, referral.status):
        await _arm(tx, referral, stage, target)
    await notify(ctx, tx, _notice(envelope, referral), names, referral.owner_sub)


async def read_ahead(tx: Transaction, items: Sequence[Verified]) -> None:
    """Claim a batch of events and read what they will look up, in one statement per table
    rather than one per event: their referrals and assignments, and their agencies' staff,
    subscriptions and webhooks (which the stores keep for the rest of the transaction)."""
    events = [item.envelope.data for item in items if item.envelope is not None]
    await tx.claim_ahead([item for item in items if item.envelope is not None])
    ids = [data.referral_id for data in events]
    await tx.referrals.read_ahead(ids)
    await tx.assignments.read_ahead(ids)
    agencies = {agency for data in events for agency in (data.sender_agency, data.receiver_agency)}
    if agencies:
        await tx.staff.of_agencies(agencies)
        await tx.subscriptions.of_agencies(agencies)
        await tx.webhooks.active_of(agencies)


def _parties(known: Followed | None) -> Parties | None:
    """The parties of the referral as its ``requested`` named them, if that came."""
    return Parties(known.sender_agency, known.receiver_agency, known.service_id) if known else None


async def _follow(tx: Transaction, envelope: Envelope, known: Followed | None, now: datetime) -> Observed:
    """Start following the referral (its ``requested``), or move it by the lifecycle."""
    data = envelope.data
    if isinstance(data, Requested):
        referral = Followed.requested(data)
        await tx.referrals.add(referral, now)
        return Observed(referral)
    assert known is not None  # check_parties: its requested came before it
    try:
        observed = known.observe(envelope.name, known.side_of(envelope.source_agency), data.step)
    except TransitionRefused as exc:
        raise Unprocessable(f"the lifecycle refuses it: {exc.reason}") from None
    if observed.news:
        await tx.referrals.save(observed.referral, now)
    return observed


async def _arm(tx: Transaction, referral: Followed, stage: Stage, target: ServiceTarget) -> None:
    """Start the timers of ``stage``, due by the service's target from the request."""
    await tx.timers.arm(
        [
            Timer(
                id=new_event_id(),
                referral_id=referral.id,
                kind=planned.kind,
                stage=stage,
                agency=referral.receiver_agency,
                due_at=planned.due_at,
                target_hours=planned.target_hours,
            )
            for planned in plan(stage, referral.requested_at, target)
        ]
    )


def _notice(envelope: Envelope, referral: Followed) -> Notice:
    publisher = referral.side_of(envelope.source_agency)
    return Notice.about(
        referral,
        id=envelope.id,
        kind=NoticeKind.EVENT,
        event=envelope.name.value,
        # The party that must act: the ``to`` of the event's subject.
        acting_agency=referral.receiver_agency if publisher is Side.SENDER else referral.sender_agency,
        by_agency=envelope.source_agency,
        occurred_at=envelope.data.occurred_at,
        reason_code=getattr(envelope.data, "reason_code", None),
    )
