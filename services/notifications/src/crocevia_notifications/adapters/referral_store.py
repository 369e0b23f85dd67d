"""The referrals this service follows: public facts, status and each side's newest step;
and who each agency assigned them to."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_contracts.caseload import ReferralAssigned
from crocevia_contracts.lifecycle import Status
from crocevia_notifications.adapters.tables import assignments, from_row, referrals
from crocevia_notifications.domain.referral import Followed

c = referrals.c


def followed(row: RowMapping) -> Followed:
    return from_row(Followed, row, status=Status(row["status"]))


def _values(referral: Followed) -> dict[str, Any]:
    values = dataclasses.asdict(referral)
    del values["id"]
    return {**values, "status": referral.status.value}


class SqlReferrals:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, referral_id: str) -> Followed | None:
        # Locked on PostgreSQL: what is decided from it commits before anyone else reads it.
        found = await self.session.execute(select(referrals).where(c.id == referral_id).with_for_update())
        row = found.mappings().first()
        return followed(row) if row is not None else None

    async def add(self, referral: Followed, at: datetime) -> None:
        await self.session.execute(insert(referrals).values(id=referral.id, updated_at=at, **_values(referral)))

    async def save(self, referral: Followed, at: datetime) -> None:
        await self.session.execute(
            update(referrals).where(c.id == referral.id).values(updated_at=at, **_values(referral))
        )


class SqlAssignments:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def keep(self, assigned: ReferralAssigned, sequence: int, at: datetime) -> bool:
        a = assignments.c
        key = (a.referral_id == assigned.referral_id) & (a.agency == assigned.agency)
        found = (await self.session.execute(select(a.sequence).where(key).with_for_update())).first()
        values = {"assignee": assigned.assignee, "sequence": sequence, "assigned_at": at}
        if found is None:
            await self.session.execute(
                insert(assignments).values(referral_id=assigned.referral_id, agency=assigned.agency, **values)
            )
        elif found.sequence < sequence:
            await self.session.execute(update(assignments).where(key).values(**values))
        else:
            return False
        return True

    async def of(self, referral_id: str) -> dict[str, str]:
        a = assignments.c
        rows = await self.session.execute(select(a.agency, a.assignee).where(a.referral_id == referral_id))
        return {row.agency: row.assignee for row in rows}
