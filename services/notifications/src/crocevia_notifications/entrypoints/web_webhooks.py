"""An agency's webhooks as pages: its supervisors and admins see each endpoint and its
recent deliveries with their attempts (what the API shows, without the payload); its admins
register one (the secret shown once, on the answer), rotate its secret, disable and enable
it. Each form calls the API's own route with the session's person."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crocevia_common.auth import Principal
from crocevia_common.inputs import Cursor, IdText
from crocevia_common.problems import Problem
from crocevia_common.web.session import read_form
from crocevia_notifications.domain.routing import TOPICS
from crocevia_notifications.entrypoints.deps import notifier_of, views_of
from crocevia_notifications.entrypoints.http_webhooks import (
    create_webhook,
    delete_webhook,
    enable_endpoint,
    get_webhook,
    list_deliveries,
    list_webhooks,
    rotate_endpoint_secret,
)
from crocevia_notifications.entrypoints.schemas import WebhookCreated, WebhookIn
from crocevia_notifications.entrypoints.web_deps import PageAdmin, PageManager, form_errors, render

router = APIRouter(include_in_schema=False)
DELIVERIES_SHOWN = 30


async def _webhooks_page(request: Request, principal: Principal, status: int = 200, **values: Any) -> HTMLResponse:
    listed = await list_webhooks(principal, views_of(request))
    return render(
        request,
        "webhooks.html",
        principal,
        status=status,
        webhooks=listed,
        topics=TOPICS,
        **{"asked": {}, "problem": None, "errors": {}, "done": None, "secret": None, **values},
    )


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks_page(
    request: Request, principal: PageManager, done: Literal["disabled", "enabled"] | None = None
) -> HTMLResponse:
    return await _webhooks_page(request, principal, done=done)


@router.post("/webhooks", response_model=None)
async def add_webhook(request: Request, principal: PageAdmin) -> Response:
    form = await read_form(request)
    asked = {"url": form.get("url"), "event_types": form.getlist("event_types")}
    try:
        created = await create_webhook(WebhookIn.model_validate(asked), principal, notifier_of(request))
    except (Problem, ValidationError) as exc:
        status, problem, errors = form_errors(request, exc)
        return await _webhooks_page(request, principal, status, asked=asked, problem=problem, errors=errors)
    return await _shown_once(request, principal, created, "created")


@router.post("/webhooks/{webhook_id}/rotate", response_model=None)
async def rotate(webhook_id: IdText, request: Request, principal: PageAdmin) -> Response:
    await read_form(request)
    try:
        rotated = await rotate_endpoint_secret(webhook_id, principal, notifier_of(request), views_of(request))
    except Problem as exc:
        status, problem, _ = form_errors(request, exc)
        return await _webhooks_page(request, principal, status, problem=problem)
    return await _shown_once(request, principal, rotated, "rotated")


async def _shown_once(request: Request, principal: Principal, hook: WebhookCreated, done: str) -> HTMLResponse:
    """The list, with the endpoint's secret: this answer is the only place it shows."""
    return await _webhooks_page(request, principal, 201 if done == "created" else 200, done=done, secret=hook)


@router.post("/webhooks/{webhook_id}/disable", response_model=None)
async def disable(webhook_id: IdText, request: Request, principal: PageAdmin) -> Response:
    await read_form(request)
    try:
        await delete_webhook(webhook_id, principal, notifier_of(request), views_of(request))
    except Problem as exc:
        status, problem, _ = form_errors(request, exc)
        return await _webhooks_page(request, principal, status, problem=problem)
    return RedirectResponse("/ui/webhooks?done=disabled", status_code=303)


@router.post("/webhooks/{webhook_id}/enable", response_model=None)
async def enable(webhook_id: IdText, request: Request, principal: PageAdmin) -> Response:
    await read_form(request)
    try:
        await enable_endpoint(webhook_id, principal, notifier_of(request), views_of(request))
    except Problem as exc:
        status, problem, _ = form_errors(request, exc)
        return await _webhooks_page(request, principal, status, problem=problem)
    return RedirectResponse("/ui/webhooks?done=enabled", status_code=303)


@router.get("/webhooks/{webhook_id}", response_class=HTMLResponse)
async def deliveries_page(
    webhook_id: IdText, request: Request, principal: PageManager, cursor: Cursor | None = None
) -> HTMLResponse:
    views = views_of(request)
    try:
        hook = await get_webhook(webhook_id, principal, views)
        page = await list_deliveries(webhook_id, principal, views, limit=DELIVERIES_SHOWN, cursor=cursor)
    except Problem as exc:
        status, problem, _ = form_errors(request, exc)
        return await _webhooks_page(request, principal, status, problem=problem)
    return render(request, "webhook.html", principal, hook=hook, page=page, problem=None, errors={})
