"""What happens to a referral: the entries of its history, the events this node publishes
about it and those of the other node it applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crocevia_contracts.events import ReferralEvent


@dataclass
class HistoryEntry:
    """One event of the referral, this node's or the other's; ``note`` is opened free text."""

    event_id: str
    event: str
    by_agency: str
    status: str
    at: datetime
    by_user: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    stored: bool = False  # already kept by the repository


@dataclass(frozen=True)
class Erasure:
    at: datetime
    reason: str


@dataclass(frozen=True)
class Outgoing:
    """An event this node publishes about a referral: its data, and the text sealed to
    ``to_agency`` with it (the personal part, or a note)."""

    event_id: str
    data: ReferralEvent
    to_agency: str
    sealed_text: bytes | None = None


@dataclass(frozen=True)
class Incoming:
    """An event of the other node, as the intake verified it, its sealed part opened (``note``)
    or not (``unreadable`` says why)."""

    event_id: str
    publisher: str
    data: ReferralEvent
    note: str | None = None
    unreadable: str | None = None
