"""The CloudEvents 1.0 envelope (structured mode) every referral event travels in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, TypeAdapter, ValidationError, model_validator
from uuid6 import uuid7

from crocevia_contracts.events import EVENT_TYPES, Contract, EventData, EventName

CONTENT_TYPE = "application/cloudevents+json"
SPECVERSION = "1.0"

_data_adapter: TypeAdapter[EventData] = TypeAdapter(EventData)


class EnvelopeError(ValueError):
    """A message that is not a valid v1 referral event; ``str()`` says why."""


def agency_source(agency_id: str) -> str:
    """The CloudEvents ``source`` of a node: a URI reference naming its agency."""
    return f"/agencies/{agency_id}"


def new_event_id() -> str:
    """A UUIDv7: unique and ordered by creation time."""
    return str(uuid7())


class Envelope(Contract):
    """A referral event. ``subject`` is the referral id; ``sequence`` counts the source's
    events without gaps, starting at 1."""

    specversion: str = Field(default=SPECVERSION, pattern=r"^1\.0$")
    id: str = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    source: str = Field(pattern=r"^/agencies/[a-z0-9-]+$")
    type: str
    time: datetime
    subject: str = Field(min_length=1, max_length=64)
    datacontenttype: str = "application/json"
    sequence: int = Field(ge=1)
    traceparent: str | None = Field(default=None, pattern=r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
    data: EventData

    @model_validator(mode="after")
    def _consistent(self) -> Envelope:
        name = EVENT_TYPES.get(self.type)
        if name is None:
            raise ValueError(f"unknown event type {self.type!r}")
        if name.value != self.data.event:
            raise ValueError(f"type {self.type!r} does not match data.event {self.data.event!r}")
        if self.subject != self.data.referral_id:
            raise ValueError("subject must be the referral id")
        return self

    @property
    def name(self) -> EventName:
        return EventName(self.data.event)

    @property
    def source_agency(self) -> str:
        return self.source.rsplit("/", 1)[-1]

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def build(
        cls,
        *,
        source_agency: str,
        sequence: int,
        data: Any,
        traceparent: str | None = None,
        event_id: str | None = None,
        time: datetime | None = None,
    ) -> Envelope:
        name = EventName(data.event)
        return cls(
            id=event_id or new_event_id(),
            source=agency_source(source_agency),
            type=name.event_type,
            time=time or datetime.now(UTC),
            subject=data.referral_id,
            sequence=sequence,
            traceparent=traceparent,
            data=data,
        )


def parse_envelope(payload: bytes | str) -> Envelope:
    """Parse and validate a message payload; raise EnvelopeError with the reason."""
    try:
        raw = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EnvelopeError(f"payload is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise EnvelopeError("payload is not a JSON object")
    if raw.get("type") not in EVENT_TYPES:
        raise EnvelopeError(f"unknown event type {raw.get('type')!r}")
    try:
        return Envelope.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "envelope"
        raise EnvelopeError(f"invalid envelope at {where}: {first['msg']}") from None


def parse_data(raw: dict[str, Any]) -> EventData:
    return _data_adapter.validate_python(raw)
