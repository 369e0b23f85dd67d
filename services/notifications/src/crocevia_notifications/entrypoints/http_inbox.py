"""The in-app inbox of the caller: a page, marking read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crocevia_common.inputs import Cursor, RowId
from crocevia_common.problems import Problem
from crocevia_notifications.adapters import inbox_store
from crocevia_notifications.entrypoints.deps import Context, Person
from crocevia_notifications.entrypoints.schemas import InboxItem, InboxPage

router = APIRouter(tags=["inbox"])


@router.get("/inbox", response_model=InboxPage, summary="The caller's notifications, unread first")
async def get_inbox(
    person: Person,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor | None = None,
    unread: bool = False,
) -> InboxPage:
    try:
        async with ctx.db.sessions() as session:
            rows, next_cursor = await inbox_store.page(session, person["id"], limit, cursor, unread)
            count = await inbox_store.unread_count(session, person["id"])
    except (ValueError, TypeError):
        raise Problem(400, "invalid-cursor", "Invalid cursor", "use the next_cursor of a previous page") from None
    return InboxPage(items=[InboxItem.model_validate(dict(r)) for r in rows], next_cursor=next_cursor, unread=count)


@router.post("/inbox/{item_id}/read", response_model=InboxItem, summary="Mark one of the caller's items read")
async def read_item(item_id: RowId, person: Person, ctx: Context) -> InboxItem:
    async with ctx.db.transaction() as session:
        row = await inbox_store.mark_read(session, person["id"], item_id, ctx.clock())
    if row is None:
        raise Problem(404, "item-not-found", "No such item", f"no item {item_id} in your inbox")
    return InboxItem.model_validate(dict(row))
