"""Sending a referral: check the legal basis and the target, seal the personal part to the
receiving agency, and commit the referral with its ``requested`` event."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from crocevia_common.auth import Principal
from crocevia_contracts import EventName, LegalBasis, Priority, new_event_id
from crocevia_contracts.directory import Capacity, ServiceStatus
from crocevia_contracts.events import Requested
from crocevia_contracts.lifecycle import Status
from crocevia_contracts.sealing import seal_for
from crocevia_referrals.adapters import repository
from crocevia_referrals.domain.referral import ConsentError, PersonalPart, check_legal_basis
from crocevia_referrals.handlers.errors import Invalid, NotFound
from crocevia_referrals.handlers.node import Node


@dataclass(frozen=True)
class NewReferral:
    to_agency: str
    service_id: str
    priority: Priority
    legal_basis: LegalBasis
    personal: PersonalPart
    previous_referral_id: str | None = None
    idempotency_key: str | None = None  # the caller's own; kept scoped to the caller
    request_sha256: str | None = None


@dataclass(frozen=True)
class Sent:
    referral_id: str
    warnings: list[str]
    replayed: bool = False


class _KeyTaken(Exception):
    """A concurrent request with the same Idempotency-Key committed first."""


def scoped_key(sub: str, key: str) -> str:
    """How a caller's Idempotency-Key is kept: one caller's key never replays another's,
    and any key fits its column."""
    return hashlib.sha256(f"{sub}\n{key}".encode()).hexdigest()


async def _replay(node: Node, key: str | None, request_sha256: str | None) -> Sent | None:
    """The referral an earlier request with the same Idempotency-Key created, if any."""
    if key is None:
        return None
    async with node.db.sessions() as session:
        earlier = await repository.idempotent(session, key)
    if earlier is None:
        return None
    if earlier["request_sha256"] != request_sha256:
        raise Invalid("idempotency-key-reused", "this Idempotency-Key was used with another request body")
    return Sent(earlier["referral_id"], [], replayed=True)


async def send_referral(node: Node, by: Principal, new: NewReferral) -> Sent:
    """Create an outgoing referral and queue its ``requested`` event. Requests with one
    Idempotency-Key create one referral: the others answer it, or that it is under way."""
    key = scoped_key(by.sub, new.idempotency_key) if new.idempotency_key else None
    replayed = await _replay(node, key, new.request_sha256)
    if replayed is not None:
        return replayed
    try:
        return await _send(node, by, new, key)
    except _KeyTaken:
        replayed = await _replay(node, key, new.request_sha256)
    if replayed is None:
        raise Invalid("idempotency-key-in-use", "a request with this Idempotency-Key is under way; try again later")
    return replayed


async def _send(node: Node, by: Principal, new: NewReferral, key: str | None) -> Sent:
    try:
        check_legal_basis(new.legal_basis)
    except ConsentError as exc:
        raise Invalid("legal-basis", str(exc), "legal_basis") from None
    if new.to_agency == node.agency_id:
        raise Invalid("unknown-agency", "an agency cannot refer to itself", "to_agency")
    target = await node.directory.fetch(new.to_agency)
    if target is None:
        raise Invalid("unknown-agency", f"no agency {new.to_agency!r} in the directory", "to_agency")
    service = target.service(new.service_id)
    if service is None:
        raise Invalid("unknown-service", f"{new.to_agency} offers no service {new.service_id!r}", "service_id")
    if not service.accepts_referrals or service.status is not ServiceStatus.ACTIVE:
        raise Invalid("service-closed", f"{service.name} does not accept referrals now", "service_id")
    recipient = await node.keys_of(new.to_agency)  # pinned: a key swapped in the directory is not used
    warnings = []
    if service.capacity is Capacity.NO_CAPACITY:
        warnings.append(f"{service.name} reports no capacity: the referral may be rejected")
    elif service.capacity is Capacity.WAITLIST:
        warnings.append(f"{service.name} has a waiting list")

    referral_id = new_event_id()
    sealed = seal_for(
        recipient,
        node.keys,
        referral_id,
        EventName.REQUESTED.value,
        new.personal.model_dump_json().encode(),
    )
    now = datetime.now(UTC)
    data = Requested(
        referral_id=referral_id,
        sender_agency=node.agency_id,
        receiver_agency=new.to_agency,
        service_id=service.id,
        domain=service.domain.value,
        priority=new.priority,
        occurred_at=now,
        sealed=sealed,
        legal_basis=new.legal_basis,
        previous_referral_id=new.previous_referral_id,
        requested_by=by.sub,
    )
    async with node.db.transaction() as session:
        await repository.add(
            session,
            id=referral_id,
            direction="outgoing",
            sender_agency=node.agency_id,
            receiver_agency=new.to_agency,
            service_id=service.id,
            domain=service.domain.value,
            priority=new.priority.value,
            status=Status.REQUESTED.value,
            legal_basis=new.legal_basis.model_dump(mode="json", exclude_none=True),
            personal=new.personal.model_dump(mode="json"),
            previous_referral_id=new.previous_referral_id,
            created_by=by.sub,
        )
        envelope = await node.emit(session, data, new.to_agency)
        await repository.record(
            session,
            referral_id=referral_id,
            event_id=envelope.id,
            event=EventName.REQUESTED.value,
            by_agency=node.agency_id,
            by_user=by.sub,
            status=Status.REQUESTED.value,
            at=now,
        )
        if key is not None:
            try:
                await repository.remember(session, key, new.request_sha256 or "", referral_id)
            except IntegrityError:
                # A concurrent request with the same key committed first: this one rolls back.
                raise _KeyTaken from None
    node.relay.wake()
    return Sent(referral_id, warnings)


async def redirect(
    node: Node,
    by: Principal,
    referral_id: str,
    to_agency: str | None,
    service_id: str,
    priority: Priority | None = None,
) -> Sent:
    """Send a rejected referral again, by default to the agency the receiver suggested,
    keeping the link to the first one."""
    async with node.db.sessions() as session:
        first = await repository.get(session, referral_id)
    if first is None or first["direction"] != "outgoing":
        raise NotFound(referral_id)
    if first["status"] != Status.REJECTED.value:
        raise Invalid("not-rejected", f"only a rejected referral can be redirected; this one is {first['status']}")
    if first["personal"] is None:
        raise Invalid("erased", "the personal details of this referral were erased")
    async with node.db.sessions() as session:
        suggested = next(
            (
                h["details"].get("suggested_agency")
                for h in await repository.timeline(session, referral_id)
                if h["event"] == EventName.REJECTED.value
            ),
            None,
        )
    target = to_agency or suggested
    if not target:
        raise Invalid("no-target", "the receiver suggested no agency: name to_agency", "to_agency")
    return await send_referral(
        node,
        by,
        NewReferral(
            to_agency=target,
            service_id=service_id,
            priority=priority or Priority(first["priority"]),
            legal_basis=LegalBasis.model_validate(first["legal_basis"]),
            personal=PersonalPart.model_validate(first["personal"]),
            previous_referral_id=referral_id,
        ),
    )
