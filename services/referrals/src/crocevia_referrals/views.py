"""What the node's API and pages read, in one place: its referrals (a page of them, one with
its history, what needs us and why, each with what is due by the directory's response
targets, and which of those shown hold personal details) and the directory's services. The
access log's reads are in ``access_views``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from crocevia_common.inputs import in_calendar
from crocevia_contracts.directory import AgencyEntry, Capacity, Domain, ServiceTarget, WorkingCalendar
from crocevia_contracts.lifecycle import Side
from crocevia_referrals.adapters.queries import ListFilter
from crocevia_referrals.domain.actions import ActionNeeds, needs_of
from crocevia_referrals.domain.caseload import Assignment
from crocevia_referrals.domain.due import Due, answer_due, due
from crocevia_referrals.domain.questions import business_status
from crocevia_referrals.domain.referral import DIRECTIONS, Referral
from crocevia_referrals.domain.waiting import Reason, reasons
from crocevia_referrals.view_models import (
    AssignmentItem,
    Erasure,
    HistoryItem,
    ReferralPage,
    ReferralView,
    WaitingFor,
)

NEEDS_US_WAITING, NEEDS_US_SENT = 200, 50


class Queries(Protocol):
    async def one(self, referral_id: str) -> Referral | None: ...

    async def search(self, flt: ListFilter, limit: int, cursor: str | None) -> tuple[list[Referral], str | None]: ...

    async def assignments(self, referral_id: str) -> list[Assignment]: ...

    async def pathways(self, lead_agency: str, limit: int) -> list[str]: ...


class Listing(Protocol):
    """The directory, as the reads see it."""

    def get(self, agency_id: str) -> AgencyEntry | None: ...

    def all(self) -> list[AgencyEntry]: ...

    def target_for(self, agency_id: str, service_id: str, priority: str) -> ServiceTarget | None: ...


@dataclass(frozen=True)
class Reads:
    """Where the reads of one node come from."""

    agency_id: str
    queries: Queries
    directory: Listing


def view_of(
    referral: Referral,
    *,
    with_history: bool = False,
    warnings: list[str] | None = None,
    assignments: list[Assignment] | None = None,
    waiting: Waiting | None = None,
) -> ReferralView:
    personal = referral.personal
    # The consent's scope and document reference travel sealed, but read as part of the basis.
    consent = personal.consent.model_dump(exclude_none=True) if personal and personal.consent else {}
    erasure = referral.erasure
    history = [HistoryItem.model_validate(h, from_attributes=True) for h in referral.history]
    return ReferralView(
        id=referral.id,
        direction=referral.direction,
        sender_agency=referral.sender_agency,
        receiver_agency=referral.receiver_agency,
        service_id=referral.service_id,
        domain=referral.domain,
        priority=referral.priority.value,
        status=referral.status.value,
        legal_basis={**referral.legal_basis.model_dump(mode="json", exclude_none=True), **consent},
        person=personal.person if personal else None,
        reason=personal.reason if personal else None,
        needs=personal.needs if personal else None,
        pathway_services=personal.pathway if personal else [],
        erased=Erasure(at=erasure.at, reason=erasure.reason) if erasure else None,
        consent_withdrawn_at=referral.consent_withdrawn_at,
        previous_referral_id=referral.previous_referral_id,
        closed_at=referral.closed_at,
        pathway=referral.pathway,
        created_at=referral.created_at,
        updated_at=referral.updated_at,
        allowed_actions=referral.allowed_actions,
        business_status=business_status(referral.questions),
        open_questions={
            referral.sender_agency if side is Side.SENDER else referral.receiver_agency: at
            for side, at in referral.questions.items()
        },
        waiting=WaitingFor(reasons=waiting.reasons, due=waiting.due.by, due_state=waiting.due.state)
        if waiting
        else None,
        warnings=warnings or [],
        assignee=referral.assignee,
        history=history if with_history else None,
        assignments=None
        if assignments is None
        else [AssignmentItem.model_validate(a, from_attributes=True) for a in assignments],
    )


async def referrals(reads: Reads, flt: ListFilter, limit: int, cursor: str | None, now: datetime) -> ReferralPage:
    """A page of the node's referrals, newest first; raise InvalidCursor. Waiting for us,
    each says why, and a page may hold fewer than ``limit`` (a decision not yet overdue at
    the receiver leaves the page)."""
    found, next_cursor = await reads.queries.search(flt, limit, cursor)
    if not flt.waiting_for_us:
        return ReferralPage(items=[view_of(r) for r in found], next_cursor=next_cursor)
    waits = ((r, waiting_of(reads, r, now)) for r in found)
    return ReferralPage(items=[view_of(r, waiting=w) for r, w in waits if w], next_cursor=next_cursor)


async def referral(
    reads: Reads, referral_id: str, warnings: list[str] | None = None, now: datetime | None = None
) -> ReferralView | None:
    """One referral with its whole history, and (given ``now``) why it waits for us."""
    found = await reads.queries.one(referral_id)
    if found is None:
        return None
    assigned = await reads.queries.assignments(referral_id)
    waiting = waiting_of(reads, found, now) if now is not None else None
    return view_of(found, with_history=True, warnings=warnings, assignments=assigned, waiting=waiting)


def created_between(reads: Reads, first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The instants from the start of day ``first`` to the end of day ``last`` (both taken
    whole) where this agency works (its working calendar's zone); None: no bound. Raise
    ValueError for a day out of the calendar, or ``last`` before ``first``."""
    entry = reads.directory.get(reads.agency_id)
    zone = ZoneInfo((entry.working_calendar if entry else WorkingCalendar()).timezone)
    try:
        start = in_calendar(datetime.combine(first, time(), zone)) if first else None
        end = in_calendar(datetime.combine(last + timedelta(days=1), time(), zone)) if last else None
    except OverflowError:
        raise ValueError("the date is out of range") from None
    if start and end and end <= start:
        raise ValueError("created_to is before created_from")
    return start, end


