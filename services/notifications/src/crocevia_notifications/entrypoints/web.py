"""The inbox as a web page: a person's notifications, unread first, marked read with a
click, each linking to the referral on the person's own node; beside it, each person's
settings and the agency's staff, subscriptions and webhooks (``web_preferences``,
``web_staff``, ``web_webhooks``). They call the same route functions as the HTTP API, with
the person of the session cookie."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crocevia_common.auth import Role
from crocevia_common.inputs import Cursor, RowId
from crocevia_common.web import SignInChoices, mount_web
from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import read_form
from crocevia_notifications.entrypoints import web_preferences, web_staff, web_webhooks
from crocevia_notifications.entrypoints.deps import notifier_of, views_of
from crocevia_notifications.entrypoints.http_inbox import get_inbox, read_item
from crocevia_notifications.entrypoints.web_deps import Staff, person_of
from crocevia_notifications.settings import NotificationsSettings

TEMPLATES = Path(__file__).parent / "templates"
router = APIRouter(prefix="/ui", include_in_schema=False)
router.include_router(web_preferences.router)
router.include_router(web_staff.router)
router.include_router(web_webhooks.router)


@router.get("", include_in_schema=False)
async def home() -> Response:
    return RedirectResponse("/ui/inbox", status_code=303)


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(
    request: Request,
    principal: Staff,
    unread: bool = False,
    cursor: Cursor | None = None,
) -> HTMLResponse:
    person = await person_of(request, principal)
    page = await get_inbox(person, views_of(request), limit=30, cursor=cursor, unread=unread)
    return pages_of(request).render(
        request, "inbox.html", page=page, person=person, unread_only=unread, agency=principal.agency
    )


@router.post("/inbox/{item_id}/read", response_model=None)
async def mark_read(item_id: RowId, request: Request, principal: Staff) -> Response:
    await read_form(request)
    person = await person_of(request, principal)
    views = views_of(request)
    item = await read_item(item_id, person, notifier_of(request), views)
    if not request.headers.get("HX-Request"):
        return RedirectResponse("/ui/inbox", status_code=303)
    count = await views.unread(person.id)
    answer = pages_of(request).render(request, "_inbox_item.html", item=item, agency=principal.agency)
    answer.headers["HX-Trigger"] = json.dumps({"crocevia-unread": count})
    return answer


def install_web(app: FastAPI, settings: NotificationsSettings) -> None:
    """Serve the inbox and settings pages (and the shared sign-in, bell and static files)."""
    mount_web(
        app,
        settings,
        router=router,
        templates=TEMPLATES,
        title="Notifiche · Inbox",
        choices=SignInChoices(roles=(Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN), home="/ui/inbox"),
    )
