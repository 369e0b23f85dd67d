"""Notices: what the network's own services say about referrals, outside the lifecycle.

Reminders and escalations from the notifications service travel on
``notice.v1.<agency>.<kind>`` (``agency`` is the one reminded), in CloudEvents structured
mode from source ``/services/<service>``, so the audit can record them like lifecycle events.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field, ValidationError

from crocevia_contracts.envelope import EnvelopeError, describe, read_json
from crocevia_contracts.events import AgencyId, Code, Contract, Priority, ReferralId, ServiceId
from crocevia_contracts.subjects import SubjectError, check_agency_id

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
    stage: Code = Field(description="the step that is late, e.g. requested or received")
    agency: AgencyId
    referral_id: ReferralId
    sender_agency: AgencyId
    receiver_agency: AgencyId
    service_id: ServiceId
    priority: Priority
    status: Code
    due_at: datetime
    target_hours: float = Field(gt=0, le=100_000)
    notified: int = Field(ge=0, le=1_000_000, description="how many people were told")


class NoticeEnvelope(Contract):
    specversion: Literal["1.0"] = "1.0"
    id: str = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    source: str = Field(pattern=r"^/services/[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
    type: str = Field(pattern=r"^org\.crocevia\.notice\.[a-z-]{1,30}\.v1$")
    time: datetime
    subject: ReferralId
    datacontenttype: Literal["application/json"] = "application/json"
    sequence: int = Field(ge=1)
    traceparent: str | None = Field(default=None, pattern=r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
    data: Notice

    @property
    def source_service(self) -> str:
        return self.source.rsplit("/", 1)[-1]


def notice_subject(agency: str, kind: NoticeKind | str) -> str:
    return f"{NOTICE_PREFIX}.{check_agency_id(agency)}.{NoticeKind(kind).value}"


def service_source(service: str) -> str:
    """The CloudEvents ``source`` of one of the network's own services."""
    return f"/services/{check_agency_id(service)}"


def parse_notice(payload: bytes | str) -> NoticeEnvelope:
    """Parse and validate a notice; raise EnvelopeError with the reason."""
    try:
        envelope = NoticeEnvelope.model_validate(read_json(payload))
    except ValidationError as exc:
        raise EnvelopeError(describe(exc, "notice")) from None
    if envelope.type != envelope.data.notice.event_type or envelope.subject != envelope.data.referral_id:
        raise EnvelopeError("notice type or subject does not match its data")
    return envelope


def read_notice(subject: str, payload: bytes | str) -> NoticeEnvelope:
    """Parse a notice and check that it is what its subject says: the subject's kind, for
    the subject's agency, which is a party of the referral. Raise EnvelopeError otherwise."""
    parts = subject.split(".")
    if len(parts) != 4 or not subject.startswith(NOTICE_PREFIX + "."):
        raise EnvelopeError(f"not a {NOTICE_PREFIX} subject")
    try:
        agency, kind = check_agency_id(parts[2]), NoticeKind(parts[3])
    except SubjectError:
        raise EnvelopeError("the subject's agency is not an agency id") from None
    except ValueError:
        raise EnvelopeError("unknown notice kind in the subject") from None
    envelope = parse_notice(payload)
    data = envelope.data
    if data.notice is not kind:
        raise EnvelopeError("the subject's kind is not the notice's")
    if data.agency != agency:
        raise EnvelopeError("the subject's agency is not the notice's")
    if data.agency not in (data.sender_agency, data.receiver_agency):
        raise EnvelopeError("the notice's agency is not a party of the referral")
    if data.sender_agency == data.receiver_agency:
        raise EnvelopeError("sender_agency and receiver_agency must differ")
    return envelope
