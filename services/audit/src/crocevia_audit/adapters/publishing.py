"""What the audit publishes (checkpoints, gaps, anomalies), through the shared transactional outbox,
on the subjects and stream the contracts name for them (``audit.v1.>``, stream AUDIT)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_audit.adapters.tables import messaging
from crocevia_common.messaging import outbox
from crocevia_contracts.stream import (
    AUDIT_ANNOUNCEMENTS,
    AUDIT_ANOMALY_SUBJECT,
    AUDIT_CHECKPOINT_SUBJECT,
    AUDIT_GAP_CLOSED_SUBJECT,
    AUDIT_GAP_SUBJECT,
)

CHECKPOINT_SUBJECT = AUDIT_CHECKPOINT_SUBJECT
GAP_SUBJECT = AUDIT_GAP_SUBJECT
GAP_CLOSED_SUBJECT = AUDIT_GAP_CLOSED_SUBJECT
ANOMALY_SUBJECT = AUDIT_ANOMALY_SUBJECT
AUDIT_EVENTS = AUDIT_ANNOUNCEMENTS


async def enqueue(
    session: AsyncSession, message_id: str, subject: str, payload: bytes, content_type: str = "application/json"
) -> None:
    """Store a message for the relay, in the caller's transaction; ``message_id`` becomes
    ``Nats-Msg-Id``, so a republished message is deduplicated."""
    await outbox.enqueue(session, messaging, subject, message_id, payload, content_type=content_type)


def json_payload(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), default=str).encode()
