"""Webhook endpoints of an agency: register (the secret is shown once), list, disable and
enable again, rotate the secret, and every delivery with its attempts."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.engine import RowMapping

from crocevia_common.auth import Principal
from crocevia_common.inputs import Cursor, IdText
from crocevia_common.problems import Problem
from crocevia_contracts.events import AgencyId
from crocevia_notifications.adapters import delivery_store, webhook_store
from crocevia_notifications.adapters.addresses import ForbiddenURL
from crocevia_notifications.entrypoints.deps import Admin, Context, Manager, administers, known_agency, no_agency
from crocevia_notifications.entrypoints.schemas import (
    AttemptOut,
    DeliveryOut,
    DeliveryPage,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
)
from crocevia_notifications.handlers.context import Notifier
from crocevia_notifications.handlers.webhooks import enable_webhook, register_webhook, rotate_secret

router = APIRouter(tags=["webhooks"])


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
        row = await register_webhook(ctx, agency=agency, url=body.url, event_types=body.event_types, by=principal.sub)
    except ForbiddenURL as exc:
        raise Problem(422, "forbidden-url", "URL not allowed", str(exc)) from None
    return WebhookCreated.model_validate(dict(row))


@router.get("/webhooks", response_model=list[WebhookOut], summary="The caller's agency's endpoints")
async def list_webhooks(principal: Manager, ctx: Context, agency: AgencyId | None = None) -> list[WebhookOut]:
    agency = agency or principal.agency
    if not administers(principal, agency):
        return []
    async with ctx.db.sessions() as session:
        return [WebhookOut.model_validate(dict(r)) for r in await webhook_store.of_agency(session, agency)]


async def _own_webhook(ctx: Notifier, principal: Principal, webhook_id: str) -> RowMapping:
    async with ctx.db.sessions() as session:
        row = await webhook_store.get(session, webhook_id)
    if row is None or not administers(principal, row["agency"]):
        raise Problem(404, "webhook-not-found", "No such webhook", f"no webhook {webhook_id} of yours")
    return row


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut, summary="One endpoint")
async def get_webhook(webhook_id: IdText, principal: Manager, ctx: Context) -> WebhookOut:
    return WebhookOut.model_validate(dict(await _own_webhook(ctx, principal, webhook_id)))


@router.delete("/webhooks/{webhook_id}", status_code=204, summary="Disable an endpoint (its history stays)")
async def delete_webhook(webhook_id: IdText, principal: Admin, ctx: Context) -> Response:
    await _own_webhook(ctx, principal, webhook_id)
    async with ctx.db.transaction() as session:
        await webhook_store.disable(session, webhook_id, ctx.clock(), f"disabled by {principal.sub}")
        await delivery_store.cancel_pending_of_webhook(session, webhook_id, "endpoint disabled")
    return Response(status_code=204)


@router.post(
    "/webhooks/{webhook_id}/enable",
    response_model=WebhookOut,
    summary="Turn a disabled endpoint (by an admin or by a 410) back on",
)
async def enable_endpoint(webhook_id: IdText, principal: Admin, ctx: Context) -> WebhookOut:
    endpoint = await _own_webhook(ctx, principal, webhook_id)
    try:
        row = await enable_webhook(ctx, endpoint)
    except ForbiddenURL as exc:
        raise Problem(422, "forbidden-url", "URL not allowed", str(exc)) from None
    return WebhookOut.model_validate(dict(row))


@router.post(
    "/webhooks/{webhook_id}/rotate-secret",
    response_model=WebhookCreated,
    summary="A new whsec_ secret, shown once; the previous one signs too until previous_secret_until",
)
async def rotate_endpoint_secret(webhook_id: IdText, principal: Admin, ctx: Context) -> WebhookCreated:
    await _own_webhook(ctx, principal, webhook_id)
    return WebhookCreated.model_validate(dict(await rotate_secret(ctx, webhook_id)))


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    summary="Every delivery to the endpoint, newest first, with each attempt",
)
async def list_deliveries(
    webhook_id: IdText,
    principal: Manager,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor | None = None,
) -> DeliveryPage:
    await _own_webhook(ctx, principal, webhook_id)
    async with ctx.db.sessions() as session:
        rows = await delivery_store.of_webhook(session, webhook_id, limit + 1, cursor)
        more = len(rows) > limit
        rows = rows[:limit]
        attempts = await delivery_store.attempts_of(session, [r["id"] for r in rows])
    items = [
        DeliveryOut.model_validate(
            {
                **dict(r),
                "payload": r["payload"] if isinstance(r["payload"], dict) else json.loads(r["payload"]),
                "history": [AttemptOut.model_validate(dict(a)) for a in attempts.get(r["id"], [])],
            }
        )
        for r in rows
    ]
    return DeliveryPage(items=items, next_cursor=rows[-1]["id"] if more and rows else None)
