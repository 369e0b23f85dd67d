"""Caseload notices: an agency tells its own notifications service who of its staff a
referral is assigned to, so that the notices about it reach that person first.

A caseload notice travels on ``caseload.v1.<agency>.referral-assigned`` (stream CASELOAD),
from the agency's node (source ``/agencies/<agency>/caseload``, numbered in a sequence of
its own so the trail's sequence of the node has no gap, signed with the node's key). Only
the notifications service reads that stream: the other agency and the audit never learn who
works on a referral (NATS permissions). It holds the referral's id and a staff id: nothing
about the person referred.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, ValidationError

from crocevia_contracts.envelope import EnvelopeError, describe, new_event_id, read_json
from crocevia_contracts.events import AgencyId, Contract, ReferralId, StaffId
from crocevia_contracts.subjects import SubjectError, check_agency_id

CASELOAD_PREFIX = "caseload.v1"
ALL_CASELOAD = f"{CASELOAD_PREFIX}.>"
REFERRAL_ASSIGNED = "referral-assigned"


def caseload_source(agency: str) -> str:
    """The source a node's caseload notices come from: its own, apart from its events'."""
    return f"/agencies/{check_agency_id(agency)}/caseload"


class ReferralAssigned(Contract):
    """``referral_id`` is assigned, at ``agency``, to the staff member ``assignee``."""

    event: Literal["referral-assigned"] = "referral-assigned"
    agency: AgencyId
    referral_id: ReferralId
    assignee: StaffId


class CaseloadEnvelope(Contract):
    """CloudEvents 1.0, structured mode; ``subject`` is the referral, ``sequence`` counts
    the node's caseload notices (a later assignment of a referral has a larger one)."""

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    source: str = Field(pattern=r"^/agencies/[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?/caseload$")
    type: Literal["org.crocevia.referral-assigned.v1"] = "org.crocevia.referral-assigned.v1"
    time: datetime
    subject: ReferralId
    datacontenttype: Literal["application/json"] = "application/json"
    sequence: int = Field(ge=1)
    traceparent: str | None = Field(default=None, pattern=r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
    data: ReferralAssigned

    @classmethod
    def build(
        cls, *, data: ReferralAssigned, sequence: int, time: datetime, traceparent: str | None = None
    ) -> CaseloadEnvelope:
        return cls(
            id=new_event_id(),
            source=caseload_source(data.agency),
            time=time,
            subject=data.referral_id,
            sequence=sequence,
            traceparent=traceparent,
            data=data,
        )

    @property
    def source_agency(self) -> str:
        return self.source.split("/")[2]

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


def caseload_subject(agency: str) -> str:
    return f"{CASELOAD_PREFIX}.{check_agency_id(agency)}.{REFERRAL_ASSIGNED}"


def is_caseload_subject(subject: str) -> bool:
    return subject.startswith(CASELOAD_PREFIX + ".")


def read_caseload(subject: str, payload: bytes | str) -> CaseloadEnvelope:
    """Parse a caseload notice and check it is what its subject says: published by the
    agency whose assignment it states. Raise EnvelopeError with the reason otherwise."""
    parts = subject.split(".")
    if len(parts) != 4 or not is_caseload_subject(subject) or parts[3] != REFERRAL_ASSIGNED:
        raise EnvelopeError(f"not a {CASELOAD_PREFIX}.<agency>.{REFERRAL_ASSIGNED} subject")
    try:
        agency = check_agency_id(parts[2])
    except SubjectError:
        raise EnvelopeError("the subject's agency is not an agency id") from None
    try:
        envelope = CaseloadEnvelope.model_validate(read_json(payload))
    except ValidationError as exc:
        raise EnvelopeError(describe(exc, "caseload notice")) from None
    if envelope.source_agency != agency:
        raise EnvelopeError("source names another agency than the subject's")
    if envelope.data.agency != agency:
        raise EnvelopeError("the assignment is another agency's than its publisher's")
    if envelope.subject != envelope.data.referral_id:
        raise EnvelopeError("subject names another referral than data.referral_id")
    return envelope
