"""Sending a referral: check the legal basis and the target, and commit the referral with its
``requested`` event, the personal part sealed to the receiving agency. Redirecting a
rejected one is sending it again; closing it, keeping it off the to-do list."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from crocevia_common.auth import Principal
from crocevia_contracts import Priority
from crocevia_contracts.directory import Service
from crocevia_referrals.domain.caseload import person_key_start
from crocevia_referrals.domain.errors import Invalid, NotFound
from crocevia_referrals.domain.pathways import already_referred
from crocevia_referrals.domain.referral import Referral
from crocevia_referrals.domain.rejection import close, send_again
from crocevia_referrals.domain.sending import ReferralRequest, SendWarning, check_legal_basis, check_target
from crocevia_referrals.handlers.ports import KeyTaken, Node, Work


@dataclass(frozen=True)
class Sent:
    """A referral sent: ``referral`` as it was stored (None when an earlier request with the
    same Idempotency-Key created it: ``replayed``)."""

    referral_id: str
    warnings: list[SendWarning] = field(default_factory=list)
    replayed: bool = False
    referral: Referral | None = None


@dataclass(frozen=True)
class Idempotency:
    """The caller's Idempotency-Key and the digest of its request body."""

    key: str
    request_sha256: str


def scoped_key(sub: str, key: str) -> str:
    """How a caller's Idempotency-Key is kept: one caller's key never replays another's,
    and any key fits its column."""
    return hashlib.sha256(f"{sub}\n{key}".encode()).hexdigest()


async def _replay(node: Node, key: str | None, request_sha256: str) -> Sent | None:
    """The referral an earlier request with the same Idempotency-Key created, if any."""
    if key is None:
        return None
    async with node.uow.reading(one_read=True) as work:
        earlier = await work.requests.find(key)
    if earlier is None:
        return None
    if earlier.request_sha256 != request_sha256:
        raise Invalid("idempotency-key-reused", "this Idempotency-Key was used with another request body")
    return Sent(earlier.referral_id, replayed=True)


async def send_referral(
    node: Node, by: Principal, request: ReferralRequest, idempotency: Idempotency | None = None
) -> Sent:
    """Create an outgoing referral and queue its ``requested`` event; raise Invalid. Requests
    with one Idempotency-Key create one referral: the others answer it, or that it is under way."""
    return await once(node, by, idempotency, lambda key, digest: _send(node, by, request, key, digest))


async def once(
    node: Node, by: Principal, idempotency: Idempotency | None, make: Callable[[str | None, str], Awaitable[Sent]]
) -> Sent:
    """``make`` (given the key and digest to remember with what it creates) run once per
    Idempotency-Key: a repeated request answers what the first created, or raises Invalid
    while the first is under way or when its body differs."""
    key = scoped_key(by.sub, idempotency.key) if idempotency else None
    digest = idempotency.request_sha256 if idempotency else ""
    replayed = await _replay(node, key, digest)
    if replayed is not None:
        return replayed
    try:
        return await make(key, digest)
    except KeyTaken:
        replayed = await _replay(node, key, digest)
    if replayed is None:
        raise Invalid("idempotency-key-in-use", "a request with this Idempotency-Key is under way; try again later")
    return replayed


async def _send(node: Node, by: Principal, request: ReferralRequest, key: str | None, digest: str) -> Sent:
    prepared = await prepare(node, by, request)
    async with node.uow.transaction() as work:
        warnings = await warn(work, prepared)
        await store(work, prepared.referral)
        if key is not None:
            await work.requests.remember(key, digest, prepared.referral.id)
    return Sent(prepared.referral.id, warnings, referral=prepared.referral)


@dataclass(frozen=True)
class Prepared:
    """A referral to send, stored nowhere yet, and what the sender is warned of so far."""

    referral: Referral
    request: ReferralRequest
    service: Service
    warnings: list[SendWarning]


async def prepare(node: Node, by: Principal, request: ReferralRequest) -> Prepared:
    """The referral ``request`` makes; raise Invalid when it cannot be sent."""
    now = node.clock()
    check_legal_basis(request.legal_basis, now)
    entry = await node.directory.fetch(request.to_agency)
    service, warnings = check_target(node.agency_id, request, entry)
    await node.seals.prepare(request.to_agency)
    referral = Referral.request(sender=node.agency_id, service=service, request=request, by=by.sub, at=now)
    return Prepared(referral, request, service, warnings)


async def warn(work: Work, prepared: Prepared) -> list[SendWarning]:
    """What the sender is warned of, read in ``work``'s transaction (before it stores the
    referral): with the target's warnings, that the person has an open referral to the service."""
    request, person = prepared.request, prepared.request.personal.person
    open_ones = await work.referrals.open_sent(request.to_agency, prepared.service.id, person_key_start(person))
    duplicate = already_referred(person, (r.personal.person for r in open_ones if r.personal), prepared.service)
    return [*prepared.warnings, *([duplicate] if duplicate else [])]


async def store(work: Work, referral: Referral) -> None:
    """Keep a prepared referral and queue its events, in ``work``'s transaction."""
    await work.referrals.add(referral)
    for event in referral.outbox:
        await work.outbox.put(event)


async def redirect(
    node: Node,
    by: Principal,
    referral_id: str,
    to_agency: str | None,
    service_id: str,
    priority: Priority | None = None,
) -> Sent:
    """Send a rejected referral again, by default to the agency the receiver suggested,
    linked to the first one; raise NotFound or Invalid."""
    async with node.uow.reading(short=True) as work:
        first = await work.referrals.get(referral_id)
    if first is None:
        raise NotFound(referral_id)
    return await send_referral(node, by, send_again(first, to_agency, service_id, priority))


async def close_rejection(node: Node, referral_id: str) -> None:
    """Close a rejected referral without sending it again; raise NotFound or Invalid."""
    async with node.uow.transaction() as work:
        referral = await work.referrals.get(referral_id)
        if referral is None:
            raise NotFound(referral_id)
        close(referral, node.clock())
        await work.referrals.save(referral)
