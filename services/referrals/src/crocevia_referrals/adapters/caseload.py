"""The node's caseload at rest: assignments in their tables, and the staff directory files
the node reads to know who may be assigned."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.web.signin import staff_people
from crocevia_referrals.adapters.tables import assignments, referrals
from crocevia_referrals.domain.caseload import Assignment


class SqlAssignments:
    """The assignments of one transaction."""

    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def record(self, assignment: Assignment) -> None:
        a = assignment
        await self.session.execute(update(referrals).where(referrals.c.id == a.referral_id).values(assignee=a.assignee))
        await self.session.execute(
            insert(assignments).values(
                referral_id=a.referral_id, assignee=a.assignee, previous=a.previous, assigned_by=a.by, at=a.at
            )
        )


class StaffFiles:
    """The staff directory (``CROCEVIA_STAFF_DIR``: one YAML file per agency), read at each
    call so that a change to a file counts at once."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def members(self, agency_id: str) -> frozenset[str]:
        return frozenset(person.sub for person in staff_people(self.directory).get(agency_id, []))
