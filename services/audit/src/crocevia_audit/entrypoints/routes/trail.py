"""``GET /trail``: the events between agencies and the reminders and escalations sent about
them, filtered and paged, without personal details."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from crocevia_audit import views
from crocevia_audit.adapters.trail_query import CursorError, TrailFilter
from crocevia_audit.entrypoints.access import Reader, audit_log, party_of
from crocevia_audit.entrypoints.schemas import TrailItem, TrailPage, as_utc
from crocevia_audit.handlers import export
from crocevia_common.inputs import Cursor, Instant
from crocevia_common.problems import Problem
from crocevia_contracts import EventName, Priority
from crocevia_contracts.anchors import AnchorKind
from crocevia_contracts.directory import Domain
from crocevia_contracts.notices import NoticeKind

router = APIRouter(tags=["trail"])


def trail_filter(
    principal: Reader,
    referral_id: Annotated[str | None, Query(max_length=64)] = None,
    agency: Annotated[str | None, Query(max_length=64, description="either party")] = None,
    from_agency: Annotated[str | None, Query(alias="from", max_length=64, description="the sending agency")] = None,
    to_agency: Annotated[str | None, Query(alias="to", max_length=64, description="the receiving agency")] = None,
    event: Annotated[
        list[EventName | NoticeKind | AnchorKind] | None,
        Query(description="a lifecycle event, reminder, escalation or access-log-anchored"),
    ] = None,
    domain: Domain | None = None,
    priority: Priority | None = None,
    since: Annotated[Instant | None, Query(description="occurred at or after (RFC 3339)")] = None,
    until: Annotated[Instant | None, Query(description="occurred before (RFC 3339)")] = None,
) -> TrailFilter:
    """The filters every trail listing takes, limited to the caller's agency for staff."""
    if since and until and as_utc(since) >= as_utc(until):
        raise Problem(422, "empty-time-range", "Empty time range", "since must be before until")
    return TrailFilter(
        referral_id=referral_id,
        agency=agency,
        sender=from_agency,
        receiver=to_agency,
        events=tuple(e.value for e in event or ()),
        domain=domain.value if domain else None,
        priority=priority.value if priority else None,
        since=as_utc(since) if since else None,
        until=as_utc(until) if until else None,
        party=party_of(principal),
    )


Filtered = Annotated[TrailFilter, Depends(trail_filter)]


@router.get("/trail", response_model=TrailPage, summary="Trail entries (auditors: all; staff: their agency's)")
async def list_trail(
    request: Request,
    flt: Filtered,
    order: Annotated[str, Query(pattern="^(newest|oldest)$")] = "newest",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Cursor | None = None,
) -> TrailPage:
    try:
        rows, next_cursor = await views.trail_page(
            audit_log(request), flt, limit=limit, newest_first=order == "newest", cursor=cursor
        )
    except CursorError as exc:
        raise Problem(400, "invalid-cursor", "Invalid cursor", f"{exc}; use the next_cursor of a page") from None
    return TrailPage(items=[TrailItem.of(row) for row in rows], next_cursor=next_cursor)


@router.get(
    "/trail/export",
    summary="The filtered trail as JSON Lines or CSV, with its checkpoint",
    response_class=StreamingResponse,
)
async def export_trail(
    request: Request,
    flt: Filtered,
    format: Annotated[str, Query(pattern="^(jsonl|csv)$")] = "jsonl",
) -> StreamingResponse:
    log = audit_log(request)
    checkpoint = await views.checkpoint(log)
    if checkpoint is None:
        raise Problem(409, "no-checkpoint", "Nothing signed yet", "the trail has no checkpoint to export against")
    flt = replace(flt, below=checkpoint.size)
    headers = export.export_headers(checkpoint)
    if format == "csv":
        headers["Content-Disposition"] = f'attachment; filename="trail-{checkpoint.size}.csv"'
        return StreamingResponse(views.export_csv(log, flt), media_type="text/csv; charset=utf-8", headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="trail-{checkpoint.size}.jsonl"'
    return StreamingResponse(views.export_jsonl(log, checkpoint, flt), media_type="application/jsonl", headers=headers)
