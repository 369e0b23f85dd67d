"""What the routes share: the use-case context, the views, and the caller as a staff member."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crocevia_common.auth import Principal, Role, current_principal, require
from crocevia_common.problems import Problem
from crocevia_common.web.session import header_or_cookie
from crocevia_contracts.events import AgencyId
from crocevia_notifications.adapters.live import InboxBroadcast
from crocevia_notifications.domain.staff import Person
from crocevia_notifications.handlers.context import Notifier
from crocevia_notifications.views import Views


def notifier_of(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


def views_of(request: Request) -> Views:
    views: Views = request.app.state.views
    return views


def broadcast_of(request: Request) -> InboxBroadcast:
    broadcast: InboxBroadcast = request.app.state.inbox_broadcast
    return broadcast


async def current_person(principal: Annotated[Principal, Depends(current_principal)], request: Request) -> Person:
    """The staff member the token names; 403 when the directory does not know them or they
    are no longer active."""
    return await staff_person(views_of(request), principal)


async def streaming_person(principal: Annotated[Principal, Depends(header_or_cookie)], request: Request) -> Person:
    """The same, for an event stream: the token may also be the pages' cookie."""
    return await staff_person(views_of(request), principal)


async def staff_person(views: Views, principal: Principal) -> Person:
    person = await views.person(principal.agency, principal.sub)
    if person is None:
        raise Problem(
            403,
            "unknown-person",
            "Not in the staff directory",
            f"{principal.sub!r} is not on the staff of {principal.agency!r}",
        )
    if not person.member.active:
        raise Problem(403, "inactive-person", "Not active", f"{principal.sub!r} of {principal.agency!r} is not active")
    return person


Caller = Annotated[Person, Depends(current_person)]
StreamingCaller = Annotated[Person, Depends(streaming_person)]
Context = Annotated[Notifier, Depends(notifier_of)]
Reads = Annotated[Views, Depends(views_of)]
Broadcast = Annotated[InboxBroadcast, Depends(broadcast_of)]


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


# Who may change an agency's staff, subscriptions and webhooks, and who may read its
# webhooks and their deliveries: the API and the pages alike.
ADMIN_ROLES = (Role.ADMIN, Role.SYSTEM)
MANAGER_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.SYSTEM)
Admin = Annotated[Principal, Depends(require(*ADMIN_ROLES))]
Manager = Annotated[Principal, Depends(require(*MANAGER_ROLES))]


async def managed_agency(agency: AgencyId, principal: Admin) -> str:
    """The ``{agency}`` of the path, when the caller administers it; else 404."""
    if not administers(principal, agency):
        raise no_agency(agency)
    return agency


ManagedAgency = Annotated[str, Depends(managed_agency)]
