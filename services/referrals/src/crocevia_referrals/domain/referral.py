"""A referral as this node sees it: the one place of every rule about it.

Its side (sender or receiver) and counterpart, the actions allowed now (the contracts'
lifecycle; an answer only to a question asked of it) and what each needs, its open
questions, the agency a rejection suggests (``rejection`` sends it again or closes it), the
other node's events applied in step order, and erasure. It collects the events this node
must publish (``outbox``) with its history; a repository loads and saves it, and the
handler that changed it hands ``outbox`` to the node's outbox.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crocevia_contracts import EVENT_MODELS, EventName, LegalBasis, Priority, new_event_id
from crocevia_contracts.directory import Service
from crocevia_contracts.events import PathwayRef, Requested
from crocevia_contracts.lifecycle import Side, Status, TransitionRefused, allowed_actions, decide, settle
from crocevia_referrals.domain.actions import STAFF_ACTIONS, ActionInput, check_suggestion, public_fields
from crocevia_referrals.domain.codes import UNDELIVERABLE
from crocevia_referrals.domain.errors import Invalid, OutOfOrder, Refused
from crocevia_referrals.domain.events import Erasure, HistoryEntry, Incoming, Outgoing
from crocevia_referrals.domain.messages import MessageBody
from crocevia_referrals.domain.personal import PersonalPart, read_personal
from crocevia_referrals.domain.questions import open_questions
from crocevia_referrals.domain.sending import ReferralRequest
from crocevia_referrals.domain.waiting import may_wait

DIRECTIONS = {Side.SENDER: "outgoing", Side.RECEIVER: "incoming"}
ANSWER = "provide-info"  # only while a question waits for this side


@dataclass
class Referral:
    id: str
    side: Side
    sender_agency: str
    receiver_agency: str
    service_id: str
    domain: str | None
    priority: Priority
    status: Status
    legal_basis: LegalBasis
    personal: PersonalPart | None
    requested_at: datetime  # the ``requested`` event's occurred_at: targets count from it
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    previous_referral_id: str | None = None
    pathway: PathwayRef | None = None  # the household pathway it belongs to, and who leads it
    erasure: Erasure | None = None
    consent_withdrawn_at: datetime | None = None
    our_step: int = 0  # events this node sent about it
    their_step: int = 0  # the last step of the other node's it applied
    assignee: str | None = None  # the staff member it is assigned to here; never shared
    history: list[HistoryEntry] = field(default_factory=list)
    outbox: list[Outgoing] = field(default_factory=list)
    notes_erased: bool = False
    questions: dict[Side, datetime] = field(default_factory=dict)  # ``open_questions``
    redirected: bool = False  # sent again, to another agency
    closed_at: datetime | None = None  # the sender closed the rejection without sending it again

    # -- what it is ---------------------------------------------------------------------

    @property
    def our_agency(self) -> str:
        return self.sender_agency if self.side is Side.SENDER else self.receiver_agency

    @property
    def counterpart(self) -> str:
        return self.receiver_agency if self.side is Side.SENDER else self.sender_agency

    @property
    def direction(self) -> str:
        return DIRECTIONS[self.side]

    @property
    def allowed_actions(self) -> list[str]:
        """The lifecycle's actions for this side now; an answer only to a question asked of it."""
        return [a for a in allowed_actions(self.status, self.side) if a != ANSWER or self.question_for_us]

    @property
    def question_for_us(self) -> datetime | None:
        """When the oldest question this agency has not answered was asked."""
        return self.questions.get(self.side)

    @property
    def rejection_handled(self) -> bool:
        """The sender sent it again, or closed it: a rejection that waits no more."""
        return self.redirected or self.closed_at is not None

    @property
    def waits_for_us(self) -> bool:
        """Whether it may wait for this agency (``waiting.reasons`` says why, with its due time)."""
        return may_wait(self.side, self.status, self.question_for_us is not None, self.rejection_handled)

    @property
    def suggested_agency(self) -> str | None:
        """The agency the receiver suggested when it rejected the referral."""
        rejected = (h.details.get("suggested_agency") for h in self.history if h.event == EventName.REJECTED.value)
        return next((agency for agency in rejected if agency), None)

    @property
    def may_redirect(self) -> bool:
        """A rejected referral this agency sent, whose details are still here, may go again."""
        return self.side is Side.SENDER and self.status is Status.REJECTED and self.personal is not None

    @property
    def may_write(self) -> bool:
        """Messages carry personal content: only while this node holds the details and consent stands."""
        return self.personal is not None and self.erasure is None and self.consent_withdrawn_at is None

    @property
    def messages(self) -> list[HistoryEntry]:
        """The messages between the two agencies, oldest first (their text is the entry's note)."""
        return [h for h in self.history if h.event == EventName.MESSAGE_SENT.value]

    # -- how it starts --------------------------------------------------------------------

    @classmethod
    def request(cls, *, sender: str, service: Service, request: ReferralRequest, by: str, at: datetime) -> Referral:
        """A referral this agency sends, its ``requested`` event sealing the personal part."""
        referral = cls(
            id=new_event_id(),
            side=Side.SENDER,
            sender_agency=sender,
            receiver_agency=request.to_agency,
            service_id=service.id,
            domain=service.domain.value,
            priority=request.priority,
            status=Status.REQUESTED,
            legal_basis=request.legal_basis,
            personal=request.personal,
            requested_at=at,
            created_at=at,
            updated_at=at,
            created_by=by,
            previous_referral_id=request.previous_referral_id,
            pathway=request.pathway,
        )
        basis, previous, sealed = request.legal_basis, request.previous_referral_id, request.personal.model_dump_json()
        fields: dict[str, Any] = {"legal_basis": basis, "previous_referral_id": previous, "requested_by": by}
        fields["pathway"] = request.pathway
        referral._emit(EventName.REQUESTED, at, fields=fields, details={}, by=by, sealed=sealed.encode())
        return referral

    @classmethod
    def arrive(
        cls, event_id: str, data: Requested, opened: bytes | None, unreadable: str | None, at: datetime
    ) -> Referral:
        """A referral another agency sent to this one, answered ``received``. One its sender
        sent but this node cannot read (``unreadable``, or a personal part that is not valid)
        is kept without details and answered ``rejected`` (undeliverable) as well."""
        problem, personal = unreadable, None
        if problem is None:
            try:
                personal = read_personal(opened)
            except ValueError as exc:
                problem = str(exc)
        referral = cls(
            id=data.referral_id,
            side=Side.RECEIVER,
            sender_agency=data.sender_agency,
            receiver_agency=data.receiver_agency,
            service_id=data.service_id,
            domain=data.domain,
            priority=data.priority,
            status=Status.REQUESTED,
            legal_basis=data.legal_basis,
            personal=personal,
            requested_at=data.occurred_at,
            created_at=at,
            updated_at=at,
            previous_referral_id=data.previous_referral_id,
            pathway=data.pathway,
            their_step=data.step or 0,
        )
        referral._record(event_id, EventName.REQUESTED, data.sender_agency, data.occurred_at)
        referral.status = Status.RECEIVED
        referral._emit(EventName.RECEIVED, at)
        if problem is not None:
            referral.status = Status.REJECTED
            code = {"reason_code": UNDELIVERABLE}
            referral._emit(EventName.REJECTED, at, fields=code, details={**code, "problem": problem})
        return referral

    # -- what this agency does ------------------------------------------------------------

    def act(self, action: ActionInput, *, by: str, at: datetime, known_agencies: Collection[str] = ()) -> None:
        """Carry out ``action`` and collect its event. Raise Invalid for input the action
        cannot take (``known_agencies``: those of the directory among the one suggested),
        TransitionRefused for an action the lifecycle does not allow now."""
        public = public_fields(action)
        if action.suggested_agency:
            check_suggestion(action.suggested_agency, (self.sender_agency, self.receiver_agency), known_agencies)
        if action.name not in STAFF_ACTIONS:
            raise TransitionRefused(action.name, self.status, self.allowed_actions, f"unknown action {action.name!r}")
        try:
            step = decide(action.name, self.status, self.side)
        except TransitionRefused as exc:  # told with the actions allowed to this referral now
            raise TransitionRefused(action.name, self.status, self.allowed_actions, exc.reason) from None
        if action.name not in self.allowed_actions:
            raise TransitionRefused(action.name, self.status, self.allowed_actions, "no question waits for our answer")
        self.status = step.target(self.status)
        if step.event is EventName.CONSENT_WITHDRAWN:
            self.consent_withdrawn_at = at
        self.updated_at = at
        self._emit(step.event, at, fields=public, details=dict(public), note=action.note, by=by)

    def send_message(self, body: MessageBody, *, by: str, at: datetime) -> str:
        """Write to the other agency: the message (text and attachment references) sealed to
        it, the text kept in the history; its event id. Raise Invalid once the details are
        erased or consent withdrawn. The status does not change."""
        if not self.may_write:
            raise Invalid("messages-closed", "no messages once consent is withdrawn or the details erased")
        self._emit(EventName.MESSAGE_SENT, at, by=by, note=body.text, sealed=body.model_dump_json().encode())
        return self.outbox[-1].event_id

    # -- what the other agency does -------------------------------------------------------

    def apply(self, incoming: Incoming, at: datetime) -> bool:
        """Apply an event of the other node; False when its step was applied already. Raise
        OutOfOrder for a step that came before the one it follows, Refused for an event that
        can never apply."""
        data = incoming.data
        if data.step is not None:
            if data.step <= self.their_step:
                return False  # the same step again under another event id
            if data.step > self.their_step + 1:
                raise OutOfOrder(f"step {data.step} came before step {self.their_step + 1}")
        name = EventName(data.event)  # type: ignore[attr-defined]
        publisher = Side.SENDER if incoming.publisher == self.sender_agency else Side.RECEIVER
        try:
            settled = settle(name, self.status, publisher)
        except TransitionRefused as exc:
            raise Refused(f"lifecycle refuses it: {exc.reason}") from None
        if incoming.unreadable is not None:
            raise Refused(f"refused: {incoming.unreadable}")
        self.their_step = data.step if data.step is not None else self.their_step
        self.status, self.updated_at = settled.status, at
        details = data.model_dump(mode="json", include={"reason_code", "outcome", "suggested_agency", "reason"})
        if settled.ignored:
            details["ignored"] = settled.ignored
        # Consent withdrawn: the receiver erases and confirms; the sender erases once confirmed.
        withdrawn = name is EventName.CONSENT_WITHDRAWN and publisher is Side.SENDER
        confirmed = name is EventName.PERSONAL_DATA_ERASED and publisher is Side.RECEIVER
        note = incoming.note if self.erasure is None else None  # nothing personal kept once erased
        if withdrawn or (confirmed and self.erasure is None):
            self.erase("consent-withdrawn" if withdrawn else getattr(data, "reason", "erased-by-receiver"), at)
            self.consent_withdrawn_at = data.occurred_at if withdrawn else self.consent_withdrawn_at
            note = None
        self._record(incoming.event_id, name, incoming.publisher, data.occurred_at, details=details, note=note)
        if withdrawn:
            self._emit(EventName.PERSONAL_DATA_ERASED, at, fields={"reason": "consent-withdrawn"})
        return True

    def erase(self, reason: str, at: datetime, *, confirm: bool = False) -> None:
        """Forget the personal part and every note; ``confirm``: tell the other node (and the
        trail) with ``personal-data-erased``."""
        self.personal, self.erasure, self.notes_erased = None, Erasure(at, reason), True
        for entry in self.history:
            entry.note = None
        if confirm:
            self._emit(EventName.PERSONAL_DATA_ERASED, at, fields={"reason": reason})

    # -- its events -----------------------------------------------------------------------

    def _emit(
        self,
        event: EventName,
        at: datetime,
        *,
        fields: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
        note: str | None = None,
        by: str | None = None,
        sealed: bytes | None = None,
    ) -> None:
        """Collect an event of this node, numbered in the referral's steps, and record it."""
        self.our_step += 1
        data = EVENT_MODELS[event](
            referral_id=self.id,
            sender_agency=self.sender_agency,
            receiver_agency=self.receiver_agency,
            service_id=self.service_id,
            domain=self.domain,
            priority=self.priority,
            occurred_at=at,
            step=self.our_step,
            **(fields or {}),
        )
        sealed_text = sealed if sealed is not None else note.encode() if note else None
        self.outbox.append(Outgoing(new_event_id(), data, self.counterpart, sealed_text))
        recorded = details if details is not None else dict(fields or {})
        self._record(self.outbox[-1].event_id, event, self.our_agency, at, by=by, details=recorded, note=note)

    def _record(
        self,
        event_id: str,
        event: EventName,
        by_agency: str,
        at: datetime,
        *,
        by: str | None = None,
        details: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> None:
        """Add an event to the history, with the status the referral has after it."""
        self.history.append(
            HistoryEntry(event_id, event.value, by_agency, self.status.value, at, by, details or {}, note)
        )
        self.questions = open_questions(self.history, self.sender_agency, self.status)
