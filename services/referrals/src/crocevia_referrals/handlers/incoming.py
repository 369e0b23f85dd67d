"""Applying an event addressed to this node, once, after the intake checked who sent it.

The shared intake (``crocevia_common.messaging.intake``) has checked the message's size,
shape, subject and signature against the publisher's pinned key; here the event is checked
against the referral this node holds (its parties, the step order, the lifecycle) and applied.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_common.messaging.intake import NotYet, Parties, Unprocessable, Verified, check_parties, claim
from crocevia_contracts import Envelope, EventName
from crocevia_contracts.envelope import describe
from crocevia_contracts.events import PersonalDataErased, Received, Rejected, Requested
from crocevia_contracts.lifecycle import Side, Status, TransitionRefused, settle
from crocevia_contracts.sealing import SealError, open_sealed
from crocevia_referrals.adapters import repository
from crocevia_referrals.adapters.tables import messaging
from crocevia_referrals.domain.codes import UNDELIVERABLE
from crocevia_referrals.domain.referral import PersonalPart
from crocevia_referrals.handlers.node import Node

CONSUMER = "referrals"


def _parties(referral: RowMapping | None) -> Parties | None:
    if referral is None:
        return None
    return Parties(referral["sender_agency"], referral["receiver_agency"], referral["service_id"])


async def apply_incoming(node: Node, item: Verified) -> None:
    """Apply one verified event once; a duplicate is acknowledged without effect. Raise
    Unprocessable for an event that can never apply, NotYet for one that came too early."""
    envelope = item.envelope
    if envelope is None:
        raise Unprocessable("a node takes referral events only")
    async with node.db.transaction() as session:
        referral = await repository.get(session, envelope.data.referral_id, for_update=True)
        if not await claim(session, messaging, CONSUMER, item):
            return
        check_parties(item, _parties(referral))
        if isinstance(envelope.data, Requested):
            await _requested(node, session, item, envelope.data)
        else:
            assert referral is not None
            await _step(node, session, item, referral)
    node.relay.wake()


async def _open(node: Node, item: Verified) -> bytes | None:
    """The sealed part of the event, opened with the publisher's pinned key."""
    data = item.envelope.data if item.envelope else None
    if data is None or data.sealed is None:
        return None
    sender = node.keyring.pinned(item.publisher)
    if sender is None:
        raise NotYet("the publisher's keys are not pinned yet")
    return open_sealed(data.sealed, sender, node.keys, data.referral_id, data.event)


def _personal(plaintext: bytes | None) -> PersonalPart:
    """The personal part of a ``requested``; raise ValueError naming what is wrong."""
    if plaintext is None:
        raise ValueError("a requested event must carry the sealed personal part")
    try:
        return PersonalPart.model_validate(json.loads(plaintext))
    except ValidationError as exc:
        raise ValueError(describe(exc, "personal part")) from None
    except ValueError:
        raise ValueError("the personal part is not JSON") from None


