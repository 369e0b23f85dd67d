"""The agency's own services, kept current by its supervisors: ``PATCH /services/{id}`` and
the page ``/ui/services``. Everyone else reads them in the directory (``/directory/...``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crocevia_common.auth import Principal, Role, require
from crocevia_common.problems import Problem
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import PageRefused, page_roles, read_form
from crocevia_referrals.domain.errors import Invalid
from crocevia_referrals.domain.services import ServiceChange
from crocevia_referrals.entrypoints.deps import own_agency as api_own_agency
from crocevia_referrals.entrypoints.web.deps import own_agency
from crocevia_referrals.handlers.services import OwnServices

router = APIRouter()
Keeper = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]
PageKeeper = Annotated[Principal, Depends(page_roles(Role.SUPERVISOR, Role.ADMIN))]
ServiceId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*$")]


def own_services(request: Request) -> OwnServices:
    found: OwnServices = request.app.state.own_services
    return found


@router.get("/services", tags=["directory"], summary="This agency's services, as the directory shows them")
async def list_services(request: Request, principal: Keeper) -> list[dict[str, Any]]:
    api_own_agency(request, principal)
    return [s.model_dump(mode="json") for s in own_services(request).services()]


@router.patch(
    "/services/{service_id}",
    tags=["directory"],
    summary="Change a service's capacity, whether it takes referrals, or its status (supervisors)",
)
async def change_service(
    request: Request, principal: Keeper, service_id: ServiceId, body: ServiceChange
) -> dict[str, Any]:
    api_own_agency(request, principal)
    try:
        changed = await own_services(request).change(service_id, body, principal.sub)
    except Invalid as exc:  # not one of this agency's services
        raise Problem(404, exc.slug, "No such service", exc.detail) from None
    return changed.model_dump(mode="json")


@router.get("/ui/services", include_in_schema=False)
async def services_page(request: Request, principal: PageKeeper, done: str | None = None) -> HTMLResponse:
    own_agency(request, principal)
    return pages_of(request).render(request, "services.html", services=own_services(request).services(), done=done)


@router.post("/ui/services/{service_id}", include_in_schema=False, response_model=None)
async def change_service_page(request: Request, principal: PageKeeper, service_id: ServiceId) -> Response:
    own_agency(request, principal)
    form = await read_form(request)
    try:
        change = ServiceChange(
            capacity=form.get("capacity") or None,
            accepts_referrals=form.get("accepts_referrals") == "on",
            status=form.get("status") or None,
        )
        await own_services(request).change(service_id, change, principal.sub)
    except (ValidationError, Invalid):
        raise PageRefused(422, "refused.service-change", service=service_id) from None
    return RedirectResponse(f"/ui/services?done={service_id}", status_code=303)
