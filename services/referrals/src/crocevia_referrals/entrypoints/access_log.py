"""The access log over HTTP, for the agency's supervisors and data protection officer: who
read which referral's personal details, when and why, and the chain checked."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from crocevia_common.auth import Principal, Role, require
from crocevia_common.inputs import Cursor, IdText, SubText
from crocevia_common.problems import Problem
from crocevia_referrals import access_views
from crocevia_referrals.access_views import AccessLogCheck, AccessLogPage
from crocevia_referrals.adapters.access_log import AccessFilter
from crocevia_referrals.entrypoints.deps import access_reads_of, own_agency

router = APIRouter(tags=["access log"])
# Who reads the log: the agency's supervisors and its data protection officer.
READERS = (Role.SUPERVISOR, Role.DPO)
Reader = Annotated[Principal, Depends(require(*READERS))]


@router.get("/access-log", response_model=AccessLogPage, summary="Reads of personal details, newest first")
async def list_access(
    principal: Reader,
    request: Request,
    referral_id: IdText | None = None,
    staff: Annotated[SubText | None, Query(description="a staff member's id (token subject)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Cursor | None = None,
) -> AccessLogPage:
    own_agency(request, principal)
    flt = AccessFilter(referral_id=referral_id or None, staff=staff or None)
    try:
        return await access_views.access_log(access_reads_of(request), flt, limit, cursor)
    except ValueError:
        raise Problem(400, "invalid-cursor", "Invalid cursor", "use the next_cursor of a previous page") from None


@router.get(
    "/access-log/verify",
    response_model=AccessLogCheck,
    summary="Recompute the access log's chain and hold it to the last anchor in the trail",
)
async def verify_access(principal: Reader, request: Request) -> AccessLogCheck:
    own_agency(request, principal)
    return await access_views.check_access_log(access_reads_of(request))