def due_of(reads: Reads, referral: Referral, now: datetime) -> Due:
    """What is due of ``referral`` by its service's target in the directory (the one rule:
    ``AgencyEntry.target_for``, from when it was requested)."""
    target = reads.directory.target_for(referral.receiver_agency, referral.service_id, referral.priority.value)
    return due(target, referral.status, referral.requested_at, now)


@dataclass(frozen=True)
class ReferralDetail:
    """A referral as its page shows it: with its history, its decision's due time, why it
    waits for us, and what may be done."""

    referral: ReferralView
    due: Due
    waiting: Waiting | None
    counterpart: str
    actions: list[ActionNeeds]
    suggested_agency: str | None
    redirect_targets: list[tuple[str, str]]

    @property
    def suggested_target(self) -> str:
        """Where "Send again" starts: the first target at the agency the receiver suggested."""
        at = f"{self.suggested_agency}/"
        return next((v for v, _ in self.redirect_targets if self.suggested_agency and v.startswith(at)), "")


async def referral_detail(reads: Reads, referral_id: str, now: datetime) -> ReferralDetail | None:
    found = await reads.queries.one(referral_id)
    if found is None:
        return None
    waiting = waiting_of(reads, found, now)
    return ReferralDetail(
        referral=view_of(
            found, with_history=True, waiting=waiting, assignments=await reads.queries.assignments(referral_id)
        ),
        due=due_of(reads, found, now),
        waiting=waiting,
        counterpart=found.counterpart,
        actions=[needs_of(action) for action in found.allowed_actions],
        suggested_agency=found.suggested_agency,
        redirect_targets=redirect_targets(reads, found) if found.may_redirect else [],
    )


def redirect_targets(reads: Reads, referral: Referral) -> list[tuple[str, str]]:
    """Where a rejected referral may go again: every service that takes referrals of an
    agency other than the two of it, the suggested agency's first; ("agency/service", name)."""
    names = agency_names(reads)
    targets = [
        (f"{entry.organization.id}/{s.id}", f"{names.get(entry.organization.id, entry.organization.id)} · {s.name}")
        for entry in reads.directory.all()
        if entry.organization.id not in (referral.sender_agency, referral.receiver_agency)
        for s in entry.services
        if s.accepts_referrals
    ]
    suggested = referral.suggested_agency
    return sorted(targets, key=lambda t: (not t[0].startswith(f"{suggested}/"), t[1]))


@dataclass(frozen=True)
class Waiting:
    """Why a referral waits for this agency, and what is due of it: the answer to a question,
    else its decision."""

    reasons: list[Reason]
    due: Due


def waiting_of(reads: Reads, referral: Referral, now: datetime) -> Waiting | None:
    """Why ``referral`` waits for this agency (``waiting.reasons``), or None when it does not."""
    decision = due_of(reads, referral, now)
    asked = referral.question_for_us
    overdue = decision.state == "overdue"
    why = reasons(referral.side, referral.status, asked is not None, referral.rejection_handled, overdue)
    if not why:
        return None
    if asked is None:
        return Waiting(why, decision)
    return Waiting(why, answer_due(decision.target, asked, referral.requested_at, now))


@dataclass(frozen=True)
class Entry:
    """A referral on "Needs us", and why it waits."""

    referral: ReferralView
    waiting: Waiting

    @property
    def due(self) -> Due:
        return self.waiting.due


@dataclass(frozen=True)
class NeedsUs:
    waiting: list[Entry]  # overdue first, then due soon, on time, nothing due
    sent: list[ReferralView]  # the newest this agency sent

    @property
    def overdue(self) -> int:
        return sum(w.due.state == "overdue" for w in self.waiting)


async def needs_us(reads: Reads, now: datetime) -> NeedsUs:
    """What waits for this agency, the longest overdue first, and where its own referrals stand."""
    waiting, _ = await reads.queries.search(ListFilter(waiting_for_us=True), NEEDS_US_WAITING, None)
    sent, _ = await reads.queries.search(ListFilter(direction=DIRECTIONS[Side.SENDER]), NEEDS_US_SENT, None)
    waits = [Entry(view_of(r, waiting=w), w) for r in waiting if (w := waiting_of(reads, r, now))]
    return NeedsUs(sorted(waits, key=lambda w: w.due.order()), [view_of(r) for r in sent])


def agency_names(reads: Reads) -> dict[str, str]:
    return {entry.organization.id: entry.organization.name for entry in reads.directory.all()}


def service_names(reads: Reads) -> dict[tuple[str, str], str]:
    """(agency, service id) -> the service's name, for every service in the directory."""
    return {(e.organization.id, s.id): s.name for e in reads.directory.all() for s in e.services}


def services(
    reads: Reads,
    *,
    domain: Domain | None = None,
    language: str | None = None,
    capacity: Capacity | None = None,
    agency: str | None = None,
) -> list[dict[str, Any]]:
    """Every agency's services that match, with their agency."""
    found = []
    for entry in reads.directory.all():
        if agency and entry.organization.id != agency:
            continue
        for service in entry.services:
            if domain and service.domain is not domain:
                continue
            if language and language not in service.languages:
                continue
            if capacity and service.capacity is not capacity:
                continue
            found.append({"agency": entry.organization.model_dump(mode="json"), **service.model_dump(mode="json")})
    return found


def with_personal(shown: list[ReferralView]) -> list[str]:
    """The referrals among ``shown`` whose personal part is shown (not erased)."""
    return [r.id for r in shown if r.erased is None]
