"""Trail entries: the public part of an event, in the canonical bytes the log hashes.

An entry is a JSON object, keys sorted, no insignificant whitespace, UTF-8:

    {"event": <the CloudEvents envelope as published, with data.sealed replaced by
               data.sealed_sha256>,
     "index": <the entry's position in the log, from 0>,
     "nats_subject": "referral.v1.<from>.<to>.<event>" or "notice.v1.<agency>.<kind>"}

``sealed_sha256`` is the hex SHA-256 of the sealed part's canonical JSON, so the
receiving agency can prove which sealed part travelled without the trail ever holding
it. Every queryable column of the trail is a projection of these bytes (``project``),
so a column edited behind the log's back is caught by recomputing it.

Notices (reminders and escalations the notifications service sends about a referral)
are entries too. Their columns come from the notice's data: ``event`` is the kind
(``reminder`` or ``escalation``), ``from_agency`` the publishing service (the last part
of ``source``, e.g. ``notifications``), ``to_agency`` the agency reminded, ``occurred_at``
the envelope's ``time`` (when it was sent); a notice has no domain, reason or outcome.

An agency's anchor of its access log (``notice.v1.<agency>.access-log-anchored``) is about
no referral: ``event`` is ``access-log-anchored``, the agency is ``from_agency``,
``to_agency``, ``sender_agency`` and ``receiver_agency`` (so its own views hold it),
``referral_id``, ``service_id`` and ``priority`` are empty, ``occurred_at`` is ``time``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crocevia_contracts.anchors import ACCESS_LOG_ANCHORED, is_anchor_subject

SEALED = "sealed"
SEALED_DIGEST = "sealed_sha256"
NOTICE_SUBJECT_PREFIX = "notice.v1."
NOTICE_KINDS = ("reminder", "escalation")
# What arrives on the notices' stream: notices, and the agencies' anchors.
NOTICE_STREAM_EVENTS = (*NOTICE_KINDS, ACCESS_LOG_ANCHORED)


def is_notice_subject(nats_subject: str) -> bool:
    """True for ``notice.v1.<agency>.<kind>``: a reminder or escalation, not a lifecycle event."""
    return nats_subject.startswith(NOTICE_SUBJECT_PREFIX)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, compact separators, UTF-8: one value has one spelling."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sealed_digest(sealed: Any) -> str:
    """The hex SHA-256 of a sealed part's canonical JSON."""
    return hashlib.sha256(canonical_json(sealed)).hexdigest()


def public_event(raw_envelope: dict[str, Any]) -> dict[str, Any]:
    """``raw_envelope`` with its sealed personal part replaced by that part's SHA-256."""
    data = dict(raw_envelope.get("data") or {})
    sealed = data.pop(SEALED, None)
    if sealed is not None:
        data[SEALED_DIGEST] = sealed_digest(sealed)
    return {**raw_envelope, "data": data}


def entry_document(index: int, nats_subject: str, raw_envelope: dict[str, Any]) -> dict[str, Any]:
    """The entry for the event ``raw_envelope`` received on ``nats_subject``, as a JSON object."""
    return {"event": public_event(raw_envelope), "index": index, "nats_subject": nats_subject}


def entry_bytes(index: int, nats_subject: str, raw_envelope: dict[str, Any]) -> bytes:
    """The canonical entry for the event ``raw_envelope`` received on ``nats_subject``."""
    return canonical_json(entry_document(index, nats_subject, raw_envelope))


def parse_time(text: str) -> datetime:
    """An RFC 3339 time of an entry (a time without offset is UTC) as an aware UTC datetime;
    ValueError when it is not one."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class EntryFields:
    """What the trail lets auditors filter and count by; all of it public."""

    position: int
    event_id: str
    type: str
    event: str
    source: str
    sequence: int
    from_agency: str
    to_agency: str
    referral_id: str
    sender_agency: str
    receiver_agency: str
    service_id: str
    domain: str | None
    priority: str
    reason_code: str | None
    outcome: str | None
    time: datetime
    occurred_at: datetime

    def as_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class RecordedEntry:
    """One entry as the trail stores it: its columns, its bytes and leaf hash, and (not
    hashed) where and when the audit received it."""

    fields: EntryFields
    entry: bytes
    leaf_hash: bytes
    stream_sequence: int | None
    recorded_at: datetime

    @property
    def position(self) -> int:
        return self.fields.position


def project(entry: bytes) -> EntryFields:
    """The queryable fields of an entry; raise ValueError if the bytes are not an entry."""
    return project_document(json.loads(entry))


def project_document(doc: dict[str, Any]) -> EntryFields:
    """The queryable fields of an entry given as its JSON object (what its canonical bytes
    parse to); raise ValueError (or KeyError, TypeError) if it is not an entry."""
    if is_anchor_subject(doc["nats_subject"]):
        return _project_anchor(doc)
    if is_notice_subject(doc["nats_subject"]):
        return _project_notice(doc)
    event, data = doc["event"], doc["event"]["data"]
    _prefix, _version, from_agency, to_agency, _name = doc["nats_subject"].split(".")
    return EntryFields(
        position=int(doc["index"]),
        event_id=event["id"],
        type=event["type"],
        event=data["event"],
        source=event["source"],
        sequence=int(event["sequence"]),
        from_agency=from_agency,
        to_agency=to_agency,
        referral_id=data["referral_id"],
        sender_agency=data["sender_agency"],
        receiver_agency=data["receiver_agency"],
        service_id=data["service_id"],
        domain=data.get("domain"),
        priority=data["priority"],
        reason_code=data.get("reason_code"),
        outcome=data.get("outcome"),
        time=parse_time(event["time"]),
        occurred_at=parse_time(data["occurred_at"]),
    )


def _project_notice(doc: dict[str, Any]) -> EntryFields:
    event, data = doc["event"], doc["event"]["data"]
    _prefix, _version, agency, _kind = doc["nats_subject"].split(".")
    return EntryFields(
        position=int(doc["index"]),
        event_id=event["id"],
        type=event["type"],
        event=data["notice"],
        source=event["source"],
        sequence=int(event["sequence"]),
        from_agency=str(event["source"]).rsplit("/", 1)[-1],
        to_agency=agency,
        referral_id=data["referral_id"],
        sender_agency=data["sender_agency"],
        receiver_agency=data["receiver_agency"],
        service_id=data["service_id"],
        domain=None,
        priority=data["priority"],
        reason_code=None,
        outcome=None,
        time=parse_time(event["time"]),
        occurred_at=parse_time(event["time"]),
    )


def _project_anchor(doc: dict[str, Any]) -> EntryFields:
    event = doc["event"]
    agency = doc["nats_subject"].split(".")[2]
    return EntryFields(
        position=int(doc["index"]),
        event_id=event["id"],
        type=event["type"],
        event=event["data"]["event"],
        source=event["source"],
        sequence=int(event["sequence"]),
        from_agency=agency,
        to_agency=agency,
        referral_id="",
        sender_agency=agency,
        receiver_agency=agency,
        service_id="",
        domain=None,
        priority="",
        reason_code=None,
        outcome=None,
        time=parse_time(event["time"]),
        occurred_at=parse_time(event["time"]),
    )
