"""The node's HTTP API: thin routes that parse, call a use case and answer."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import RowMapping

from crocevia_common.auth import Principal, Role, require
from crocevia_common.inputs import SHORT_TEXT, AgencyText, Cursor, IdText
from crocevia_common.problems import Problem
from crocevia_contracts import Priority
from crocevia_contracts.directory import Capacity, Domain
from crocevia_contracts.lifecycle import (
    STEPS,
    Side,
    Status,
    TransitionRefused,
    allowed_actions,
)
from crocevia_referrals.adapters import repository
from crocevia_referrals.domain.referral import PersonalPart
from crocevia_referrals.entrypoints.schemas import (
    ActionBody,
    CreateReferral,
    Erasure,
    HistoryItem,
    RedirectBody,
    ReferralPage,
    ReferralView,
)
from crocevia_referrals.handlers.actions import Action, act
from crocevia_referrals.handlers.errors import Invalid, NotFound
from crocevia_referrals.handlers.node import Node
from crocevia_referrals.handlers.sending import redirect, send_referral

router = APIRouter()
Staff = Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR, Role.SYSTEM))]
Actor = Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR))]

# What waits for this agency: incoming referrals to decide or carry out, outgoing ones
# the receiver has asked about.
WAITING_FOR_US = {
    "incoming": [Status.RECEIVED.value, Status.ACCEPTED.value, Status.IN_PROGRESS.value, Status.ON_HOLD.value],
    "outgoing": [],
}


def node_of(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def _own_agency(node: Node, principal: Principal) -> None:
    if principal.agency != node.agency_id:
        raise Problem(
            403,
            "other-agency",
            "Not your agency's node",
            f"this node serves {node.agency_id}; your token is for {principal.agency}",
        )


def view(row: RowMapping, history: list[RowMapping] | None = None, warnings: list[str] | None = None) -> ReferralView:
    personal = PersonalPart.model_validate(row["personal"]) if row["personal"] else None
    # The consent's scope and document reference travel sealed, but read as part of the basis.
    consent = personal.consent.model_dump(exclude_none=True) if personal and personal.consent else {}
    side = Side.SENDER if row["direction"] == "outgoing" else Side.RECEIVER
    return ReferralView(
        id=row["id"],
        direction=row["direction"],
        sender_agency=row["sender_agency"],
        receiver_agency=row["receiver_agency"],
        service_id=row["service_id"],
        domain=row["domain"],
        priority=row["priority"],
        status=row["status"],
        legal_basis={**row["legal_basis"], **consent},
        person=personal.person if personal else None,
        reason=personal.reason if personal else None,
        needs=personal.needs if personal else None,
        erased=Erasure(at=row["erased_at"], reason=row["erasure_reason"]) if row["erased_at"] else None,
        consent_withdrawn_at=row["consent_withdrawn_at"],
        previous_referral_id=row["previous_referral_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        allowed_actions=allowed_actions(Status(row["status"]), side),
        warnings=warnings or [],
        history=[HistoryItem.model_validate(dict(h)) for h in history] if history is not None else None,
    )


def _invalid(exc: Invalid) -> Problem:
    extra: dict[str, Any] = {"field": exc.field} if exc.field else {}
    return Problem(422, exc.slug, "Cannot do that", exc.detail, **extra)


@router.post(
    "/referrals",
    status_code=201,
    response_model=ReferralView,
    tags=["referrals"],
    summary="Send a referral to another agency",
)
async def create_referral(
    body: CreateReferral,
    principal: Staff,
    request: Request,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> JSONResponse:
    node = node_of(request)
    _own_agency(node, principal)
    digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    new = body.new_referral(idempotency_key, digest)
    try:
        sent = await send_referral(node, principal, new)
    except Invalid as exc:
        if exc.slug == "idempotency-key-reused":
            raise Problem(409, exc.slug, "Idempotency-Key reused", exc.detail) from None
        if exc.slug == "idempotency-key-in-use":
            raise Problem(409, exc.slug, "Idempotency-Key in use", exc.detail) from None
        raise _invalid(exc) from None
    async with node.db.sessions() as session:
        row = await repository.get(session, sent.referral_id)
        history = await repository.timeline(session, sent.referral_id)
    assert row is not None
    body_out = view(row, history, sent.warnings).model_dump(mode="json")
    return JSONResponse(
        body_out, status_code=200 if sent.replayed else 201, headers={"Location": f"/referrals/{sent.referral_id}"}
    )


@router.get("/referrals", response_model=ReferralPage, tags=["referrals"], summary="This agency's referrals")
async def list_referrals(
    principal: Staff,
    request: Request,
    direction: Annotated[str | None, Query(pattern="^(incoming|outgoing)$")] = None,
    status: Annotated[list[Status] | None, Query()] = None,
    counterpart: AgencyText | None = None,
    service_id: Annotated[str | None, Query(max_length=SHORT_TEXT)] = None,
    priority: Priority | None = None,
    waiting_for_us: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor | None = None,
) -> ReferralPage:
    node = node_of(request)
    _own_agency(node, principal)
    flt = repository.ListFilter(
        direction=direction,
        statuses=[s.value for s in status or []],
        counterpart=counterpart,
        service_id=service_id,
        priority=priority.value if priority else None,
        waiting_statuses=WAITING_FOR_US if waiting_for_us else None,
    )
    try:
        async with node.db.sessions() as session:
            rows, next_cursor = await repository.search(session, flt, limit, cursor)
    except (ValueError, TypeError):
        raise Problem(400, "invalid-cursor", "Invalid cursor", "use the next_cursor of a previous page") from None
    return ReferralPage(items=[view(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/referrals/{referral_id}",
    response_model=ReferralView,
    tags=["referrals"],
    summary="One referral with its whole history",
)
async def get_referral(referral_id: IdText, principal: Staff, request: Request) -> ReferralView:
    node = node_of(request)
    async with node.db.sessions() as session:
        row = await repository.get(session, referral_id)
        if row is None or principal.agency != node.agency_id:
            raise Problem(404, "referral-not-found", "No such referral", f"no referral {referral_id} here")
        return view(row, await repository.timeline(session, referral_id))


@router.post(
    "/referrals/{referral_id}/redirect",
    status_code=201,
    response_model=ReferralView,
    tags=["referrals"],
    summary="Send a rejected referral to another agency, linked to the first",
)
async def redirect_referral(
    referral_id: IdText, body: RedirectBody, principal: Actor, request: Request
) -> JSONResponse:
    node = node_of(request)
    if principal.agency != node.agency_id:
        raise Problem(404, "referral-not-found", "No such referral", f"no referral {referral_id} here")
    try:
        sent = await redirect(node, principal, referral_id, body.to_agency, body.service_id, body.priority)
    except NotFound:
        raise Problem(404, "referral-not-found", "No such referral", f"no referral {referral_id} here") from None
    except Invalid as exc:
        raise _invalid(exc) from None
    async with node.db.sessions() as session:
        row = await repository.get(session, sent.referral_id)
        history = await repository.timeline(session, sent.referral_id)
    assert row is not None
    return JSONResponse(
        view(row, history, sent.warnings).model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/referrals/{sent.referral_id}"},
    )


@router.post(
    "/referrals/{referral_id}/{action}",
    response_model=ReferralView,
    tags=["referrals"],
    summary="Act on a referral (accept, reject, start, hold, resume, complete, fail, cancel, "
    "request-info, provide-info, withdraw-consent)",
)
async def act_on_referral(
    referral_id: IdText,
    action: Annotated[str, Path(max_length=SHORT_TEXT)],
    principal: Actor,
    request: Request,
    body: ActionBody | None = None,
) -> ReferralView:
    node = node_of(request)
    if action not in STEPS or action in ("receive", "erase"):
        raise Problem(404, "unknown-action", "No such action", f"actions: {', '.join(allowed_names())}")
    if principal.agency != node.agency_id:
        raise Problem(404, "referral-not-found", "No such referral", f"no referral {referral_id} here")
    body = body or ActionBody()
    note = body.note or body.question or body.answer or body.reason
    try:
        await act(
            node,
            principal,
            referral_id,
            Action(
                name=action,
                reason_code=body.reason_code,
                outcome=body.outcome,
                suggested_agency=body.suggested_agency,
                note=note,
            ),
        )
    except NotFound:
        raise Problem(404, "referral-not-found", "No such referral", f"no referral {referral_id} here") from None
    except TransitionRefused as exc:
        raise Problem(
            409,
            "transition-not-allowed",
            "Not allowed now",
            exc.reason,
            current_status=exc.current.value,
            allowed_actions=exc.allowed,
        ) from None
    except Invalid as exc:
        raise _invalid(exc) from None
    return await get_referral(referral_id, principal, request)


def allowed_names() -> list[str]:
    return [a for a in STEPS if a not in ("receive", "erase")]


@router.get("/directory/services", tags=["directory"], summary="Search every agency's services")
async def search_services(
    request: Request,
    domain: Domain | None = None,
    language: Annotated[str | None, Query(max_length=SHORT_TEXT)] = None,
    capacity: Capacity | None = None,
    agency: AgencyText | None = None,
) -> list[dict[str, Any]]:
    node = node_of(request)
    found = []
    for entry in node.directory.all():
        if agency and entry.organization.id != agency:
            continue
        for service in entry.services:
            if domain and service.domain is not domain:
                continue
            if language and language not in service.languages:
                continue
            if capacity and service.capacity is not capacity:
                continue
            found.append({"agency": entry.organization.model_dump(mode="json"), **service.model_dump(mode="json")})
    return found


@router.get("/directory/agencies", tags=["directory"], summary="Every agency in the directory")
async def list_agencies(request: Request) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json") for e in node_of(request).directory.all()]
