"""What the trail records of a message the shared intake verified: the envelope exactly as
published (unknown fields included), whose times must read back as RFC 3339."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from crocevia_audit.domain.entries import parse_time
from crocevia_common.messaging.intake import Delivery, Verified


@dataclass(frozen=True, slots=True)
class Accepted:
    item: Verified
    raw: dict[str, Any]  # the envelope exactly as published, for the canonical entry

    @property
    def delivery(self) -> Delivery:
        return self.item.delivery


class NotAnEvent(ValueError):
    """A message the trail cannot record as an event; ``str()`` says why."""


def accept(item: Verified) -> Accepted:
    """The message as the trail records it; raise NotAnEvent with the reason."""
    raw = item.raw if item.raw is not None else json.loads(item.delivery.payload)
    times: list[Any] = [raw.get("time")] + ([raw["data"].get("occurred_at")] if item.envelope is not None else [])
    try:  # the trail's columns are read back from the raw times: they must parse as RFC 3339
        for value in times:
            parse_time(value)
    except (ValueError, TypeError, KeyError, AttributeError):
        raise NotAnEvent("time or occurred_at is not an RFC 3339 time") from None
    return Accepted(item, raw)
