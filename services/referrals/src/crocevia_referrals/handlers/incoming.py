"""Applying an event addressed to this node, once, after checking who sent it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_common.messaging.consumer import Unprocessable
from crocevia_common.messaging.inbox import already_applied, mark_applied
from crocevia_contracts import Envelope, EnvelopeError, EventName, read_event
from crocevia_contracts.events import PersonalDataErased, Received, Requested
from crocevia_referrals.adapters import repository
from crocevia_referrals.adapters.sealing import SealError, open_sealed, verify_event
from crocevia_referrals.adapters.tables import messaging
from crocevia_referrals.domain.lifecycle import Side, Status, TransitionRefused, settle
from crocevia_referrals.domain.referral import PersonalPart
from crocevia_referrals.handlers.node import Node

CONSUMER = "referrals"


class NotYet(Exception):
    """An event that came before an earlier one about the same referral: retried later,
    so the other node's events are applied in the order it sent them."""


def check_envelope(node: Node, subject: str, payload: bytes) -> Envelope:
    """Parse the message and check that it is what its subject claims; raise Unprocessable."""
    try:
        route, envelope = read_event(subject, payload)
    except EnvelopeError as exc:
        raise Unprocessable(str(exc)) from None
    if route.to_agency != node.agency_id:
        raise Unprocessable(f"addressed to {route.to_agency}, not {node.agency_id}")
    return envelope


async def _authenticate(node: Node, envelope: Envelope, payload: bytes, signature: str | None) -> bytes | None:
    """Check the sender's signature of the event, then open its sealed part, if any."""
    data = envelope.data
    sender = await node.directory.fetch(envelope.source_agency)
    if sender is None or sender.public_keys is None:
        # The directory may lag behind the event: retry rather than dead-letter.
        raise NotYet(f"no keys of {envelope.source_agency} in the directory yet")
    try:
        verify_event(signature, sender.public_keys, payload)
        if data.sealed is None:
            return None
        return open_sealed(data.sealed, sender.public_keys, node.keys, data.referral_id, data.event)
    except SealError as exc:
        raise Unprocessable(f"refused: {exc}") from None


async def apply_incoming(node: Node, subject: str, payload: bytes, signature: str | None) -> None:
    """Apply one event once; a duplicate is acknowledged without effect."""
    envelope = check_envelope(node, subject, payload)
    plaintext = await _authenticate(node, envelope, payload, signature)
    async with node.db.transaction() as session:
        if await already_applied(session, messaging, CONSUMER, envelope.id):
            return
        await mark_applied(session, messaging, CONSUMER, envelope.id)
        if isinstance(envelope.data, Requested):
            await _requested(node, session, envelope, envelope.data, plaintext)
        else:
            await _step(node, session, envelope, plaintext)
    node.relay.wake()


async def _requested(
    node: Node, session: AsyncSession, envelope: Envelope, data: Requested, plaintext: bytes | None
) -> None:
    if data.receiver_agency != node.agency_id:
        raise Unprocessable("a referral is requested by its sender, to its receiver")
    if await repository.get(session, data.referral_id) is not None:
        raise Unprocessable(f"referral {data.referral_id} exists already")
    if plaintext is None:
        raise Unprocessable("a requested event must carry the sealed personal part")
    try:
        personal = PersonalPart.model_validate(json.loads(plaintext))
    except (ValueError, ValidationError) as exc:
        raise Unprocessable(f"the personal part is not valid: {exc}") from None
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
        status=Status.RECEIVED.value,
        legal_basis=data.legal_basis.model_dump(mode="json", exclude_none=True),
        personal=personal.model_dump(mode="json"),
        previous_referral_id=data.previous_referral_id,
    )
    await repository.change(session, data.referral_id, their_step=data.step or 0)
    await repository.record(
        session,
        referral_id=data.referral_id,
        event_id=envelope.id,
        event=EventName.REQUESTED.value,
        by_agency=data.sender_agency,
        status=Status.REQUESTED.value,
        at=data.occurred_at,
    )
    received = Received(**_common(data), occurred_at=now)
    answer = await node.emit(session, received, data.sender_agency)
    await repository.record(
        session,
        referral_id=data.referral_id,
        event_id=answer.id,
        event=EventName.RECEIVED.value,
        by_agency=node.agency_id,
        status=Status.RECEIVED.value,
        at=now,
    )


def _common(data: Any) -> dict[str, Any]:
    return {
        k: getattr(data, k)
        for k in ("referral_id", "sender_agency", "receiver_agency", "service_id", "domain", "priority")
    }


async def _step(node: Node, session: AsyncSession, envelope: Envelope, plaintext: bytes | None) -> None:
    data = envelope.data
    referral = await repository.get(session, data.referral_id, for_update=True)
    if referral is None:
        # The referral's own ``requested`` may still be on its way (or be dead-lettered).
        raise NotYet(f"no referral {data.referral_id} at {node.agency_id} yet")
    changes: dict[str, Any] = {}
    if data.step is not None:
        if data.step <= referral["their_step"]:
            return  # the same step again under another event id: applied already
        if data.step > referral["their_step"] + 1:
            raise NotYet(f"step {data.step} of {data.referral_id} before step {referral['their_step'] + 1}")
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
    note = plaintext.decode() if plaintext is not None else None
    now = datetime.now(UTC)
    withdrawn = envelope.name is EventName.CONSENT_WITHDRAWN and publisher is Side.SENDER
    if withdrawn:
        changes.update(
            consent_withdrawn_at=data.occurred_at, personal=None, erased_at=now, erasure_reason="consent-withdrawn"
        )
        await repository.erase_notes(session, data.referral_id)
        note = None
    await repository.change(session, data.referral_id, **changes)
    await repository.record(
        session,
        referral_id=data.referral_id,
        event_id=envelope.id,
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