async def _requested(node: Node, session: AsyncSession, item: Verified, data: Requested) -> None:
    """Store a new incoming referral and answer ``received``. A referral its authentic sender
    sent but that this node cannot take (a sealed part that does not open or is not valid) is
    stored without details and answered ``rejected`` (undeliverable), so the sender knows."""
    assert item.envelope is not None
    problem: str | None = None
    personal: PersonalPart | None = None
    try:
        personal = _personal(await _open(node, item))
    except (SealError, ValueError) as exc:
        problem = str(exc)
    now = datetime.now(UTC)
    await repository.add(
        session,
        id=data.referral_id,
        direction="incoming",
        sender_agency=data.sender_agency,
        receiver_agency=data.receiver_agency,
        service_id=data.service_id,
        domain=data.domain,
        priority=data.priority.value,
        status=(Status.RECEIVED if problem is None else Status.REJECTED).value,
        legal_basis=data.legal_basis.model_dump(mode="json", exclude_none=True),
        personal=personal.model_dump(mode="json") if personal else None,
        previous_referral_id=data.previous_referral_id,
    )
    await repository.change(session, data.referral_id, their_step=data.step or 0)
    await repository.record(
        session,
        referral_id=data.referral_id,
        event_id=item.id,
        event=EventName.REQUESTED.value,
        by_agency=data.sender_agency,
        status=Status.REQUESTED.value,
        at=data.occurred_at,
    )
    answers: list[tuple[Received | Rejected, Status, dict[str, Any]]] = [
        (Received(**_common(data), occurred_at=now), Status.RECEIVED, {})
    ]
    if problem is not None:
        rejected = Rejected(**_common(data), occurred_at=now, reason_code=UNDELIVERABLE)
        answers.append((rejected, Status.REJECTED, {"reason_code": UNDELIVERABLE, "problem": problem}))
    for answer, status, details in answers:
        sent = await node.emit(session, answer, data.sender_agency)
        await repository.record(
            session,
            referral_id=data.referral_id,
            event_id=sent.id,
            event=answer.event,
            by_agency=node.agency_id,
            status=status.value,
            at=now,
            details=details,
        )


def _common(data: Any) -> dict[str, Any]:
    return {
        k: getattr(data, k)
        for k in ("referral_id", "sender_agency", "receiver_agency", "service_id", "domain", "priority")
    }


async def _step(node: Node, session: AsyncSession, item: Verified, referral: RowMapping) -> None:
    envelope: Envelope = item.envelope  # type: ignore[assignment]
    data = envelope.data
    changes: dict[str, Any] = {}
    if data.step is not None:
        if data.step <= referral["their_step"]:
            return  # the same step again under another event id: applied already
        if data.step > referral["their_step"] + 1:
            raise NotYet(f"step {data.step} came before step {referral['their_step'] + 1}")
        changes["their_step"] = data.step
    publisher = Side.SENDER if envelope.source_agency == referral["sender_agency"] else Side.RECEIVER
    try:
        settled = settle(envelope.name, Status(referral["status"]), publisher)
    except TransitionRefused as exc:
        raise Unprocessable(f"lifecycle refuses it: {exc.reason}") from None
    changes["status"] = settled.status.value
    public = data.model_dump(mode="json", include={"reason_code", "outcome", "suggested_agency", "reason"})
    if settled.ignored:
        public["ignored"] = settled.ignored
    try:
        plaintext = await _open(node, item)
    except SealError as exc:
        raise Unprocessable(f"refused: {exc}") from None
    note = plaintext.decode(errors="replace") if plaintext is not None else None
    now = datetime.now(UTC)
    # The person withdrew consent: the receiver erases and confirms; the sender erases its own
    # copy once the receiver has confirmed.
    withdrawn = envelope.name is EventName.CONSENT_WITHDRAWN and publisher is Side.SENDER
    confirmed = envelope.name is EventName.PERSONAL_DATA_ERASED and publisher is Side.RECEIVER
    if withdrawn or confirmed:
        reason = "consent-withdrawn" if withdrawn else getattr(data, "reason", "erased-by-receiver")
        changes.update(personal=None, erased_at=now, erasure_reason=reason)
        if withdrawn:
            changes["consent_withdrawn_at"] = data.occurred_at
        await repository.erase_notes(session, data.referral_id)
        note = None
    await repository.change(session, data.referral_id, **changes)
    await repository.record(
        session,
        referral_id=data.referral_id,
        event_id=item.id,
        event=envelope.name.value,
        by_agency=envelope.source_agency,
        status=settled.status.value,
        at=data.occurred_at,
        details=public,
        note=note,
    )
    if withdrawn:
        erased = PersonalDataErased(**_common(data), occurred_at=now, reason="consent-withdrawn")
        answer = await node.emit(session, erased, envelope.source_agency)
        await repository.record(
            session,
            referral_id=data.referral_id,
            event_id=answer.id,
            event=erased.event,
            by_agency=node.agency_id,
            status=settled.status.value,
            at=now,
            details={"reason": "consent-withdrawn"},
        )
