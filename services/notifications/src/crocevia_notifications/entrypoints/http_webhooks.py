"""Webhook endpoints of an agency: register (the secret is shown once), list, disable and
enable again, rotate the secret, and every delivery with its attempts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Response

from crocevia_common.auth import Principal
from crocevia_common.inputs import Cursor, IdText
from crocevia_common.problems import Problem
from crocevia_contracts.events import AgencyId
from crocevia_notifications.domain.webhooks import Endpoint, ForbiddenURL
from crocevia_notifications.entrypoints.deps import (
    Admin,
    Context,
    Manager,
    Reads,
    administers,
    known_agency,
    no_agency,
)
from crocevia_notifications.entrypoints.schemas import (
    AttemptOut,
    DeliveryOut,
    DeliveryPage,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
)
from crocevia_notifications.handlers.webhooks import disable_webhook, enable_webhook, register_webhook, rotate_secret
from crocevia_notifications.views import Views

router = APIRouter(tags=["webhooks"])


def _no_webhook(webhook_id: str) -> Problem:
    return Problem(404, "webhook-not-found", "No such webhook", f"no webhook {webhook_id} of yours")


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    summary="Register an endpoint for an agency; answers its whsec_ secret once",
)
async def create_webhook(body: WebhookIn, principal: Admin, ctx: Context) -> WebhookCreated:
    agency = body.agency or principal.agency
    if not administers(principal, agency):
        raise no_agency(agency)
    await known_agency(ctx, agency)
    try:
        endpoint = await register_webhook(
            ctx, agency=agency, url=body.url, event_types=body.event_types, by=principal.sub
        )
    except ForbiddenURL as exc:
        raise Problem(422, "forbidden-url", "URL not allowed", str(exc)) from None
    return WebhookCreated.model_validate(asdict(endpoint))


@router.get("/webhooks", response_model=list[WebhookOut], summary="The caller's agency's endpoints")
async def list_webhooks(principal: Manager, views: Reads, agency: AgencyId | None = None) -> list[WebhookOut]:
    agency = agency or principal.agency
    if not administers(principal, agency):
        return []
    return [WebhookOut.model_validate(asdict(e)) for e in await views.webhooks_of(agency)]


async def _own_webhook(views: Views, principal: Principal, webhook_id: str) -> Endpoint:
    endpoint = await views.webhook(webhook_id)
    if endpoint is None or not administers(principal, endpoint.agency):
        raise _no_webhook(webhook_id)
    return endpoint


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut, summary="One endpoint")
async def get_webhook(webhook_id: IdText, principal: Manager, views: Reads) -> WebhookOut:
    return WebhookOut.model_validate(asdict(await _own_webhook(views, principal, webhook_id)))


@router.delete("/webhooks/{webhook_id}", status_code=204, summary="Disable an endpoint (its history stays)")
async def delete_webhook(webhook_id: IdText, principal: Admin, ctx: Context, views: Reads) -> Response:
    await _own_webhook(views, principal, webhook_id)
    await disable_webhook(ctx, webhook_id, by=principal.sub)
    return Response(status_code=204)


@router.post(
    "/webhooks/{webhook_id}/enable",
    response_model=WebhookOut,
    summary="Turn a disabled endpoint (by an admin or by a 410) back on",
)
async def enable_endpoint(webhook_id: IdText, principal: Admin, ctx: Context, views: Reads) -> WebhookOut:
    endpoint = await _own_webhook(views, principal, webhook_id)
    try:
        enabled = await enable_webhook(ctx, endpoint)
    except ForbiddenURL as exc:
        raise Problem(422, "forbidden-url", "URL not allowed", str(exc)) from None
    if enabled is None:
        raise _no_webhook(webhook_id)
    return WebhookOut.model_validate(asdict(enabled))


@router.post(
    "/webhooks/{webhook_id}/rotate-secret",
    response_model=WebhookCreated,
    summary="A new whsec_ secret, shown once; the previous one signs too until previous_secret_until",
)
async def rotate_endpoint_secret(webhook_id: IdText, principal: Admin, ctx: Context, views: Reads) -> WebhookCreated:
    await _own_webhook(views, principal, webhook_id)
    rotated = await rotate_secret(ctx, webhook_id)
    if rotated is None:
        raise _no_webhook(webhook_id)
    return WebhookCreated.model_validate(asdict(rotated))


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    summary="Every delivery to the endpoint, newest first, with each attempt",
)
async def list_deliveries(
    webhook_id: IdText,
    principal: Manager,
    views: Reads,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor | None = None,
) -> DeliveryPage:
    await _own_webhook(views, principal, webhook_id)
    page = await views.deliveries_of(webhook_id, limit, cursor)
    items = [
        DeliveryOut.model_validate({**dict(row), "history": [AttemptOut.model_validate(dict(a)) for a in attempts]})
        for row, attempts in page.items
    ]
    return DeliveryPage(items=items, next_cursor=page.next_cursor)
