"""What the audit's HTTP API answers: public facts of events, never personal details."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel


def as_utc(moment: datetime) -> datetime:
    """An instant from a query string (one without an offset is UTC), in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class TrailItem(BaseModel):
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
    recorded_at: datetime
    leaf_hash: str  # base64, as in proofs

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> TrailItem:
        values: dict[str, Any] = {name: row[name] for name in cls.model_fields if name != "leaf_hash"}
        return cls(**values, leaf_hash=base64.b64encode(row["leaf_hash"]).decode())


class TrailPage(BaseModel):
    items: list[TrailItem]
    next_cursor: str | None
