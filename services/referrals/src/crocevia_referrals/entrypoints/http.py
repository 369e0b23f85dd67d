"""The node's HTTP API: routes that parse, call a use case (writes) or a view (reads), and
answer; a use case's refusal becomes a problem."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from crocevia_common.auth import Principal, Role, require
from crocevia_common.inputs import SHORT_TEXT, AgencyText, IdText
from crocevia_common.problems import Problem
from crocevia_contracts.directory import Capacity, Domain
from crocevia_referrals import pathway_views, views
from crocevia_referrals.domain.access_log import Channel, Purpose
from crocevia_referrals.domain.actions import STAFF_ACTIONS
from crocevia_referrals.domain.errors import Forbidden, Invalid, NotFound
from crocevia_referrals.entrypoints.deps import answered_as_problems, invalid, node_of, not_found, own_agency, reads_of
from crocevia_referrals.entrypoints.schemas import (
    ActionBody,
    AssignBody,
    CreatePathway,
    CreateReferral,
    RedirectBody,
    ReferralReads,
)
from crocevia_referrals.handlers.access_log import record_reads
from crocevia_referrals.handlers.acting import act
from crocevia_referrals.handlers.caseload import assign
from crocevia_referrals.handlers.pathways import open_pathway
from crocevia_referrals.handlers.sending import Idempotency, Sent, close_rejection, redirect, send_referral
from crocevia_referrals.view_models import PathwayList, PathwayView, ReferralPage, ReferralView

router = APIRouter()
Staff = Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR, Role.SYSTEM))]
Actor = Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR))]
IdempotencyKey = Annotated[str | None, Header(min_length=1, max_length=200)]
Assigner = Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN))]


async def _created(request: Request, sent: Sent) -> JSONResponse:
    warnings = [w.text for w in sent.warnings]
    if sent.referral is not None:  # as its transaction stored it: new, so never assigned or sent again
        found: ReferralView | None = views.view_of(sent.referral, with_history=True, warnings=warnings, assignments=[])
    else:
        found = await views.referral(reads_of(request), sent.referral_id, warnings)
    assert found is not None
    status = 200 if sent.replayed else 201
    location = {"Location": f"/referrals/{sent.referral_id}"}
    return JSONResponse(found.model_dump(mode="json"), status_code=status, headers=location)


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
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    own_agency(request, principal)
    idempotency = Idempotency(idempotency_key, body.digest()) if idempotency_key else None
    try:
        sent = await send_referral(node_of(request), principal, body.request(), idempotency)
    except Invalid as exc:
        raise invalid(exc) from None
    return await _created(request, sent)


@router.get("/referrals", response_model=ReferralPage, tags=["referrals"], summary="This agency's referrals")
async def list_referrals(principal: Staff, request: Request, search: Annotated[ReferralReads, Query()]) -> ReferralPage:
    own_agency(request, principal)
    reads = reads_of(request)
    try:
        flt = search.filter(reads, principal.sub)
    except ValueError as exc:
        raise Problem(422, "invalid-dates", "Invalid dates", str(exc)) from None
    try:
        page = await views.referrals(reads, flt, search.limit, search.cursor, node_of(request).clock())
    except (ValueError, TypeError):
        raise Problem(400, "invalid-cursor", "Invalid cursor", "use the next_cursor of a previous page") from None
    await record_reads(node_of(request), principal, views.with_personal(page.items), search.purpose, Channel.API)
    return page


@router.get(
    "/referrals/{referral_id}",
    response_model=ReferralView,
    tags=["referrals"],
    summary="One referral with its whole history",
)
async def get_referral(
    referral_id: IdText, principal: Staff, request: Request, purpose: Purpose = Purpose.CARE
) -> ReferralView:
    own_agency(request, principal, referral_id)
    found = await views.referral(reads_of(request), referral_id, now=node_of(request).clock())
    if found is None:
        raise not_found(referral_id)
    await record_reads(node_of(request), principal, views.with_personal([found]), purpose, Channel.API)
    return found


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
    own_agency(request, principal, referral_id)
    with answered_as_problems(referral_id):
        sent = await redirect(node_of(request), principal, referral_id, body.to_agency, body.service_id, body.priority)
    return await _created(request, sent)


@router.post(
    "/referrals/{referral_id}/assign",
    response_model=ReferralView,
    tags=["referrals"],
    summary="Assign a referral to a member of this agency's staff (kept at this node only)",
)
async def assign_referral(referral_id: IdText, body: AssignBody, principal: Assigner, request: Request) -> ReferralView:
    own_agency(request, principal, referral_id)
    try:
        await assign(node_of(request), principal, referral_id, body.assignee)
    except NotFound:
        raise not_found(referral_id) from None
    except Forbidden as exc:
        raise Problem(403, exc.slug, "Not yours to assign", exc.detail, field=exc.field) from None
    except Invalid as exc:
        raise invalid(exc) from None
    return await get_referral(referral_id, principal, request)  # the answer shows the details: a read


@router.post(
    "/referrals/{referral_id}/close",
    response_model=ReferralView,
    tags=["referrals"],
    summary="Close a rejected referral without sending it again: it waits for us no more",
)
async def close_referral(referral_id: IdText, principal: Actor, request: Request) -> ReferralView:
    own_agency(request, principal, referral_id)
    with answered_as_problems(referral_id):
        await close_rejection(node_of(request), referral_id)
    return await get_referral(referral_id, principal, request)


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
    if action not in STAFF_ACTIONS:
        raise Problem(404, "unknown-action", "No such action", f"actions: {', '.join(STAFF_ACTIONS)}")
    own_agency(request, principal, referral_id)
    with answered_as_problems(referral_id):
        await act(node_of(request), principal, referral_id, (body or ActionBody()).action(action))
    return await get_referral(referral_id, principal, request)


@router.get("/directory/services", tags=["directory"], summary="Search every agency's services")
async def search_services(
    request: Request,
    domain: Domain | None = None,
    language: Annotated[str | None, Query(max_length=SHORT_TEXT)] = None,
    capacity: Capacity | None = None,
    agency: AgencyText | None = None,
) -> list[dict[str, Any]]:
    return views.services(reads_of(request), domain=domain, language=language, capacity=capacity, agency=agency)


@router.get("/directory/agencies", tags=["directory"], summary="Every agency in the directory")
async def list_agencies(request: Request) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json") for e in reads_of(request).directory.all()]


@router.post(
    "/pathways",
    status_code=201,
    response_model=PathwayView,
    tags=["pathways"],
    summary="Refer one person or household to several services at once, as a pathway this agency leads",
)
async def create_pathway(
    body: CreatePathway,
    principal: Staff,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    own_agency(request, principal)
    idempotency = Idempotency(idempotency_key, body.digest()) if idempotency_key else None
    try:
        opened = await open_pathway(node_of(request), principal, body.request(), idempotency)
    except Invalid as exc:
        raise invalid(exc) from None
    found = await pathway_views.pathway(reads_of(request), opened.pathway_id)
    assert found is not None
    warnings = {sent.referral_id: [w.text for w in sent.warnings] for sent in opened.referrals}
    items = [item.model_copy(update={"warnings": warnings.get(item.id, [])}) for item in found.referrals]
    answer = found.model_copy(update={"referrals": items}).model_dump(mode="json")
    status = 200 if opened.replayed else 201
    return JSONResponse(answer, status_code=status, headers={"Location": f"/pathways/{opened.pathway_id}"})


@router.get("/pathways", response_model=PathwayList, tags=["pathways"], summary="The newest pathways this agency leads")
async def list_pathways(principal: Staff, request: Request, purpose: Purpose = Purpose.CARE) -> PathwayList:
    own_agency(request, principal)
    found = await pathway_views.pathways(reads_of(request))
    shown = [r for p in found.items for r in p.referrals]
    await record_reads(node_of(request), principal, views.with_personal(shown), purpose, Channel.API)
    return found


@router.get(
    "/pathways/{pathway_id}",
    response_model=PathwayView,
    tags=["pathways"],
    summary="A pathway this agency leads, with every referral's status",
)
async def get_pathway(
    pathway_id: IdText, principal: Staff, request: Request, purpose: Purpose = Purpose.CARE
) -> PathwayView:
    own_agency(request, principal)
    found = await pathway_views.pathway(reads_of(request), pathway_id)
    if found is None:
        raise Problem(404, "pathway-not-found", "No such pathway", f"this agency leads no pathway {pathway_id}")
    await record_reads(node_of(request), principal, views.with_personal(found.referrals), purpose, Channel.API)
    return found
