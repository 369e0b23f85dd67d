"""An agency's people and subscriptions: loading the staff files, the admin's changes, each
person's own preferences."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from crocevia_notifications.domain.routing import Subscription
from crocevia_notifications.domain.staff import StaffFile, StaffMember
from crocevia_notifications.handlers.context import Notifier

log = logging.getLogger(__name__)


async def load_staff(ctx: Notifier, files: Iterable[StaffFile]) -> int:
    """Create or update everyone the staff files list; return how many. The files are the
    operators' own configuration: an agency not (yet) in the directory is only warned of."""
    loaded = 0
    for staff_file in files:
        if not await ctx.directory.knows(staff_file.agency):
            log.warning("staff file of %s: no such agency in the directory yet", staff_file.agency)
        async with ctx.uow.transaction() as tx:
            for member in staff_file.staff:
                await tx.staff.upsert(staff_file.agency, member, ctx.clock())
        loaded += len(staff_file.staff)
    return loaded


async def save_member(ctx: Notifier, agency: str, member: StaffMember) -> bool:
    """Create or replace a person; True if they are new."""
    async with ctx.uow.transaction() as tx:
        existed = await tx.staff.get(agency, member.sub) is not None
        await tx.staff.upsert(agency, member, ctx.clock())
    return not existed


async def change_member(ctx: Notifier, agency: str, sub: str, changes: dict[str, Any]) -> StaffMember | None:
    """Apply ``changes`` to a person (validated as a whole); None if there is no such person.
    Raise ValidationError when the result is not a valid staff member."""
    async with ctx.uow.transaction() as tx:
        person = await tx.staff.get(agency, sub)
        if person is None:
            return None
        changed = StaffMember.model_validate({**person.member.model_dump(mode="json"), **changes})
        await tx.staff.upsert(agency, changed, ctx.clock())
    return changed


async def add_subscription(ctx: Notifier, subscription: Subscription) -> Subscription:
    """Add one of an agency's own subscriptions; it, with its id."""
    async with ctx.uow.transaction() as tx:
        new_id = await tx.subscriptions.add(subscription, ctx.clock())
    return replace(subscription, id=new_id)


async def remove_subscription(ctx: Notifier, agency: str, subscription_id: int) -> bool:
    """Remove one of the agency's own subscriptions (the defaults cannot be); False if it
    has no such subscription."""
    async with ctx.uow.transaction() as tx:
        return await tx.subscriptions.remove(agency, subscription_id)
