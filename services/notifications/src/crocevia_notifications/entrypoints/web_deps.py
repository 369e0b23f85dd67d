"""What the notifications pages share: the staff member of the session, who may do what
(the API's own roles), and rendering a page with the error a use case answered."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse

from crocevia_common.auth import Principal, Role
from crocevia_common.problems import Problem
from crocevia_common.web.form_errors import problem_text, validation_errors
from crocevia_common.web.i18n import Translator, request_language
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import PageRefused, page_roles
from crocevia_notifications.domain.staff import Person
from crocevia_notifications.entrypoints.deps import ADMIN_ROLES, MANAGER_ROLES, views_of

Staff = Annotated[Principal, Depends(page_roles(Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN))]
PageAdmin = Annotated[Principal, Depends(page_roles(*ADMIN_ROLES))]
PageManager = Annotated[Principal, Depends(page_roles(*MANAGER_ROLES))]


async def person_of(request: Request, principal: Principal) -> Person:
    """The staff member of the session, as the API finds them."""
    person = await views_of(request).person(principal.agency, principal.sub)
    if person is None or not person.member.active:
        raise PageRefused(403, "refused.not-staff", sub=principal.sub, agency=principal.agency)
    return person


def translator(request: Request) -> Translator:
    return Translator(request_language(request))


def form_errors(request: Request, error: Problem | ValidationError) -> tuple[int, str | None, dict[str, str]]:
    """A refused form's status, its problem (said above the form) and its fields' errors."""
    t = translator(request)
    if isinstance(error, ValidationError):
        return 422, None, validation_errors(t, error)
    return error.status, problem_text(t, error.slug, error.detail), {}


def render(request: Request, name: str, principal: Principal, status: int = 200, **values: Any) -> HTMLResponse:
    """A settings page, with the tabs the person may open."""
    return pages_of(request).render(
        request,
        name,
        status=status,
        may_admin=principal.has(*ADMIN_ROLES),
        may_manage=principal.has(*MANAGER_ROLES),
        **values,
    )
