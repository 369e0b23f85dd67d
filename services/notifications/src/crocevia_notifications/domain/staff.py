"""A staff member of an agency, as the staff directory describes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from crocevia_contracts.directory import TimeZoneName
from crocevia_notifications.domain.preferences import Preferences
from crocevia_notifications.domain.routing import StaffView

STAFF_ROLES = ("operator", "supervisor", "admin")

Sub = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._@+-]+$")]
# Bounded before the zone database is asked (an overlong name is an OS error there).
Zone = Annotated[TimeZoneName, BeforeValidator(lambda v: _at_most(v, 64))]


def _at_most(value: object, length: int) -> object:
    if isinstance(value, str) and len(value) > length:
        raise ValueError(f"at most {length} characters")
    return value


class StaffMember(BaseModel):
    """One person: who they are to the network (``sub`` of their tokens), how to reach them,
    what they do. Holds nothing about the people referred."""

    model_config = ConfigDict(extra="forbid")

    sub: Sub
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    language: str = Field(default="it", pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$")
    timezone: Zone = "Europe/Rome"
    roles: list[str] = Field(default_factory=lambda: ["operator"], min_length=1, max_length=10)
    services: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=100, description="service ids handled; empty: all"
    )
    active: bool = True
    preferences: Preferences = Field(default_factory=Preferences)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(STAFF_ROLES))
        if unknown:
            raise ValueError(f"unknown roles {unknown}; roles are: {', '.join(STAFF_ROLES)}")
        return sorted(set(value))


@dataclass(frozen=True, slots=True)
class Person:
    """A staff member as this service holds them: its row id, their agency, who they are."""

    id: int
    agency: str
    member: StaffMember

    def view(self) -> StaffView:
        m = self.member
        return StaffView(self.id, self.agency, m.sub, frozenset(m.roles), frozenset(m.services), m.active)


class StaffFile(BaseModel):
    """An agency's staff directory file: ``{agency: <id>, staff: [...]}``."""

    model_config = ConfigDict(extra="forbid")

    agency: str
    staff: list[StaffMember]
