"""Building the event of each action, with free text sealed to the other party."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import RowMapping

from crocevia_contracts import EVENT_MODELS, EventName, Priority
from crocevia_contracts.sealing import seal_for
from crocevia_referrals.handlers.node import Node


def counterpart_of(referral: RowMapping, agency_id: str) -> str:
    return str(referral["receiver_agency"] if referral["sender_agency"] == agency_id else referral["sender_agency"])


async def event_for(
    node: Node,
    referral: RowMapping,
    event: EventName,
    at: datetime,
    public: dict[str, Any] | None = None,
    note: str | None = None,
) -> Any:
    """The ``data`` of ``event`` about ``referral``; ``note`` is sealed to the counterpart."""
    sealed = None
    if note:
        counterpart = await node.keys_of(counterpart_of(referral, node.agency_id))
        sealed = seal_for(counterpart, node.keys, referral["id"], event.value, note.encode())
    return EVENT_MODELS[event](
        referral_id=referral["id"],
        sender_agency=referral["sender_agency"],
        receiver_agency=referral["receiver_agency"],
        service_id=referral["service_id"],
        domain=referral["domain"],
        priority=Priority(referral["priority"]),
        occurred_at=at,
        sealed=sealed,
        **(public or {}),
    )
