"""The access log's page, for the agency's supervisors and data protection officer: reads of
personal details newest first, filtered by referral or staff member, and the chain checked
against the last anchor in the trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import HTMLResponse

from crocevia_common.auth import MAX_SUB, Principal
from crocevia_common.inputs import InvalidCursor
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import PageRefused, page_roles
from crocevia_referrals import access_views
from crocevia_referrals.adapters.access_log import AccessFilter
from crocevia_referrals.entrypoints.access_log import READERS
from crocevia_referrals.entrypoints.deps import access_reads_of
from crocevia_referrals.entrypoints.web.deps import own_agency

router = APIRouter(prefix="/ui")
Reader = Annotated[Principal, Depends(page_roles(*READERS))]
PAGE = 100


def _filter_value(request: Request, name: str, limit: int) -> str | None:
    value = (request.query_params.get(name) or "").strip()
    if len(value) > limit:
        raise PageRefused(400, "refused.access-filters")
    return value or None


@router.get("/access-log", response_class=HTMLResponse)
async def access_log_page(request: Request, principal: Reader) -> HTMLResponse:
    own_agency(request, principal)
    flt = AccessFilter(
        referral_id=_filter_value(request, "referral_id", 64), staff=_filter_value(request, "staff", MAX_SUB)
    )
    queries = access_reads_of(request)
    try:
        page = await access_views.access_log(queries, flt, PAGE, request.query_params.get("cursor") or None)
    except InvalidCursor:
        raise PageRefused(400, "refused.access-filters") from None
    return pages_of(request).render(
        request,
        "access_log.html",
        entries=page.items,
        next_cursor=page.next_cursor,
        filters=flt,
        check=await access_views.check_access_log(queries),
    )
