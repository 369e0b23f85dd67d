"""Is the trail whole? Gaps in sources' sequences, and a full recomputation against the
signed checkpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from crocevia_audit.adapters.tables import anomalies
from crocevia_audit.domain.entries import utc
from crocevia_audit.entrypoints.access import Auditor, Reader, audit_log, party_of
from crocevia_audit.handlers.gaps import gap_view, list_gaps
from crocevia_audit.handlers.verify import verify_trail
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
    async with audit_log(request).db.sessions() as session:
        rows = await list_gaps(session, source=source, status=status)
    return {"gaps": [gap_view(row) for row in rows]}


@router.get(
    "/verify",
    summary="Recompute the stored trail against every signed checkpoint, and hold it to what was published (auditors)",
)
async def get_verify(request: Request, _auditor: Auditor) -> dict[str, Any]:
    log = audit_log(request)
    published = log.published() if log.published is not None else None
    report = await verify_trail(log.db, log.checkpointer.verifier, log.settings.export_page_size, published=published)
    return report.as_dict()


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
    a = anomalies.c
    query = select(anomalies).order_by(a.id.desc()).limit(limit)
    if kind:
        query = query.where(a.kind == kind)
    party = party_of(auditor)
    if party is not None:
        query = query.where(a.source == agency_source(party))
    async with audit_log(request).db.sessions() as session:
        rows = list((await session.execute(query)).mappings())
    return {
        "anomalies": [
            {**{k: v for k, v in row.items() if k != "detected_at"}, "detected_at": utc(row["detected_at"]).isoformat()}
            for row in rows
        ]
    }
