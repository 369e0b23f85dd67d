"""The in-app inbox of the caller: a page, marking read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crocevia_common.inputs import Cursor, RowId
from crocevia_common.problems import Problem
from crocevia_notifications.entrypoints.deps import Caller, Context, Reads
from crocevia_notifications.entrypoints.schemas import InboxItem, InboxPage
from crocevia_notifications.handlers.inbox import mark_read

router = APIRouter(tags=["inbox"])


@router.get("/inbox", response_model=InboxPage, summary="The caller's notifications, unread first")
async def get_inbox(
    person: Caller,
    views: Reads,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor | None = None,
    unread: bool = False,
) -> InboxPage:
    try:
        page = await views.inbox(person.id, limit, cursor, unread)
    except (ValueError, TypeError):
        raise Problem(400, "invalid-cursor", "Invalid cursor", "use the next_cursor of a previous page") from None
    return InboxPage(
        items=[InboxItem.model_validate(dict(r)) for r in page.items], next_cursor=page.next_cursor, unread=page.unread
    )


@router.post("/inbox/{item_id}/read", response_model=InboxItem, summary="Mark one of the caller's items read")
async def read_item(item_id: RowId, person: Caller, ctx: Context, views: Reads) -> InboxItem:
    row = await views.inbox_item(person.id, item_id) if await mark_read(ctx, person.id, item_id) else None
    if row is None:
        raise Problem(404, "item-not-found", "No such item", f"no item {item_id} in your inbox")
    return InboxItem.model_validate(dict(row))
