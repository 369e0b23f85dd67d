"""Reading and writing the staff directory."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.db import upsert
from crocevia_common.statements import execute
from crocevia_notifications.adapters.read_once import ReadOnce
from crocevia_notifications.adapters.tables import staff
from crocevia_notifications.domain.preferences import Preferences
from crocevia_notifications.domain.staff import Person, StaffMember

c = staff.c
_OF_AGENCIES = select(staff).where(c.agency.in_(bindparam("agencies", expanding=True))).order_by(c.agency, c.sub)


def _values(agency: str, member: StaffMember) -> dict[str, Any]:
    return {
        "agency": agency,
        "sub": member.sub,
        "name": member.name,
        "email": member.email,
        "language": member.language,
        "timezone": member.timezone,
        "roles": member.roles,
        "services": member.services,
        "active": member.active,
        "preferences": member.preferences.model_dump(mode="json"),
    }


def person(row: Mapping[Any, Any]) -> Person:
    member = StaffMember(
        sub=row["sub"],
        name=row["name"],
        email=row["email"],
        language=row["language"],
        timezone=row["timezone"],
        roles=list(row["roles"]),
        services=list(row["services"]),
        active=row["active"],
        preferences=Preferences.model_validate(row["preferences"]),
    )
    return Person(id=row["id"], agency=row["agency"], member=member)


class SqlStaff:
    def __init__(self, session: AsyncConnection) -> None:
        self.session = session
        self._of_agencies: ReadOnce[Person] = ReadOnce(lambda p: p.agency, lambda p: (p.agency, p.member.sub))

    async def upsert(self, agency: str, member: StaffMember, at: datetime) -> None:
        """Create or replace a person (safe when two replicas load the same file at once)."""
        self._of_agencies.forget()
        values = _values(agency, member)
        statement = upsert(self.session, staff).values(created_at=at, updated_at=at, **values)
        statement = statement.on_conflict_do_update(index_elements=["agency", "sub"], set_={**values, "updated_at": at})
        await self.session.execute(statement)

    async def get(self, agency: str, sub: str) -> Person | None:
        found = await self.session.execute(select(staff).where(c.agency == agency, c.sub == sub))
        row = found.mappings().first()
        return person(row) if row is not None else None

    async def by_id(self, person_id: int) -> Person | None:
        found = await self.session.execute(select(staff).where(c.id == person_id))
        row = found.mappings().first()
        return person(row) if row is not None else None

    async def of_agencies(self, agencies: Collection[str]) -> list[Person]:
        return await self._of_agencies.get(agencies, self._read_of_agencies)

    async def _read_of_agencies(self, agencies: list[str]) -> list[Person]:
        rows = await execute(self.session, _OF_AGENCIES, {"agencies": agencies})
        return [person(row) for row in rows.mappings()]
