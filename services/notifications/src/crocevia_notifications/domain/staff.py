"""A staff member of an agency, as the staff directory describes them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crocevia_contracts.directory import TimeZoneName
from crocevia_notifications.domain.preferences import Preferences

STAFF_ROLES = ("operator", "supervisor", "admin")

Sub = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._@+-]+$")]


class StaffMember(BaseModel):
    """One person: who they are to the network (``sub`` of their tokens), how to reach them,
    what they do. Holds nothing about the people referred."""

    model_config = ConfigDict(extra="forbid")

    sub: Sub
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    language: str = Field(default="it", pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$")
    timezone: TimeZoneName = "Europe/Rome"
    roles: list[str] = Field(default_factory=lambda: ["operator"], min_length=1)
    services: list[str] = Field(default_factory=list, description="service ids handled; empty: all")
    active: bool = True
    preferences: Preferences = Field(default_factory=Preferences)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(STAFF_ROLES))
        if unknown:
            raise ValueError(f"unknown roles {unknown}; roles are: {', '.join(STAFF_ROLES)}")
        return sorted(set(value))
