"""The shapes the node's API answers with: a referral (with its history, assignments and
why it waits for us), a page of referrals, and a pathway with its referrals. ``views.py``
and ``pathway_views.py`` fill them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from crocevia_contracts.events import PathwayRef
from crocevia_referrals.domain.personal import PathwayMember, Person
from crocevia_referrals.domain.waiting import Reason


class HistoryItem(BaseModel):
    event: str
    status: str
    by_agency: str
    by_user: str | None
    at: datetime
    details: dict[str, Any]
    note: str | None


class AssignmentItem(BaseModel):
    assignee: str
    previous: str | None
    by: str
    at: datetime


class Erasure(BaseModel):
    at: datetime
    reason: str


class WaitingFor(BaseModel):
    """Why a referral waits for this agency, and by when."""

    reasons: list[Reason]
    due: datetime | None
    due_state: str


class ReferralView(BaseModel):
    id: str
    direction: str
    sender_agency: str
    receiver_agency: str
    service_id: str
    domain: str | None
    priority: str
    status: str
    legal_basis: dict[str, Any]
    person: Person | None
    reason: str | None
    needs: str | None
    erased: Erasure | None
    consent_withdrawn_at: datetime | None
    previous_referral_id: str | None
    closed_at: datetime | None = Field(default=None, description="the sender closed the rejection")
    pathway: PathwayRef | None = Field(default=None, description="the pathway it belongs to, and who leads it")
    pathway_services: list[PathwayMember] = Field(
        default_factory=list, description="the pathway's other services, when the person agreed they be told"
    )
    created_at: datetime
    updated_at: datetime
    allowed_actions: list[str]
    business_status: str | None = Field(description="info-requested while a question waits for an answer")
    open_questions: dict[str, datetime] = Field(description="agency that owes an answer -> when it was asked")
    waiting: WaitingFor | None = Field(default=None, description="why it waits for us, by when; null: it does not")
    warnings: list[str] = Field(default_factory=list)
    assignee: str | None = Field(default=None, description="the staff member it is assigned to at this node")
    history: list[HistoryItem] | None = None
    assignments: list[AssignmentItem] | None = Field(default=None, description="who it was assigned to, here")


class ReferralPage(BaseModel):
    items: list[ReferralView]
    next_cursor: str | None


class PathwayView(BaseModel):
    id: str
    lead_agency: str
    person: Person | None = Field(description="the person or household referred (None once erased everywhere)")
    created_at: datetime
    referrals: list[ReferralView] = Field(description="its referrals, the oldest first, each with its status")


class PathwayList(BaseModel):
    items: list[PathwayView]
