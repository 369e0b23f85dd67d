"""What the routes share: the caller as a staff member, and the use-case context."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import RowMapping

from crocevia_common.auth import Principal, Role, current_principal, require
from crocevia_common.problems import Problem
from crocevia_common.web.session import header_or_cookie
from crocevia_contracts.events import AgencyId
from crocevia_notifications.adapters import staff_store
from crocevia_notifications.handlers.context import Notifier


def notifier_of(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


async def current_person(principal: Annotated[Principal, Depends(current_principal)], request: Request) -> RowMapping:
    """The staff member the token names; 403 when the directory does not know them or they
    are no longer active."""
    return await _person(principal, notifier_of(request))


async def streaming_person(principal: Annotated[Principal, Depends(header_or_cookie)], request: Request) -> RowMapping:
    """The same, for an event stream: the token may also be the pages' cookie."""
    return await _person(principal, notifier_of(request))


async def _person(principal: Principal, ctx: Notifier) -> RowMapping:
    async with ctx.db.sessions() as session:
        person = await staff_store.get(session, principal.agency, principal.sub)
    if person is None:
        raise Problem(
            403,
            "unknown-person",
            "Not in the staff directory",
            f"{principal.sub!r} is not on the staff of {principal.agency!r}",
        )
    if not person["active"]:
        raise Problem(403, "inactive-person", "Not active", f"{principal.sub!r} of {principal.agency!r} is not active")
    return person


Person = Annotated[RowMapping, Depends(current_person)]
StreamingPerson = Annotated[RowMapping, Depends(streaming_person)]
Context = Annotated[Notifier, Depends(notifier_of)]


async def known_agency(ctx: Notifier, agency: str) -> None:
    if not await ctx.directory.knows(agency):
        raise Problem(404, "unknown-agency", "No such agency", f"no agency {agency!r} in the directory")


def administers(principal: Principal, agency: str) -> bool:
    """Whether the caller may see and change ``agency``'s staff, subscriptions, webhooks and
    deliveries: its own agency only, whatever its roles (``system`` included)."""
    return principal.agency == agency


def no_agency(agency: str) -> Problem:
    """Another agency is answered as one the directory does not hold: nothing of it shows."""
    return Problem(404, "unknown-agency", "No such agency", f"no agency {agency!r} for you to manage")


Admin = Annotated[Principal, Depends(require(Role.ADMIN, Role.SYSTEM))]
Manager = Annotated[Principal, Depends(require(Role.ADMIN, Role.SUPERVISOR, Role.SYSTEM))]


async def managed_agency(agency: AgencyId, principal: Admin) -> str:
    """The ``{agency}`` of the path, when the caller administers it; else 404."""
    if not administers(principal, agency):
        raise no_agency(agency)
    return agency


ManagedAgency = Annotated[str, Depends(managed_agency)]
