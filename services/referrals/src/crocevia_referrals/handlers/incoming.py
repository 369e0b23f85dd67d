"""Applying an event addressed to this node, once, after the intake checked who sent it.

The shared intake (``crocevia_common.messaging.intake``) has checked the message's size,
shape, subject and signature against the publisher's pinned key; here the event is checked
against the referral this node holds (its parties, then, by the referral, the step order and
the lifecycle) and applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from crocevia_common.messaging.consumer import Apply, together
from crocevia_common.messaging.intake import NotYet, Parties, Unprocessable, Verified, check_parties
from crocevia_contracts.events import MessageSent, Requested
from crocevia_contracts.sealing import SealError
from crocevia_referrals.domain.errors import OutOfOrder, Refused
from crocevia_referrals.domain.events import Incoming
from crocevia_referrals.domain.messages import MessageBody, read_message
from crocevia_referrals.domain.referral import Referral
from crocevia_referrals.handlers.messages import keep_received
from crocevia_referrals.handlers.ports import Node, Work


@dataclass
class Applied:
    """What applying events did that matters once committed: personal details erased (the
    files must forget them), attachments kept (their objects may go)."""

    erased: bool = False
    fetched: list[str] = field(default_factory=list)

    def add(self, other: Applied) -> None:
        self.erased = self.erased or other.erased
        self.fetched.extend(other.fetched)


def _parties(referral: Referral | None) -> Parties | None:
    if referral is None:
        return None
    return Parties(referral.sender_agency, referral.receiver_agency, referral.service_id)


def _open(node: Node, item: Verified) -> tuple[bytes | None, str | None]:
    """The event's sealed part opened, or why it does not open."""
    try:
        return node.seals.open(item), None
    except SealError as exc:
        return None, str(exc)


async def apply_incoming(node: Node, item: Verified) -> None:
    """Apply one verified event once, in its own transaction."""
    async with node.uow.transaction() as work:
        applied = await apply_in(node, work, item)
    await _after_commit(node, applied)


async def _after_commit(node: Node, applied: Applied) -> None:
    if applied.erased:  # a withdrawal or the other node's erasure: the files forget the details too
        await node.uow.compact()
    if applied.fetched:  # kept at this node: the bucket need not hold them any more
        await node.carrier.discard(applied.fetched)


def apply_batches(node: Node) -> Apply:
    """The consumer's apply: a batch of events in one transaction (``together``); once it
    committed, the files forget the personal details any of them erased, and the attachments
    kept leave the bucket."""

    async def apply(items: Sequence[Verified]) -> Sequence[str | None]:
        applied = Applied()

        async def apply_one(work: Work, item: Verified) -> None:
            applied.add(await apply_in(node, work, item))

        reasons = await together(node.uow.transaction, apply_one, read_ahead)(items)
        if all(reason is None for reason in reasons):
            await _after_commit(node, applied)
        return reasons

    return apply


async def read_ahead(work: Work, items: Sequence[Verified]) -> None:
    """Claim a batch of events and read their referrals, one statement each for the whole
    batch rather than one per event."""
    events = [item for item in items if item.envelope is not None]
    await work.inbox.claim_ahead(events)
    await work.referrals.read_ahead([item.envelope.data.referral_id for item in events if item.envelope])


def _message(data: object, opened: bytes | None, unreadable: str | None) -> MessageBody | None:
    """The message a ``message-sent`` carried; raise Unprocessable when it is not one."""
    if not isinstance(data, MessageSent) or unreadable is not None:
        return None
    try:
        return read_message(opened)
    except ValueError as exc:
        raise Unprocessable(str(exc)) from None


async def apply_in(node: Node, work: Work, item: Verified) -> Applied:
    """Apply one verified event once in the caller's transaction; a duplicate is
    acknowledged without effect. Raise Unprocessable for an event that can never apply,
    NotYet for one that came too early."""
    envelope = item.envelope
    if envelope is None:
        raise Unprocessable("a node takes referral events only")
    opened, unreadable = _open(node, item)
    referral = await work.referrals.get(envelope.data.referral_id)
    if not await work.inbox.claim(item):
        return Applied()
    check_parties(item, _parties(referral))
    applied = Applied()
    if isinstance(envelope.data, Requested):
        referral = Referral.arrive(item.id, envelope.data, opened, unreadable, node.clock())
        await work.referrals.add(referral)
    else:
        assert referral is not None  # check_parties refuses a step of an unknown referral
        message = _message(envelope.data, opened, unreadable)
        note = message.text if message else opened.decode(errors="replace") if opened is not None else None
        incoming = Incoming(item.id, envelope.source_agency, envelope.data, note, unreadable)
        held = referral.erasure is None
        try:
            if not referral.apply(incoming, node.clock()):
                return Applied()
        except OutOfOrder as exc:
            raise NotYet(str(exc)) from None
        except Refused as exc:
            raise Unprocessable(exc.reason) from None
        applied.erased = held and referral.erasure is not None
        await work.referrals.save(referral)
        if message is not None and referral.erasure is None:  # nothing kept of a message after erasure
            applied.fetched = await keep_received(node, work, referral.id, item.id, message)
    for event in referral.outbox:
        await work.outbox.put(event)
    return applied
