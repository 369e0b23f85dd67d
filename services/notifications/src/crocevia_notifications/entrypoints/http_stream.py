"""``GET /inbox/stream``: the caller's new inbox items, live, as Server-Sent Events.

The token comes in the ``Authorization`` header or, for a browser's EventSource (which
cannot set headers), the pages' cookie; never in the URL. Each item is an ``inbox-item``
event whose ``id`` is the item id; a client reconnecting with ``Last-Event-ID`` gets what
it missed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from crocevia_common.inputs import decimal_id
from crocevia_common.problems import Problem
from crocevia_notifications.adapters.live import InboxBroadcast
from crocevia_notifications.entrypoints.deps import Broadcast, Context, Reads, StreamingCaller
from crocevia_notifications.entrypoints.schemas import InboxItem
from crocevia_notifications.handlers.context import Notifier
from crocevia_notifications.views import Views

router = APIRouter(tags=["inbox"])

# How far back a live reader looks for items committed after others with higher ids.
LOOK_BACK = timedelta(seconds=60)


async def _events(
    request: Request, ctx: Notifier, views: Views, broadcast: InboxBroadcast, person_id: int, last_id: int | None
) -> AsyncIterator[str]:
    settings = ctx.settings
    last_id, known = await views.fresh_items(person_id, last_id, ctx.clock() - LOOK_BACK)
    sent = {row["id"]: row["created_at"] for row in known if row["id"] <= last_id}  # the client has these
    yield f"retry: 2000\n: connected, after item {last_id}\n\n"
    quiet_since = time.monotonic()
    while not await request.is_disconnected():
        ticket = broadcast.signal.ticket()
        _, fresh = await views.fresh_items(person_id, last_id, ctx.clock() - LOOK_BACK)
        rows = [r for r in fresh if r["id"] not in sent]
        for row in rows:
            item = InboxItem.model_validate(dict(row))
            yield f"id: {item.id}\nevent: inbox-item\ndata: {item.model_dump_json()}\n\n"
            sent[item.id] = row["created_at"]
            last_id = max(last_id, item.id)
            quiet_since = time.monotonic()
        if len(sent) > 1000:
            sent = {k: v for k, v in sent.items() if k >= last_id - 1000}
        if rows:
            continue
        if time.monotonic() - quiet_since >= settings.inbox_stream_keepalive_seconds:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        wait = min(settings.inbox_stream_poll_seconds, settings.inbox_stream_keepalive_seconds)
        await broadcast.signal.wait(ticket, wait)


@router.get(
    "/inbox/stream",
    summary="New inbox items as Server-Sent Events (token in the header, or the pages' cookie)",
    response_class=StreamingResponse,
)
async def stream_inbox(
    request: Request,
    person: StreamingCaller,
    ctx: Context,
    views: Reads,
    broadcast: Broadcast,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=100)] = None,
) -> StreamingResponse:
    last_id = decimal_id(last_event_id) if last_event_id else None
    if last_event_id and last_id is None:
        raise Problem(
            400, "invalid-last-event-id", "Invalid Last-Event-ID", "send the id of an inbox-item event, or none"
        )
    return StreamingResponse(
        _events(request, ctx, views, broadcast, person.id, last_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
