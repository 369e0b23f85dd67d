"""The trail for auditors: filters, pages, exports; one referral's story across both
agencies; an entry's bytes, for the browser to hash itself."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crocevia_audit import views
from crocevia_audit.adapters.trail_query import CursorError
from crocevia_audit.entrypoints.access import audit_log, party_of
from crocevia_audit.entrypoints.routes.trail import export_trail
from crocevia_audit.entrypoints.schemas import TrailItem
from crocevia_audit.entrypoints.web.deps import EVENTS, Reader, filters_of, trail_filter
from crocevia_common.problems import Problem
from crocevia_common.web.i18n import Translator, request_language
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import PageRefused
from crocevia_contracts.directory import Domain

router = APIRouter(prefix="/ui")
PAGE = 50


@router.get("")
async def home() -> Response:
    return RedirectResponse("/ui/trail", status_code=303)


@router.get("/trail", response_class=HTMLResponse)
async def trail_page(
    request: Request, principal: Reader, cursor: Annotated[str | None, Query(max_length=200)] = None
) -> HTMLResponse:
    t = Translator(request_language(request))
    filters = filters_of(request.query_params)
    flt, errors = trail_filter(principal, filters)
    log = audit_log(request)
    items: list[TrailItem] = []
    next_cursor = None
    if not errors:
        try:
            rows, next_cursor = await views.trail_page(log, flt, limit=PAGE, newest_first=True, cursor=cursor)
            items = [TrailItem.of(row) for row in rows]
        except CursorError:
            errors["cursor"] = "filter.error.cursor"
    query = urlencode({k: v for k, v in filters.items() if v})
    return pages_of(request).render(
        request,
        "trail.html",
        status=422 if errors else 200,
        items=items,
        filters=filters,
        query=query,
        errors={k: t(v) for k, v in errors.items()},
        next_cursor=next_cursor,
        agencies=await views.parties(log, party_of(principal)),
        events=EVENTS,
        domains=[d.value for d in Domain],
        party=party_of(principal),
    )


@router.get("/trail/export")
async def export_page(
    request: Request, principal: Reader, format: Annotated[str, Query(pattern="^(jsonl|csv)$")] = "jsonl"
) -> Response:
    """The export of the API, with the session of the page."""
    flt, errors = trail_filter(principal, filters_of(request.query_params))
    if errors:
        raise PageRefused(422, "refused.filters")
    return await export_trail(request, flt, format)


def _durations(at: dict[str, datetime]) -> dict[str, float]:
    requested = at.get("requested")
    if requested is None:
        return {}
    decided = min((at[e] for e in ("accepted", "rejected") if e in at), default=None)
    steps = {"receive": at.get("received"), "decide": decided, "complete": at.get("completed")}
    return {name: (moment - requested).total_seconds() for name, moment in steps.items() if moment}


@router.get("/referrals/{referral_id}", response_class=HTMLResponse)
async def timeline_page(referral_id: str, request: Request, principal: Reader) -> HTMLResponse:
    log = audit_log(request)
    items = [TrailItem.of(row) for row in await views.referral_entries(log, referral_id[:64], party_of(principal))]
    if not items:
        raise PageRefused(404, "refused.no-trail", id=referral_id)
    checkpoint = await views.checkpoint(log)
    at: dict[str, datetime] = {}
    for item in items:
        at.setdefault(item.event, item.occurred_at)
    first = items[0]
    return pages_of(request).render(
        request,
        "timeline.html",
        items=items,
        first=first,
        durations=_durations(at),
        signed_size=checkpoint.size if checkpoint else 0,
    )


@router.get("/trail/entries/{event_id}")
async def entry_bytes(event_id: str, request: Request, principal: Reader) -> Response:
    """The entry exactly as the log hashed it: the browser computes its leaf hash."""
    entry = await views.entry_bytes(audit_log(request), event_id[:36], party_of(principal))
    if entry is None:
        raise Problem(404, "event-not-found", "No such event", f"no event {event_id} in the trail")
    return Response(entry, media_type="application/json")
