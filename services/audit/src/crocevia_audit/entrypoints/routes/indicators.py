"""``GET /indicators``: how referrals fare, per agency pair, service, domain and month."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field

from crocevia_audit import views
from crocevia_audit.domain.indicators import DIMENSIONS
from crocevia_audit.entrypoints.access import Reader, audit_log, party_of
from crocevia_audit.entrypoints.schemas import as_utc
from crocevia_common.inputs import Instant
from crocevia_common.problems import Problem

router = APIRouter(tags=["indicators"])


@router.get("/indicators", summary="Referral indicators from the trail (auditors: all; staff: their agency's)")
async def get_indicators(
    request: Request,
    principal: Reader,
    group_by: Annotated[
        list[Annotated[str, Field(max_length=40)]] | None,
        Query(max_length=len(DIMENSIONS), description=f"any of {', '.join(DIMENSIONS)}"),
    ] = None,
    since: Annotated[Instant | None, Query(description="referrals requested at or after")] = None,
    until: Annotated[Instant | None, Query(description="referrals requested before")] = None,
    as_of: Annotated[Instant | None, Query(description="the moment open targets are judged at; default now")] = None,
) -> dict[str, Any]:
    dimensions = list(dict.fromkeys(group_by if group_by is not None else DIMENSIONS))
    unknown = [d for d in dimensions if d not in DIMENSIONS]
    if unknown:
        raise Problem(
            422,
            "unknown-grouping",
            "Unknown grouping",
            f"cannot group by {', '.join(unknown)}; use any of {', '.join(DIMENSIONS)}",
        )
    since_utc, until_utc = (as_utc(since) if since else None), (as_utc(until) if until else None)
    if since_utc and until_utc and since_utc >= until_utc:
        raise Problem(422, "empty-time-range", "Empty time range", "since must be before until")
    moment = as_utc(as_of) if as_of else datetime.now(UTC)
    groups = await views.indicator_groups(
        audit_log(request),
        dimensions=dimensions,
        as_of=moment,
        since=since_utc,
        until=until_utc,
        party=party_of(principal),
    )
    return {"group_by": dimensions, "since": since_utc, "until": until_utc, "as_of": moment, "groups": groups}
