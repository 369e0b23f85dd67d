"""The HTTP request and response bodies of a node."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crocevia_common.inputs import ReferralId, in_calendar
from crocevia_contracts import LegalBasis, Priority
from crocevia_contracts.events import AgencyId
from crocevia_referrals.domain.referral import ConsentRecord, Person, PersonalPart
from crocevia_referrals.handlers.sending import NewReferral


class LegalBasisIn(LegalBasis):
    """The legal basis as staff record it: the public basis, and the consent's scope and
    document reference, which travel sealed."""

    scope: str | None = Field(default=None, max_length=500)
    document_ref: str | None = Field(default=None, max_length=200)


class CreateReferral(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_agency: AgencyId
    service_id: str = Field(min_length=1, max_length=100)
    priority: Priority = Priority.ROUTINE
    reason: str = Field(default="", max_length=2000)
    needs: str = Field(default="", max_length=10000)
    legal_basis: LegalBasisIn
    person: Person
    previous_referral_id: ReferralId | None = None

    @field_validator("legal_basis")
    @classmethod
    def _dates_in_calendar(cls, basis: LegalBasis) -> LegalBasis:
        for moment in (basis.captured_at, basis.expires_at):
            if moment is not None:
                in_calendar(moment)
        return basis

    def new_referral(self, idempotency_key: str | None, request_sha256: str) -> NewReferral:
        """The use case's input: the clear legal basis apart, the consent's free text sealed."""
        basis = self.legal_basis
        consent = ConsentRecord(scope=basis.scope, document_ref=basis.document_ref)
        return NewReferral(
            to_agency=self.to_agency,
            service_id=self.service_id,
            priority=self.priority,
            legal_basis=LegalBasis.model_validate(basis.model_dump(exclude={"scope", "document_ref"})),
            personal=PersonalPart(
                person=self.person,
                reason=self.reason,
                needs=self.needs,
                consent=consent if consent.scope or consent.document_ref else None,
            ),
            previous_referral_id=self.previous_referral_id,
            idempotency_key=idempotency_key,
            request_sha256=request_sha256,
        )


class ActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: str | None = Field(default=None, max_length=40)
    outcome: str | None = Field(default=None, max_length=40)
    suggested_agency: AgencyId | None = None
    note: str | None = Field(default=None, max_length=10000, description="free text, sealed to the other party")
    question: str | None = Field(default=None, max_length=10000)
    answer: str | None = Field(default=None, max_length=10000)
    reason: str | None = Field(default=None, max_length=10000, description="free-text reason (fail, cancel)")


class RedirectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_agency: AgencyId | None = Field(default=None, description="default: the agency the receiver suggested")
    service_id: str = Field(min_length=1, max_length=100)
    priority: Priority | None = None


class HistoryItem(BaseModel):
    event: str
    status: str
    by_agency: str
    by_user: str | None
    at: datetime
    details: dict[str, Any]
    note: str | None


class Erasure(BaseModel):
    at: datetime
    reason: str


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
    created_at: datetime
    updated_at: datetime
    allowed_actions: list[str]
    warnings: list[str] = Field(default_factory=list)
    history: list[HistoryItem] | None = None

    @property
    def allows_redirect(self) -> bool:
        """A rejected outgoing referral whose details are still here may be sent again."""
        return self.direction == "outgoing" and self.status == "rejected" and self.person is not None


class ReferralPage(BaseModel):
    items: list[ReferralView]
    next_cursor: str | None
