"""What the pathway routes and pages read: a pathway this agency leads, with every one of its
referrals and its status, and the newest pathways."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from crocevia_contracts.lifecycle import Side
from crocevia_referrals.adapters.queries import ListFilter
from crocevia_referrals.domain.personal import Person
from crocevia_referrals.domain.referral import DIRECTIONS
from crocevia_referrals.views import Reads, ReferralView, view_of

NEWEST_PATHWAYS, REFERRALS_OF_A_PATHWAY = 50, 200


class PathwayView(BaseModel):
    id: str
    lead_agency: str
    person: Person | None = Field(description="the person or household referred (None once erased everywhere)")
    created_at: datetime
    referrals: list[ReferralView] = Field(description="its referrals, the oldest first, each with its status")


class PathwayList(BaseModel):
    items: list[PathwayView]


async def pathway(reads: Reads, pathway_id: str) -> PathwayView | None:
    """A pathway this agency leads; None when it leads none with that id."""
    flt = ListFilter(direction=DIRECTIONS[Side.SENDER], pathway_id=pathway_id)
    found, _ = await reads.queries.search(flt, REFERRALS_OF_A_PATHWAY, None)
    led = [r for r in reversed(found) if r.pathway and r.pathway.lead_agency == reads.agency_id]
    if not led:
        return None
    return PathwayView(
        id=pathway_id,
        lead_agency=reads.agency_id,
        person=next((r.personal.person for r in led if r.personal), None),
        created_at=led[0].created_at,
        referrals=[view_of(r) for r in led],
    )


async def pathways(reads: Reads) -> PathwayList:
    """The newest pathways this agency leads, the newest first."""
    ids = await reads.queries.pathways(reads.agency_id, NEWEST_PATHWAYS)
    found = [await pathway(reads, pathway_id) for pathway_id in ids]
    return PathwayList(items=[p for p in found if p is not None])
