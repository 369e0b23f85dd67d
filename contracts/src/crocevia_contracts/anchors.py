"""Anchors: an agency states in public the head of its access log, so it cannot rewrite the
log afterwards without the trail showing it.

An anchor travels on ``notice.v1.<agency>.access-log-anchored`` (stream NOTICES), from the
agency's node (source ``/agencies/<agency>``, numbered in that node's one sequence, signed
with its key), and holds only counts and a hash: nothing about a person or a staff member.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field, ValidationError

from crocevia_contracts.envelope import (
    EnvelopeError,
    FromAgency,
    agency_source,
    describe,
    new_event_id,
    read_json,
)
from crocevia_contracts.events import AgencyId, Contract
from crocevia_contracts.subjects import SubjectError, check_agency_id


class AnchorKind(StrEnum):
    """What an agency anchors in the trail (the last token of the subject)."""

    ACCESS_LOG = "access-log-anchored"


ACCESS_LOG_ANCHORED = AnchorKind.ACCESS_LOG.value
ANCHOR_TYPE = f"org.crocevia.{ACCESS_LOG_ANCHORED}.v1"
_PREFIX = "notice.v1"


class AccessLogAnchored(Contract):
    """The head of an agency's access log: how many reads of personal details it holds, and
    the SHA-256 of the last entry (each entry holds the SHA-256 of the one before)."""

    event: Literal["access-log-anchored"] = "access-log-anchored"
    agency: AgencyId
    entries: int = Field(ge=0, le=10**15, description="entries in the log, the head included")
    head_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of the last entry")


class AnchorEnvelope(Contract, FromAgency):
    """CloudEvents 1.0, structured mode; ``subject`` is the agency, ``sequence`` its node's."""

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    source: str = Field(pattern=r"^/agencies/[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
    type: Literal["org.crocevia.access-log-anchored.v1"] = "org.crocevia.access-log-anchored.v1"
    time: datetime
    subject: AgencyId
    datacontenttype: Literal["application/json"] = "application/json"
    sequence: int = Field(ge=1)
    traceparent: str | None = Field(default=None, pattern=r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
    data: AccessLogAnchored

    @classmethod
    def build(
        cls, *, data: AccessLogAnchored, sequence: int, time: datetime, traceparent: str | None = None
    ) -> AnchorEnvelope:
        return cls(
            id=new_event_id(),
            source=agency_source(data.agency),
            time=time,
            subject=data.agency,
            sequence=sequence,
            traceparent=traceparent,
            data=data,
        )


def anchor_subject(agency: str) -> str:
    return f"{_PREFIX}.{check_agency_id(agency)}.{ACCESS_LOG_ANCHORED}"


def is_anchor_subject(subject: str) -> bool:
    return subject.startswith(_PREFIX + ".") and subject.endswith("." + ACCESS_LOG_ANCHORED)


def read_anchor(subject: str, payload: bytes | str) -> AnchorEnvelope:
    """Parse an anchor and check it is what its subject says: published by the agency it
    anchors, about that agency. Raise EnvelopeError with the reason otherwise."""
    parts = subject.split(".")
    if len(parts) != 4 or not is_anchor_subject(subject):
        raise EnvelopeError(f"not a {_PREFIX}.<agency>.{ACCESS_LOG_ANCHORED} subject")
    try:
        agency = check_agency_id(parts[2])
    except SubjectError:
        raise EnvelopeError("the subject's agency is not an agency id") from None
    try:
        envelope = AnchorEnvelope.model_validate(read_json(payload))
    except ValidationError as exc:
        raise EnvelopeError(describe(exc, "anchor")) from None
    if envelope.source_agency != agency:
        raise EnvelopeError("source names another agency than the subject's")
    if envelope.data.agency != agency or envelope.subject != agency:
        raise EnvelopeError("the anchor is about another agency than its publisher")
    return envelope
