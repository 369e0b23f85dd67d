"""What the pathway routes and pages read: a pathway this agency leads, with every one of its
referrals and its status, and the newest pathways."""

from __future__ import annotations

from crocevia_contracts.lifecycle import Side
from crocevia_referrals.adapters.queries import ListFilter
from crocevia_referrals.domain.referral import DIRECTIONS
from crocevia_referrals.view_models import PathwayList, PathwayView
from crocevia_referrals.views import Reads, view_of

NEWEST_PATHWAYS, REFERRALS_OF_A_PATHWAY = 50, 200


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
