"""Reading and writing the staff directory."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_notifications.adapters.tables import staff
from crocevia_notifications.domain.preferences import Preferences
from crocevia_notifications.domain.routing import StaffView
from crocevia_notifications.domain.staff import StaffMember


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


async def upsert(session: AsyncSession, agency: str, member: StaffMember) -> None:
    """Create or replace a person (safe when two replicas load the same file at once)."""
    now = datetime.now(UTC)
    values = _values(agency, member)
    dialect = session.get_bind().dialect.name
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = builder(staff).values(created_at=now, updated_at=now, **values)
    statement = statement.on_conflict_do_update(index_elements=["agency", "sub"], set_={**values, "updated_at": now})
    await session.execute(statement)


async def get(session: AsyncSession, agency: str, sub: str) -> RowMapping | None:
    found = await session.execute(select(staff).where(staff.c.agency == agency, staff.c.sub == sub))
    return found.mappings().first()


async def by_id(session: AsyncSession, person_id: int) -> RowMapping | None:
    found = await session.execute(select(staff).where(staff.c.id == person_id))
    return found.mappings().first()


async def of_agency(session: AsyncSession, agency: str) -> list[RowMapping]:
    rows = await session.execute(select(staff).where(staff.c.agency == agency).order_by(staff.c.sub))
    return list(rows.mappings())


async def change(session: AsyncSession, agency: str, sub: str, **values: Any) -> None:
    await session.execute(
        update(staff).where(staff.c.agency == agency, staff.c.sub == sub).values(updated_at=datetime.now(UTC), **values)
    )


async def views(session: AsyncSession, agencies: set[str]) -> dict[str, list[StaffView]]:
    """What routing needs of every person of ``agencies``."""
    rows = await session.execute(select(staff).where(staff.c.agency.in_(agencies)))
    found: dict[str, list[StaffView]] = {}
    for row in rows.mappings():
        found.setdefault(row["agency"], []).append(view(row))
    return found


def view(row: RowMapping) -> StaffView:
    return StaffView(
        id=row["id"],
        agency=row["agency"],
        sub=row["sub"],
        roles=frozenset(row["roles"]),
        services=frozenset(row["services"]),
        active=row["active"],
    )


def member(row: RowMapping) -> StaffMember:
    return StaffMember(
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
