"""What the audit announces on ``audit.v1.>`` besides checkpoints, read back as facts.

Once published, an announcement is out of the audit's hands: the stream keeps it whatever
happens to the database. ``/verify`` reads them back and holds the database to them, so
the shapes written and read are defined here, once. None carries a personal detail: event
ids, sources (``/agencies/<id>``), sequence numbers and times only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crocevia_audit.domain.entries import parse_time


@dataclass(frozen=True, slots=True)
class Announcement:
    """One message of the stream AUDIT, as read back."""

    stream_sequence: int
    subject: str
    data: bytes


def json_payload(body: dict[str, Any]) -> bytes:
    """An announcement's bytes: compact JSON."""
    return json.dumps(body, separators=(",", ":"), default=str).encode()


class AnnouncementsUnavailable(RuntimeError):
    """The stream of announcements could not be read to its end; the message says why."""


class AnnouncementError(ValueError):
    """A published message is not the announcement its subject says."""


def _object(data: bytes) -> Mapping[str, Any]:
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise AnnouncementError("not JSON") from None
    if not isinstance(body, dict):
        raise AnnouncementError("not a JSON object")
    return body


def _field(body: Mapping[str, Any], name: str, kind: type[Any], *, optional: bool = False) -> Any:
    value = body.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise AnnouncementError(f"field {name} is missing or not a {kind.__name__}")
    return value


def _time(body: Mapping[str, Any], name: str) -> datetime:
    try:
        return parse_time(_field(body, name, str))
    except ValueError as exc:
        if isinstance(exc, AnnouncementError):
            raise
        raise AnnouncementError(f"field {name} is not a time") from None


@dataclass(frozen=True, slots=True)
class AnnouncedAnomaly:
    """A duplicate event id or a reused sequence number the audit met (``audit.v1.anomaly``)."""

    kind: str
    event_id: str
    source: str | None
    sequence: int | None
    stream_sequence: int | None  # of the offending message, in its own stream
    detected_at: datetime

    def body(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "event_id": self.event_id,
            "source": self.source,
            "sequence": self.sequence,
            "stream_sequence": self.stream_sequence,
            "detected_at": self.detected_at.isoformat(),
        }

    @classmethod
    def parse(cls, data: bytes) -> AnnouncedAnomaly:
        body = _object(data)
        return cls(
            _field(body, "kind", str),
            _field(body, "event_id", str),
            _field(body, "source", str, optional=True),
            _field(body, "sequence", int, optional=True),
            _field(body, "stream_sequence", int, optional=True),
            _time(body, "detected_at"),
        )


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A duplicate event id or a reused sequence number, as the audit records it: the
    offending message's subject and the SHA-256 of its payload, never the payload."""

    kind: str  # duplicate | repeated-sequence
    event_id: str
    source: str | None
    sequence: int | None
    subject: str
    stream_sequence: int | None
    payload_sha256: str
    detail: str
    detected_at: datetime
    id: int | None = None  # None until stored

    def announced(self) -> AnnouncedAnomaly:
        """What ``audit.v1.anomaly`` says of it."""
        return AnnouncedAnomaly(
            self.kind, self.event_id, self.source, self.sequence, self.stream_sequence, self.detected_at
        )

    def view(self) -> dict[str, Any]:
        """What ``GET /anomalies`` lists."""
        return {
            "id": self.id,
            "kind": self.kind,
            "event_id": self.event_id,
            "source": self.source,
            "sequence": self.sequence,
            "subject": self.subject,
            "stream_sequence": self.stream_sequence,
            "payload_sha256": self.payload_sha256,
            "detail": self.detail,
            "detected_at": self.detected_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class AnnouncedGap:
    """A gap raised once overdue (``audit.v1.gap``): the row ``id`` of ``sequence_gaps``."""

    id: int
    source: str
    first_missing: int
    last_missing: int
    detected_at: datetime
    raised_at: datetime

    @classmethod
    def parse(cls, data: bytes) -> AnnouncedGap:
        body = _object(data)
        return cls(
            _field(body, "id", int),
            _field(body, "source", str),
            _field(body, "first_missing", int),
            _field(body, "last_missing", int),
            _time(body, "detected_at"),
            _time(body, "raised_at"),
        )

    def describe(self) -> str:
        return f"gap {self.id} of {self.source} (sequence {self.first_missing} to {self.last_missing})"


@dataclass(frozen=True, slots=True)
class AnnouncedGapClosed:
    """A late event filled a raised gap (``audit.v1.gap-closed``); ``still_missing`` are
    the parts of it that stay open, each kept as a gap of its own."""

    source: str
    first_missing: int
    last_missing: int
    event_id: str
    still_missing: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, data: bytes) -> AnnouncedGapClosed:
        body = _object(data)
        rest = body.get("still_missing")
        if not isinstance(rest, list) or not all(
            isinstance(r, list) and len(r) == 2 and all(type(n) is int for n in r) for r in rest
        ):
            raise AnnouncementError("field still_missing is not a list of [first, last] pairs")
        return cls(
            _field(body, "source", str),
            _field(body, "first_missing", int),
            _field(body, "last_missing", int),
            _field(body, "event_id", str),
            tuple((int(r[0]), int(r[1])) for r in rest),
        )

    def describe(self) -> str:
        return (
            f"the closing of the gap of {self.source} (sequence {self.first_missing} to {self.last_missing})"
            f" by event {self.event_id}"
        )
