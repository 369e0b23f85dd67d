"""Opening a household pathway: every referral of it prepared by the one sending use case,
then all kept in one transaction, or none when any of them cannot be sent."""

from __future__ import annotations

from dataclasses import dataclass

from crocevia_common.auth import Principal
from crocevia_contracts import new_event_id
from crocevia_contracts.events import PathwayRef
from crocevia_referrals.domain.errors import Invalid
from crocevia_referrals.domain.pathways import PathwayRequest
from crocevia_referrals.handlers.ports import Node
from crocevia_referrals.handlers.sending import Idempotency, Sent, once, prepare, store, warn


@dataclass(frozen=True)
class Opened:
    pathway_id: str
    referrals: list[Sent]
    replayed: bool = False


async def open_pathway(
    node: Node, by: Principal, request: PathwayRequest, idempotency: Idempotency | None = None
) -> Opened:
    """Send a referral to each service of ``request``, linked as a pathway this agency leads;
    raise Invalid, sending none, when any one cannot be sent. Requests with one
    Idempotency-Key open one pathway: the others answer it (without its warnings)."""
    opened: list[Opened] = []

    async def make(key: str | None, digest: str) -> Sent:
        opened.append(await _open(node, by, request, key, digest))
        return opened[0].referrals[0]

    first = await once(node, by, idempotency, make)
    if opened:
        return opened[0]
    async with node.uow.reading() as work:
        earlier = await work.referrals.get(first.referral_id)
    if earlier is None or earlier.pathway is None:
        raise Invalid("idempotency-key-reused", "this Idempotency-Key was used with another request")
    return Opened(earlier.pathway.id, [], replayed=True)


async def _open(node: Node, by: Principal, request: PathwayRequest, key: str | None, digest: str) -> Opened:
    pathway = PathwayRef(id=new_event_id(), lead_agency=node.agency_id)
    prepared = [await prepare(node, by, referral) for referral in request.referrals(pathway)]
    async with node.uow.transaction() as work:
        warnings = [await warn(work, one) for one in prepared]  # before any is stored
        for one in prepared:
            await store(work, one.referral)
        if key is not None:
            await work.requests.remember(key, digest, prepared[0].referral.id)
    return Opened(pathway.id, [Sent(one.referral.id, said) for one, said in zip(prepared, warnings, strict=True)])
