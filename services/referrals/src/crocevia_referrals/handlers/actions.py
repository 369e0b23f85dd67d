"""A party acts on a referral: accept, reject, start, hold, resume, complete, fail, cancel,
request or provide information, withdraw consent. The lifecycle decides what is allowed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crocevia_common.auth import Principal
from crocevia_contracts import EventName
from crocevia_contracts.lifecycle import Side, Status, decide
from crocevia_referrals.adapters import repository
from crocevia_referrals.domain.codes import CODES_BY_ACTION
from crocevia_referrals.handlers.errors import Invalid, NotFound
from crocevia_referrals.handlers.events import counterpart_of, event_for
from crocevia_referrals.handlers.node import Node


@dataclass(frozen=True)
class Action:
    name: str
    reason_code: str | None = None
    outcome: str | None = None
    suggested_agency: str | None = None
    note: str | None = None  # free text: sealed to the other party


def _public_fields(action: Action) -> dict[str, Any]:
    spec = CODES_BY_ACTION.get(action.name)
    public: dict[str, Any] = {}
    if spec is not None:
        field, codes = spec
        value = getattr(action, field)
        if value is None and action.name != "hold":
            raise Invalid("missing-code", f"{action.name} needs {field}, one of: {', '.join(codes)}", field)
        if value is not None and value not in codes:
            raise Invalid("unknown-code", f"{field} must be one of: {', '.join(codes)}", field)
        public[field] = value
    if action.suggested_agency:
        if action.name != "reject":
            raise Invalid("unexpected-field", "only a rejection may suggest another agency", "suggested_agency")
        public["suggested_agency"] = action.suggested_agency
    if action.name in ("request-info", "provide-info") and not action.note:
        raise Invalid("missing-note", f"{action.name} needs the text of the question or answer", "note")
    return public


async def act(node: Node, by: Principal, referral_id: str, action: Action) -> None:
    """Carry out ``action`` and queue its event, or raise TransitionRefused / Invalid."""
    public = _public_fields(action)
    now = datetime.now(UTC)
    async with node.db.transaction() as session:
        referral = await repository.get(session, referral_id, for_update=True)
        if referral is None:
            raise NotFound(referral_id)
        side = Side.SENDER if referral["direction"] == "outgoing" else Side.RECEIVER
        step = decide(action.name, Status(referral["status"]), side)
        status = step.target(Status(referral["status"]))
        data = await event_for(node, referral, step.event, now, public, action.note)
        changes: dict[str, Any] = {"status": status.value}
        if step.event is EventName.CONSENT_WITHDRAWN:
            changes["consent_withdrawn_at"] = now
        await repository.change(session, referral_id, **changes)
        envelope = await node.emit(session, data, counterpart_of(referral, node.agency_id))
        await repository.record(
            session,
            referral_id=referral_id,
            event_id=envelope.id,
            event=step.event.value,
            by_agency=node.agency_id,
            by_user=by.sub,
            status=status.value,
            at=now,
            details=public,
            note=action.note,
        )
    node.relay.wake()
