"""Notices: what the network's own services say about referrals, outside the lifecycle.

Reminders and escalations from the notifications service travel on
``notice.v1.<agency>.<kind>`` (``agency`` is the one reminded), in CloudEvents structured
mode from source ``/services/<service>``, so the audit can record them like lifecycle events.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field, ValidationError

from crocevia_contracts.envelope import EnvelopeError
from crocevia_contracts.events import AgencyId, Contract, Priority
from crocevia_contracts.subjects import check_agency_id

NOTICE_PREFIX = "notice.v1"
ALL_NOTICES = f"{NOTICE_PREFIX}.>"


class NoticeKind(StrEnum):
    REMINDER = "reminder"
    ESCALATION = "escalation"

    @property
    def event_type(self) -> str:
        return f"org.crocevia.notice.{self.value}.v1"


class Notice(Contract):
    """A referral waited past a response target; ``agency`` was reminded or escalated to."""

    notice: NoticeKind
    stage: str = Field(max_length=40, description="the step that is late, e.g. requested or received")
    agency: AgencyId
    referral_id: str = Field(min_length=1, max_length=64)
    sender_agency: AgencyId
    receiver_agency: AgencyId
    service_id: str = Field(min_length=1, max_length=100)
    priority: Priority
    status: str = Field(max_length=20)
    due_at: datetime
    target_hours: float = Field(gt=0)
    notified: int = Field(ge=0, description="how many people were told")


class NoticeEnvelope(Contract):
    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=64)
    source: str = Field(pattern=r"^/services/[a-z0-9-]+$")
    type: str
    time: datetime
    subject: str = Field(min_length=1, max_length=64)
    datacontenttype: str = "application/json"
    sequence: int = Field(ge=1)
    traceparent: str | None = None
    data: Notice


def notice_subject(agency: str, kind: NoticeKind | str) -> str:
    return f"{NOTICE_PREFIX}.{check_agency_id(agency)}.{NoticeKind(kind).value}"


def parse_notice(payload: bytes | str) -> NoticeEnvelope:
    """Parse and validate a notice; raise EnvelopeError with the reason."""
    try:
        envelope = NoticeEnvelope.model_validate(json.loads(payload))
    except (ValueError, ValidationError) as exc:
        raise EnvelopeError(f"invalid notice: {exc}") from None
    if envelope.type != envelope.data.notice.event_type or envelope.subject != envelope.data.referral_id:
        raise EnvelopeError("notice type or subject does not match its data")
    return envelope
