"""What the API and the pages share: this node's use cases and reads, and how a use case's
refusal reads as a problem."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request

from crocevia_common.auth import Principal
from crocevia_common.problems import Problem
from crocevia_contracts.lifecycle import TransitionRefused
from crocevia_referrals.access_views import AccessQueries
from crocevia_referrals.domain.errors import Invalid, NotFound
from crocevia_referrals.handlers.ports import Node
from crocevia_referrals.views import Reads


def node_of(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def reads_of(request: Request) -> Reads:
    reads: Reads = request.app.state.reads
    return reads


def access_reads_of(request: Request) -> AccessQueries:
    queries: AccessQueries = request.app.state.access_reads
    return queries


def own_agency(request: Request, principal: Principal, referral_id: str | None = None) -> None:
    """Refuse a person of another agency: 403, or 404 about a referral (not theirs to know of)."""
    agency = node_of(request).agency_id
    if principal.agency == agency:
        return
    if referral_id is not None:
        raise not_found(referral_id)
    detail = f"this node serves {agency}; your token is for {principal.agency}"
    raise Problem(403, "other-agency", "Not your agency's node", detail)


def not_found(referral_id: str) -> Problem:
    return Problem(404, "referral-not-found", "No such referral", f"no referral {referral_id} here")


def invalid(exc: Invalid) -> Problem:
    if exc.slug == "idempotency-key-reused":
        return Problem(409, exc.slug, "Idempotency-Key reused", exc.detail)
    if exc.slug == "idempotency-key-in-use":
        return Problem(409, exc.slug, "Idempotency-Key in use", exc.detail)
    extra: dict[str, Any] = {"field": exc.field} if exc.field else {}
    return Problem(422, exc.slug, "Cannot do that", exc.detail, **extra)


def refused(exc: TransitionRefused) -> Problem:
    return Problem(
        409,
        "transition-not-allowed",
        "Not allowed now",
        exc.reason,
        current_status=exc.current.value,
        allowed_actions=exc.allowed,
    )


@contextmanager
def answered_as_problems(referral_id: str) -> Iterator[None]:
    """A use case's refusal about ``referral_id``, raised inside, as the API's problem."""
    try:
        yield
    except NotFound:
        raise not_found(referral_id) from None
    except TransitionRefused as exc:
        raise refused(exc) from None
    except Invalid as exc:
        raise invalid(exc) from None
