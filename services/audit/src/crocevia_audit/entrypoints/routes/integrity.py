"""Is the trail whole? Gaps in sources' sequences, and a full recomputation against the
signed checkpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from crocevia_audit import views
from crocevia_audit.entrypoints.access import Auditor, Reader, audit_log, party_of
from crocevia_contracts import agency_source

router = APIRouter(tags=["integrity"])


@router.get("/gaps", summary="Missing sequence numbers per source (network auditors: all; others: their agency's)")
async def get_gaps(
    request: Request,
    principal: Reader,
    source: Annotated[str | None, Query(max_length=100, description="e.g. /agencies/cpia2")] = None,
    status: Annotated[str, Query(pattern="^(open|closed|all)$")] = "open",
) -> dict[str, Any]:
    party = party_of(principal)
    if party is not None:
        source = agency_source(party)
    return {"gaps": await views.gaps(audit_log(request), source=source, status=status)}


@router.get(
    "/verify",
    summary="Recompute the stored trail against every signed checkpoint, and hold it to what was published (auditors)",
)
async def get_verify(request: Request, _auditor: Auditor) -> dict[str, Any]:
    return await views.verification(audit_log(request))


@router.get(
    "/anomalies",
    summary="Duplicates and reused sequence numbers the consumer met (network auditors: all; auditors: their agency's)",
)
async def get_anomalies(
    request: Request,
    auditor: Auditor,
    kind: Annotated[str | None, Query(pattern="^(duplicate|repeated-sequence)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    party = party_of(auditor)
    source = None if party is None else agency_source(party)
    return {"anomalies": await views.anomalies(audit_log(request), kind=kind, source=source, limit=limit)}
