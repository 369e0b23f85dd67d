"""The staff directory: loading the agencies' files, and the admin's changes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from crocevia_notifications.adapters import staff_store
from crocevia_notifications.adapters.staff_files import load_staff_dir
from crocevia_notifications.domain.staff import StaffMember
from crocevia_notifications.handlers.context import Notifier

log = logging.getLogger(__name__)


async def load_staff_files(ctx: Notifier, directory: Path) -> int:
    """Create or update everyone the staff files list; return how many. The files are the
    operators' own configuration: an agency not (yet) in the directory is only warned of."""
    loaded = 0
    for staff_file in load_staff_dir(directory):
        if not await ctx.directory.knows(staff_file.agency):
            log.warning("staff file of %s: no such agency in the directory yet", staff_file.agency)
        async with ctx.db.transaction() as session:
            for member in staff_file.staff:
                await staff_store.upsert(session, staff_file.agency, member)
        loaded += len(staff_file.staff)
    return loaded


async def save_member(ctx: Notifier, agency: str, member: StaffMember) -> bool:
    """Create or replace a person; True if they are new."""
    async with ctx.db.transaction() as session:
        existed = await staff_store.get(session, agency, member.sub) is not None
        await staff_store.upsert(session, agency, member)
    return not existed


async def change_member(ctx: Notifier, agency: str, sub: str, changes: dict[str, Any]) -> StaffMember | None:
    """Apply ``changes`` to a person (validated as a whole); None if there is no such person.
    Raise ValidationError when the result is not a valid staff member."""
    async with ctx.db.transaction() as session:
        row = await staff_store.get(session, agency, sub)
        if row is None:
            return None
        current = staff_store.member(row).model_dump(mode="json")
        changed = StaffMember.model_validate({**current, **changes})
        await staff_store.upsert(session, agency, changed)
    return changed
