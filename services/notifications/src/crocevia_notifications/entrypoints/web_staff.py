"""An agency's staff and subscriptions as pages, for its admins (the API's roles): add a
person, deactivate or reactivate one, add or remove a subscription. Each form calls the
API's own route with the session's person."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crocevia_common.auth import Principal
from crocevia_common.inputs import RowId, SubText
from crocevia_common.problems import Problem
from crocevia_common.web.session import read_form
from crocevia_contracts import Priority
from crocevia_notifications.domain.routing import TOPICS, Scope
from crocevia_notifications.domain.staff import STAFF_ROLES, StaffMember
from crocevia_notifications.entrypoints.deps import notifier_of, views_of
from crocevia_notifications.entrypoints.http_staff import (
    add_subscription,
    list_staff,
    list_subscriptions,
    patch_staff,
    put_staff,
    remove_subscription,
)
from crocevia_notifications.entrypoints.schemas import StaffChange, SubscriptionIn
from crocevia_notifications.entrypoints.web_deps import PageAdmin, form_errors, render

router = APIRouter(include_in_schema=False)


async def _staff_page(request: Request, principal: Principal, status: int = 200, **values: Any) -> HTMLResponse:
    values.setdefault("asked", {"roles": ["operator"], "language": "it"})
    staff = await list_staff(principal.agency, notifier_of(request), views_of(request))
    return render(
        request,
        "staff.html",
        principal,
        status=status,
        staff=staff,
        roles=STAFF_ROLES,
        **{"problem": None, "errors": {}, "done": None, **values},
    )


@router.get("/staff", response_class=HTMLResponse)
async def staff_page(
    request: Request, principal: PageAdmin, done: Literal["added", "active", "inactive"] | None = None
) -> HTMLResponse:
    return await _staff_page(request, principal, done=done)


@router.post("/staff", response_model=None)
async def add_person(request: Request, principal: PageAdmin) -> Response:
    form = await read_form(request)
    asked = {
        "sub": form.get("sub"),
        "name": form.get("name"),
        "email": form.optional("email"),
        "language": form.get("language") or "it",
        "roles": form.getlist("roles"),
    }
    try:
        member = StaffMember.model_validate(asked)
        if await views_of(request).person(principal.agency, member.sub) is not None:
            raise Problem(409, "person-exists", "Already on the staff", f"{member.sub!r} is already on the staff")
        await put_staff(principal.agency, member.sub, member, notifier_of(request), Response())
    except (Problem, ValidationError) as exc:
        status, problem, errors = form_errors(request, exc)
        return await _staff_page(request, principal, status, asked=asked, problem=problem, errors=errors)
    return RedirectResponse("/ui/staff?done=added", status_code=303)


@router.post("/staff/{sub}/active", response_model=None)
async def set_active(sub: SubText, request: Request, principal: PageAdmin) -> Response:
    form = await read_form(request)
    try:
        change = StaffChange.model_validate({"active": form.get("active")})
        await patch_staff(principal.agency, sub, change, notifier_of(request))
    except (Problem, ValidationError) as exc:
        status, problem, errors = form_errors(request, exc)
        return await _staff_page(request, principal, status, problem=problem, errors=errors)
    return RedirectResponse(f"/ui/staff?done={'active' if change.active else 'inactive'}", status_code=303)


async def _subscriptions_page(request: Request, principal: Principal, status: int = 200, **values: Any) -> HTMLResponse:
    listed = await list_subscriptions(principal.agency, notifier_of(request), views_of(request))
    return render(
        request,
        "subscriptions.html",
        principal,
        status=status,
        subscriptions=listed,
        roles=STAFF_ROLES,
        topics=TOPICS,
        priorities=[p.value for p in Priority],
        scopes=[s.value for s in Scope],
        **{"asked": {}, "problem": None, "errors": {}, "done": None, **values},
    )


@router.get("/subscriptions", response_class=HTMLResponse)
async def subscriptions_page(
    request: Request, principal: PageAdmin, done: Literal["added", "removed"] | None = None
) -> HTMLResponse:
    return await _subscriptions_page(request, principal, done=done)


@router.post("/subscriptions", response_model=None)
async def add_subscription_from_page(request: Request, principal: PageAdmin) -> Response:
    form = await read_form(request)
    asked = {
        "roles": form.getlist("roles"),
        "event_types": form.getlist("event_types"),
        "service_ids": [s.strip() for s in form.get("service_ids").split(",") if s.strip()],
        "priorities": form.getlist("priorities"),
        "scope": form.get("scope") or Scope.ACTING.value,
    }
    try:
        body = SubscriptionIn.model_validate(asked)
        await add_subscription(principal.agency, body, notifier_of(request))
    except (Problem, ValidationError) as exc:
        status, problem, errors = form_errors(request, exc)
        return await _subscriptions_page(request, principal, status, asked=asked, problem=problem, errors=errors)
    return RedirectResponse("/ui/subscriptions?done=added", status_code=303)


@router.post("/subscriptions/{subscription_id}/remove", response_model=None)
async def remove_subscription_from_page(subscription_id: RowId, request: Request, principal: PageAdmin) -> Response:
    await read_form(request)
    try:
        await remove_subscription(principal.agency, subscription_id, notifier_of(request))
    except Problem as exc:
        status, problem, _ = form_errors(request, exc)
        return await _subscriptions_page(request, principal, status, problem=problem)
    return RedirectResponse("/ui/subscriptions?done=removed", status_code=303)
