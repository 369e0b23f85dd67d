"""What the audit accepts from the streams: a valid v1 envelope on the subject it claims,
either a referral event (``referral.v1.<from>.<to>.<event>``) or a notice of the
notifications service (``notice.v1.<agency>.<kind>``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from crocevia_audit.domain.entries import NOTICE_SUBJECT_PREFIX, is_notice_subject, utc
from crocevia_contracts import Envelope, EnvelopeError, SubjectError, read_event
from crocevia_contracts.notices import NoticeEnvelope, NoticeKind, parse_notice
from crocevia_contracts.subjects import check_agency_id

# What the trail's columns (``event_id``, ``source``) hold: a longer value could never be
# stored, so it is refused here rather than failing the batch's insert.
_ID_LENGTH = 36
_SOURCE_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as the stream delivered it."""

    subject: str
    payload: bytes
    stream_sequence: int | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    delivery: Delivery
    envelope: Envelope | NoticeEnvelope
    raw: dict[str, Any]  # the envelope exactly as published, for the canonical entry


class NotAnEvent(ValueError):
    """A message the trail cannot record as an event; ``str()`` says why."""


def accept(delivery: Delivery) -> Accepted:
    """Check the message; raise NotAnEvent with the reason if it is not a valid event."""
    if is_notice_subject(delivery.subject):
        return accept_notice(delivery)
    try:
        _route, envelope = read_event(delivery.subject, delivery.payload)
    except EnvelopeError as exc:
        raise NotAnEvent(str(exc)) from None
    raw = json.loads(delivery.payload)
    try:  # the trail's columns are read back from the raw times: they must parse as RFC 3339
        utc(raw["time"]), utc(raw["data"]["occurred_at"])
    except (ValueError, TypeError, KeyError, AttributeError):
        raise NotAnEvent("time or occurred_at is not an RFC 3339 time") from None
    return Accepted(delivery, envelope, raw)


def accept_notice(delivery: Delivery) -> Accepted:
    """Check a reminder or escalation; raise NotAnEvent with the reason if it is not one."""
    agency, kind = _notice_route(delivery.subject)
    try:
        envelope = parse_notice(delivery.payload)
    except EnvelopeError as exc:
        raise NotAnEvent(str(exc)) from None
    data = envelope.data
    if data.notice is not kind:
        raise NotAnEvent(f"subject says {kind.value} but the notice says {data.notice.value}")
    if data.agency != agency:
        raise NotAnEvent(f"subject names agency {agency} but the notice is for {data.agency}")
    if data.agency not in (data.sender_agency, data.receiver_agency):
        raise NotAnEvent(f"the notice's agency {data.agency} is not a party of the referral")
    if len(envelope.id) > _ID_LENGTH or len(envelope.source) > _SOURCE_LENGTH:
        raise NotAnEvent(f"id or source longer than the trail keeps ({_ID_LENGTH}, {_SOURCE_LENGTH} characters)")
    raw = json.loads(delivery.payload)
    try:  # the trail's columns are read back from the raw time: it must parse as RFC 3339
        utc(raw["time"])
    except (ValueError, TypeError, KeyError, AttributeError):
        raise NotAnEvent("time is not an RFC 3339 time") from None
    return Accepted(delivery, envelope, raw)


def _notice_route(subject: str) -> tuple[str, NoticeKind]:
    parts = subject.split(".")
    if len(parts) != 4 or not subject.startswith(NOTICE_SUBJECT_PREFIX):
        raise NotAnEvent(f"not a notice.v1 subject: {subject!r}")
    try:
        return check_agency_id(parts[2]), NoticeKind(parts[3])
    except SubjectError as exc:
        raise NotAnEvent(str(exc)) from None
    except ValueError:
        raise NotAnEvent(f"unknown notice {parts[3]!r} in subject {subject!r}") from None
