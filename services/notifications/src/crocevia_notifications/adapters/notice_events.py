"""Reminders and escalations as events on NATS, so the audit records them like any other.

The subject, stream and envelope are the contracts' (``crocevia_contracts.notices``):
``notice.v1.<agency>.<kind>``, stream NOTICES, source ``/services/notifications``, with a
gapless ``sequence``. They go out through the transactional outbox, committed with the
timer that fired them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.messaging.outbox import enqueue, next_sequence
from crocevia_common.telemetry import current_traceparent
from crocevia_contracts.directory import service_party
from crocevia_contracts.notices import Notice as ContractNotice
from crocevia_contracts.notices import NoticeEnvelope, NoticeKind, notice_subject, service_source
from crocevia_contracts.sealing import SIGNATURE_HEADER, PartyKeys, sign_event
from crocevia_notifications.adapters.tables import messaging
from crocevia_notifications.domain.notices import Notice

SERVICE = "notifications"
PARTY = service_party(SERVICE)  # the directory key of its public keys, and its signer's name
SOURCE = service_source(SERVICE)


async def enqueue_notice(
    session: AsyncConnection,
    notice: Notice,
    keys: PartyKeys,
    *,
    due_at: datetime,
    target_hours: float,
    notified: int,
) -> dict[str, Any]:
    """Put the event of a fired reminder or escalation in the outbox, signed with this
    service's key; return its envelope."""
    sequence = await next_sequence(session, messaging, SOURCE)
    kind = NoticeKind(notice.kind.value)
    envelope = NoticeEnvelope(
        id=notice.id,
        source=SOURCE,
        type=kind.event_type,
        time=datetime.now(UTC),
        subject=notice.referral_id,
        sequence=sequence,
        traceparent=current_traceparent(),
        data=ContractNotice(
            notice=kind,
            stage=notice.event,
            agency=notice.acting_agency,
            **notice.referral_facts(),
            due_at=due_at,
            target_hours=target_hours,
            notified=notified,
        ),
    )
    payload = envelope.model_dump_json(exclude_none=True).encode()
    await enqueue(
        session,
        messaging,
        notice_subject(notice.acting_agency, kind),
        notice.id,
        payload,
        {SIGNATURE_HEADER: sign_event(keys, payload)},
    )
    return envelope.model_dump(mode="json", exclude_none=True)
