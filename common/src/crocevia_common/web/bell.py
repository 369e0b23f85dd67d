"""The bell's live count, on every service: a Server-Sent Events stream of the signed-in
person's unread count, relayed from the notifications service.

The browser talks to the service it is on (same origin, the session stays in its HttpOnly
cookie); this relay calls the notifications API with the session's token (the provider's
access token, or the development token): ``GET /inbox`` for the count, ``GET /inbox/stream``
to hear of new items. Listening does not renew the session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from crocevia_common.web.pages import pages_of
from crocevia_common.web.session import session_of

router = APIRouter(include_in_schema=False)
OFF = "event: off\ndata: \n\n"


async def unread_count(client: httpx.AsyncClient) -> int | None:
    """The person's unread items; None when the notifications do not know them."""
    try:
        answer = await client.get("/inbox", params={"limit": 1})
    except httpx.HTTPError:
        return None
    if answer.status_code != 200:
        return None
    return int(answer.json().get("unread", 0))


async def relay(base_url: str, token: str) -> AsyncIterator[str]:
    """``unread`` events: the count now, then again whenever an item arrives."""
    timeout = httpx.Timeout(10.0, read=None)
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout, trust_env=False
    ) as client:
        count = await unread_count(client)
        if count is None:
            yield OFF
            return
        yield f"retry: 3000\nevent: unread\ndata: {count}\n\n"
        try:
            async with client.stream("GET", "/inbox/stream") as stream:
                if stream.status_code != 200:
                    return
                async for line in stream.aiter_lines():
                    # ": connected" closes the gap between the first count and the stream;
                    # an item event (its "event:" line) changes the count.
                    if line.startswith(": connected") or line.startswith("event: inbox-item"):
                        count = await unread_count(client)
                        if count is not None:
                            yield f"event: unread\ndata: {count}\n\n"
                    elif line.startswith(":"):
                        yield ": keep-alive\n\n"
        except httpx.HTTPError:
            return  # the browser reconnects after ``retry``


@router.get("/ui/bell/stream")
async def bell_stream(request: Request) -> StreamingResponse:
    base = pages_of(request).links().notifications
    session = session_of(request)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    if not base or session is None or session.bearer is None:
        return StreamingResponse(iter([OFF]), media_type="text/event-stream", headers=headers)
    return StreamingResponse(relay(base, session.bearer), media_type="text/event-stream", headers=headers)
