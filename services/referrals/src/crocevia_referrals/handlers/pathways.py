"""Opening a household pathway: every referral of it prepared by the one sending use case,
then all kept in one transaction, or none when any of them cannot be sent."""

from __future__ import annotations

from dataclasses import dataclass

from crocevia_common.auth import Principal
from crocevia_contracts import new_event_id
from crocevia_contracts.events import PathwayRef
from crocevia_referrals.domain.pathways import PathwayRequest
from crocevia_referrals.handlers.ports import Node
from crocevia_referrals.handlers.sending import Sent, prepare, store


@dataclass(frozen=True)
class Opened:
    pathway_id: str
    referrals: list[Sent]


async def open_pathway(node: Node, by: Principal, request: PathwayRequest) -> Opened:
    """Send a referral to each service of ``request``, linked as a pathway this agency leads;
    raise Invalid, sending none, when any one cannot be sent."""
    pathway = PathwayRef(id=new_event_id(), lead_agency=node.agency_id)
    prepared = [await prepare(node, by, referral) for referral in request.referrals(pathway)]
    async with node.uow.transaction() as work:
        for referral, _ in prepared:
            await store(work, referral)
    return Opened(pathway.id, [Sent(referral.id, warnings) for referral, warnings in prepared])
