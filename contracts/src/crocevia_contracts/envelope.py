"""The CloudEvents 1.0 envelope (structured mode) every referral event travels in."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any, Literal, Protocol

from pydantic import Field, TypeAdapter, ValidationError, model_validator
from uuid6 import uuid7

from crocevia_contracts.events import EVENT_TYPES, Contract, EventData, EventName, ReferralId

CONTENT_TYPE = "application/cloudevents+json"
SPECVERSION = "1.0"

# What a consumer reads before it parses anything: a message larger or more deeply nested
# than any valid event is refused on its raw bytes (a v1 event nests 4 levels).
MAX_EVENT_BYTES = 128 * 1024
MAX_JSON_DEPTH = 8

_data_adapter: TypeAdapter[EventData] = TypeAdapter(EventData)


class EnvelopeError(ValueError):
    """A message that is not a valid v1 referral event; ``str()`` says why, naming fields and
    never quoting the values it refused (they may be about a person)."""


_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_NESTING = [1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256)]  # by byte: into or out of a level


def check_raw(payload: bytes, limit: int = MAX_EVENT_BYTES, depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse a payload over ``limit`` bytes or with JSON nested deeper than ``depth``,
    without parsing it (a deep document would exhaust a parser's recursion)."""
    if len(payload) > limit:
        raise EnvelopeError(f"payload of {len(payload)} bytes is over the limit of {limit}")
    # Brackets inside strings do not nest. Without a backslash, no quote is escaped: the
    # text outside strings is every other piece between quotes.
    outside = _STRINGS.sub(b"", payload) if b"\\" in payload else b"".join(payload.split(b'"')[0::2])
    brackets = outside.translate(None, _NOT_BRACKETS)
    if brackets and max(accumulate(map(_NESTING.__getitem__, brackets))) > depth:
        raise EnvelopeError(f"JSON nested deeper than {depth} levels")


def describe(exc: ValidationError, what: str = "envelope") -> str:
    """Where and how a document is invalid, naming fields and error kinds, never values."""
    errors = exc.errors(include_input=False, include_url=False)
    # The contracts' own checks (value_error) say what is wrong without quoting values.
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or what}: {e['msg'] if e['type'] == 'value_error' else e['type']}"
        for e in errors[:3]
    ]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return f"invalid {what} at " + "; ".join(parts) + more


def agency_source(agency_id: str) -> str:
    """The CloudEvents ``source`` of a node: a URI reference naming its agency."""
    return f"/agencies/{agency_id}"


def new_event_id() -> str:
    """A UUIDv7: unique and ordered by creation time."""
    return str(uuid7())


class _Published(Protocol):
    @property
    def source(self) -> str: ...

    def model_dump_json(self, *, exclude_none: bool = ...) -> str: ...


class FromAgency:
    """What a message a node publishes says of itself: the agency of its ``source``, and the
    bytes it travels as."""

    @property
    def source_agency(self: _Published) -> str:
        return self.source.rsplit("/", 1)[-1]

    def to_json(self: _Published) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


class Envelope(Contract, FromAgency):
    """A referral event. ``subject`` is the referral id; ``sequence`` counts the source's
    events without gaps, starting at 1."""

    specversion: str = Field(default=SPECVERSION, pattern=r"^1\.0$")
    id: str = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    source: str = Field(pattern=r"^/agencies/[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
    type: str = Field(pattern=r"^org\.crocevia\.referral\.[a-z-]{1,30}\.v1$")
    time: datetime
    subject: ReferralId
    datacontenttype: Literal["application/json"] = "application/json"
    sequence: int = Field(ge=1)
    traceparent: str | None = Field(default=None, pattern=r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
    data: EventData

    @model_validator(mode="after")
    def _consistent(self) -> Envelope:
        name = EVENT_TYPES.get(self.type)
        if name is None:
            raise ValueError("type is not a v1 referral event type")
        if name.value != self.data.event:
            raise ValueError("type does not match data.event")
        if self.subject != self.data.referral_id:
            raise ValueError("subject must be the referral id")
        return self

    @property
    def name(self) -> EventName:
        return EventName(self.data.event)

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


def read_json(payload: bytes | str) -> dict[str, Any]:
    """The JSON object of a message, after its size and depth were checked; raise
    EnvelopeError otherwise."""
    raw_bytes = payload.encode() if isinstance(payload, str) else payload
    check_raw(raw_bytes)
    try:
        raw = json.loads(raw_bytes)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EnvelopeError(f"payload is not JSON (at byte {getattr(exc, 'pos', '?')})") from None
    if not isinstance(raw, dict):
        raise EnvelopeError("payload is not a JSON object")
    return raw


def parse_envelope(payload: bytes | str) -> Envelope:
    """Parse and validate a message payload; raise EnvelopeError with the reason."""
    return envelope_of(read_json(payload))


def envelope_of(raw: dict[str, Any]) -> Envelope:
    """Validate a parsed message as an envelope; raise EnvelopeError with the reason."""
    if raw.get("type") not in EVENT_TYPES:
        raise EnvelopeError("type is not a v1 referral event type")
    try:
        return Envelope.model_validate(raw)
    except ValidationError as exc:
        raise EnvelopeError(describe(exc)) from None


def parse_data(raw: dict[str, Any]) -> EventData:
    return _data_adapter.validate_python(raw)
