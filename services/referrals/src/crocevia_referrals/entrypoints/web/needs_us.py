""" "Needs us": what waits for this agency, overdue first, and where its own referrals stand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from crocevia_common.web.pages import pages_of
from crocevia_contracts.lifecycle import Status
from crocevia_referrals.adapters import repository
from crocevia_referrals.entrypoints.http import WAITING_FOR_US, view
from crocevia_referrals.entrypoints.schemas import ReferralView
from crocevia_referrals.entrypoints.web.deps import (
    Staff,
    agency_names,
    calendar_of,
    own_node,
    service_names,
    target_of,
    utc,
)
from crocevia_referrals.handlers.node import Node

router = APIRouter(prefix="/ui")
SOON = timedelta(hours=24)


@dataclass(frozen=True)
class Waiting:
    """An incoming referral and the decision the directory's response target asks by."""

    referral: ReferralView
    target: Any  # ResponseTarget | None
    due_at: datetime | None
    state: str  # overdue | soon | on-time | none

    def order(self) -> tuple[int, datetime]:
        rank = {"overdue": 0, "soon": 1, "on-time": 2}.get(self.state, 3)
        return rank, self.due_at or utc(self.referral.created_at)


def waiting(node: Node, referral: ReferralView, now: datetime) -> Waiting:
    target = target_of(node, referral.receiver_agency, referral.service_id, referral.priority)
    if target is None or referral.status != Status.RECEIVED.value:
        return Waiting(referral, target, None, "none")
    due = target.decide_by(utc(referral.created_at), calendar_of(node, referral.receiver_agency))
    state = "overdue" if due < now else "soon" if due - now < SOON else "on-time"
    return Waiting(referral, target, due, state)


@router.get("", response_class=HTMLResponse)
async def needs_us(request: Request, principal: Staff) -> HTMLResponse:
    node = own_node(request, principal)
    incoming = repository.ListFilter(direction="incoming", statuses=WAITING_FOR_US["incoming"])
    async with node.db.sessions() as session:
        waiting_rows, _ = await repository.search(session, incoming, 200, None)
        sent_rows, _ = await repository.search(session, repository.ListFilter(direction="outgoing"), 50, None)
    now = datetime.now(UTC)
    waits = sorted((waiting(node, view(row), now) for row in waiting_rows), key=Waiting.order)
    return pages_of(request).render(
        request,
        "needs_us.html",
        waiting=waits,
        sent=[view(row) for row in sent_rows],
        names=agency_names(node),
        services=service_names(node),
        overdue=sum(w.state == "overdue" for w in waits),
    )
