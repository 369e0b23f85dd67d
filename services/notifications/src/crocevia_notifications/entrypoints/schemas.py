"""The shapes the HTTP API takes and answers with."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from crocevia_common.inputs import SHORT_TEXT
from crocevia_contracts import Priority
from crocevia_contracts.events import AgencyId
from crocevia_notifications.domain.preferences import Preferences
from crocevia_notifications.domain.routing import TOPICS, Scope
from crocevia_notifications.domain.staff import STAFF_ROLES, StaffMember

# Lists in a request: event types, roles, priorities, services; a code in them is short.
MAX_ITEMS = 100
Code = Annotated[str, Field(max_length=40)]


class InboxItem(BaseModel):
    """A notification in the in-app inbox: public facts and a link, nothing about the person."""

    id: int
    kind: str
    event: str
    referral_id: str
    sender_agency: str
    receiver_agency: str
    service_id: str
    priority: str
    status: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class InboxPage(BaseModel):
    items: list[InboxItem]
    next_cursor: str | None
    unread: int


class StaffOut(StaffMember):
    agency: str


class StaffChange(BaseModel):
    """The fields of a person to change; those not given stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    language: str | None = Field(default=None, max_length=8)
    timezone: str | None = Field(default=None, max_length=64)
    roles: list[Code] | None = Field(default=None, max_length=10)
    services: list[Annotated[str, Field(max_length=SHORT_TEXT)]] | None = Field(default=None, max_length=MAX_ITEMS)
    active: bool | None = None
    preferences: Preferences | None = None


def _subset(value: list[str], allowed: tuple[str, ...] | list[str], what: str) -> list[str]:
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; {what} are: {', '.join(allowed)}")
    return sorted(set(value))


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[Code] = Field(min_length=1, max_length=MAX_ITEMS)
    event_types: list[Code] = Field(default_factory=list, max_length=MAX_ITEMS, description="empty: every event type")
    service_ids: list[Annotated[str, Field(min_length=1, max_length=SHORT_TEXT)]] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="empty: every service"
    )
    priorities: list[Code] = Field(default_factory=list, max_length=MAX_ITEMS, description="empty: every priority")
    scope: Scope = Scope.ACTING

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        return _subset(value, STAFF_ROLES, "roles")

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        return _subset(value, TOPICS, "event types")

    @field_validator("priorities")
    @classmethod
    def _priorities(cls, value: list[str]) -> list[str]:
        return _subset(value, [p.value for p in Priority], "priorities")


class SubscriptionOut(SubscriptionIn):
    id: int | None
    agency: str | None
    default: bool


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)
    event_types: list[Code] = Field(default_factory=list, max_length=MAX_ITEMS, description="empty: every event type")
    agency: AgencyId | None = Field(default=None, description="defaults to the caller's agency")

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        return _subset(value, TOPICS, "event types")


class WebhookOut(BaseModel):
    id: str
    agency: str
    url: str
    event_types: list[str] = Field(validation_alias=AliasChoices("event_types", "topics"))
    active: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    previous_secret_until: datetime | None = Field(
        default=None, description="after a rotation, the previous secret also signs until then"
    )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="whsec_...: shown once, keep it to verify signatures")


class AttemptOut(BaseModel):
    number: int
    at: datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: str = Field(description="the webhook-id header of every attempt")
    notice_id: str
    status: str
    attempts: int
    due_at: datetime
    sent_at: datetime | None
    last_error: str | None
    created_at: datetime
    payload: dict[str, Any]
    history: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
