""" "Needs us": what waits for this agency, overdue first, and where its own referrals stand."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from crocevia_common.web.pages import pages_of
from crocevia_referrals import views
from crocevia_referrals.domain.access_log import Channel
from crocevia_referrals.entrypoints.deps import node_of, reads_of
from crocevia_referrals.entrypoints.web.deps import Staff, own_agency, purpose_of
from crocevia_referrals.handlers.access_log import record_reads

router = APIRouter(prefix="/ui")


@router.get("", response_class=HTMLResponse)
async def needs_us(request: Request, principal: Staff) -> HTMLResponse:
    own_agency(request, principal)
    purpose = purpose_of(request)
    reads = reads_of(request)
    found = await views.needs_us(reads, node_of(request).clock())
    # The page names the people it lists: each is a read of their details.
    shown = [*(entry.referral for entry in found.waiting), *found.sent]
    await record_reads(node_of(request), principal, views.with_personal(shown), purpose, Channel.PAGE)
    return pages_of(request).render(
        request,
        "needs_us.html",
        waiting=found.waiting,
        sent=found.sent,
        names=views.agency_names(reads),
        services=views.service_names(reads),
        overdue=found.overdue,
    )
