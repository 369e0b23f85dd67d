"""A person's in-app inbox: marking an item read."""

from __future__ import annotations

from crocevia_notifications.handlers.context import Notifier


async def mark_read(ctx: Notifier, person_id: int, item_id: int) -> bool:
    """Mark one of the person's items read (a second time keeps the first time); False when
    they have no such item."""
    async with ctx.uow.transaction() as tx:
        return await tx.items.mark_read(person_id, item_id, ctx.clock())
