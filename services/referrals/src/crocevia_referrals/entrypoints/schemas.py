"""The HTTP request bodies of a node, each turned into its use case's input (the answers are
the views')."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crocevia_common.auth import MAX_SUB
from crocevia_common.inputs import SHORT_TEXT, AgencyText, Cursor, ReferralId, SubText, in_calendar
from crocevia_contracts import LegalBasis, Priority
from crocevia_contracts.events import AgencyId
from crocevia_contracts.lifecycle import Status
from crocevia_referrals import views
from crocevia_referrals.adapters.queries import ListFilter
from crocevia_referrals.domain.access_log import Purpose
from crocevia_referrals.domain.actions import ActionInput
from crocevia_referrals.domain.caseload import search_words
from crocevia_referrals.domain.pathways import MAX_SERVICES, PathwayRequest, PathwayService
from crocevia_referrals.domain.personal import ConsentRecord, Person, PersonalPart
from crocevia_referrals.domain.sending import ReferralRequest


def digest_of(body: BaseModel) -> str:
    """The SHA-256 of a request, to tell a replay from another request with its key."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def _in_calendar(basis: LegalBasisIn) -> LegalBasisIn:
    """Refuse, as the legal basis's error, a consent time out of the calendar."""
    for moment in (basis.captured_at, basis.expires_at):
        if moment is not None:
            in_calendar(moment)
    return basis


class LegalBasisIn(LegalBasis):
    """The legal basis as staff record it: the public basis, and the consent's scope and
    document reference, which travel sealed."""

    scope: str | None = Field(default=None, max_length=500)
    document_ref: str | None = Field(default=None, max_length=200)

    def public(self) -> LegalBasis:
        """The basis that travels in clear."""
        return LegalBasis.model_validate(self.model_dump(exclude={"scope", "document_ref"}))

    def personal(self, person: Person, reason: str, needs: str) -> PersonalPart:
        """What is sealed to the receiver: the person, why, and what the consent covers."""
        consent = ConsentRecord(scope=self.scope, document_ref=self.document_ref)
        recorded = consent if consent.scope or consent.document_ref else None
        return PersonalPart(person=person, reason=reason, needs=needs, consent=recorded)


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

    _dates_in_calendar = field_validator("legal_basis")(_in_calendar)

    def request(self) -> ReferralRequest:
        """The use case's input: the clear legal basis apart, the consent's free text sealed."""
        return ReferralRequest(
            to_agency=self.to_agency,
            service_id=self.service_id,
            priority=self.priority,
            legal_basis=self.legal_basis.public(),
            personal=self.legal_basis.personal(self.person, self.reason, self.needs),
            previous_referral_id=self.previous_referral_id,
        )

    def digest(self) -> str:
        return digest_of(self)


class PathwayServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_agency: AgencyId
    service_id: str = Field(min_length=1, max_length=100)
    priority: Priority = Priority.ROUTINE
    reason: str = Field(default="", max_length=2000, description="why this service; sealed to its agency only")


class CreatePathway(BaseModel):
    """Referrals to several services for one person or household, the person given once."""

    model_config = ConfigDict(extra="forbid")

    services: list[PathwayServiceIn] = Field(min_length=1, max_length=MAX_SERVICES)
    needs: str = Field(default="", max_length=10000)
    legal_basis: LegalBasisIn
    person: Person
    share_within_pathway: bool = Field(
        default=False,
        description="the person agreed that the pathway's services know of each other: each receiver is told "
        "the other services, sealed to it",
    )

    _dates_in_calendar = field_validator("legal_basis")(_in_calendar)

    def digest(self) -> str:
        return digest_of(self)

    def request(self) -> PathwayRequest:
        return PathwayRequest(
            services=[PathwayService(s.to_agency, s.service_id, s.priority, s.reason) for s in self.services],
            legal_basis=self.legal_basis.public(),
            personal=self.legal_basis.personal(self.person, "", self.needs),
            shared=self.share_within_pathway,
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

    def action(self, name: str) -> ActionInput:
        """The use case's input; the free text, whatever its field is called, is the note."""
        note = self.note or self.question or self.answer or self.reason
        return ActionInput(name, self.reason_code, self.outcome, self.suggested_agency, note)


class RedirectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_agency: AgencyId | None = Field(default=None, description="default: the agency the receiver suggested")
    service_id: str = Field(min_length=1, max_length=100)
    priority: Priority | None = None


class AssignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str = Field(
        min_length=1, max_length=MAX_SUB, pattern=r"^[A-Za-z0-9._@+-]+$", description="a staff member's id (sub)"
    )


class ReferralSearch(BaseModel):
    """What a list of this agency's referrals may be narrowed by (the API's query, the pages'
    search form)."""

    direction: Literal["incoming", "outgoing"] | None = None
    status: list[Status] = Field(default_factory=list, max_length=len(Status))
    counterpart: AgencyText | None = None
    service_id: str | None = Field(default=None, max_length=SHORT_TEXT)
    priority: Priority | None = None
    waiting_for_us: bool = False
    assignee: SubText | None = Field(default=None, description="a staff member's id, or `me`")
    person: str | None = Field(default=None, max_length=200, description="words of the person's names or contacts")
    created_from: date | None = Field(default=None, description="first day, in the agency's time zone")
    created_to: date | None = Field(default=None, description="last day, in the agency's time zone")
    include_closed: bool = Field(default=False, description="also rejected, completed, failed, cancelled ones")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Cursor | None = None

    def filter(self, reads: views.Reads, me: str) -> ListFilter:
        """The filter of the node's reads, ``me`` the caller's sub; raise ValueError for
        days out of the calendar or out of order."""
        created_from, created_before = views.created_between(reads, self.created_from, self.created_to)
        return ListFilter(
            direction=self.direction,
            statuses=self.status,
            counterpart=self.counterpart,
            service_id=self.service_id,
            priority=self.priority.value if self.priority else None,
            waiting_for_us=self.waiting_for_us,
            assignee=me if self.assignee == "me" else self.assignee,
            person_words=search_words(self.person or ""),
            created_from=created_from,
            created_before=created_before,
            # Open ones only, unless asked, or the statuses are chosen.
            include_closed=self.include_closed or bool(self.status) or self.waiting_for_us,
        )


class ReferralReads(ReferralSearch):
    """The API's list: the search, and why the personal details it shows are read (each
    referral shown with them is recorded in the access log)."""

    purpose: Purpose = Field(default=Purpose.CARE, description="why the details are read: care, audit, own-request")
