"""A notification that goes out by e-mail or webhook: one per notice, channel and recipient,
sent by whichever sender claims it first, every attempt recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class DeliveryChannel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str  # the e-mail's Message-ID, the webhook-id of every attempt
    notice_id: str
    channel: DeliveryChannel
    recipient: str  # person:<id> | webhook:<id>
    payload: dict[str, Any] = field(hash=False)  # what is sent, rendered when the notice came
    due_at: datetime
    created_at: datetime
    person_id: int | None = None
    webhook_id: str | None = None
    digest_key: str | None = None  # e-mails gathered in one digest share it
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at sending a delivery."""

    at: datetime
    ok: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0
