"""The notifications use cases wired to in-memory fakes: two agencies, their staff, a clock
the test moves, a mailer and a webhook client that record what they were asked, and events
built as the nodes publish them (each side counting its steps)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from crocevia_common.messaging.intake import Delivery, Verified
from crocevia_contracts import EVENT_MODELS, Envelope, EventName, referral_subject
from crocevia_contracts.caseload import CaseloadEnvelope, ReferralAssigned, caseload_subject
from crocevia_contracts.directory import AgencyEntry
from crocevia_contracts.events import Requested
from crocevia_contracts.lifecycle import PUBLISHERS, Side
from crocevia_notifications.adapters.directory import AgencyDirectory
from crocevia_notifications.domain.staff import StaffFile, StaffMember
from crocevia_notifications.domain.templates import Message
from crocevia_notifications.domain.timers import Timer, TimerState
from crocevia_notifications.domain.webhooks import ForbiddenURL, Outcome
from crocevia_notifications.handlers.caseload import apply_assignment
from crocevia_notifications.handlers.context import Notifier
from crocevia_notifications.handlers.events import apply_event
from crocevia_notifications.handlers.staff import change_member, load_staff
from crocevia_notifications.settings import NotificationsSettings
from tests.unit.notifications.fakes import FakeUnitOfWork, Item

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Rome
SENDER, RECEIVER = "pioltello-casa", "cpia2"
THIRD = "cpia3"  # in the directory, party to none of the referrals here
TARGETS = {
    "routine": {"receive_within_hours": 24, "decide_within_hours": 120},
    "urgent": {"receive_within_hours": 4, "decide_within_hours": 24},
}


def entry(agency: str, targets: dict[str, Any] | None = None, calendar: dict[str, Any] | None = None) -> AgencyEntry:
    return AgencyEntry.model_validate(
        {
            "organization": {"id": agency, "name": agency.upper()},
            "services": [
                {"id": "main-service", "name": "Italiano A1", "domain": "education", "response_targets": targets or {}},
                {"id": "second-service", "name": "Licenza media", "domain": "education", "response_targets": {}},
            ],
            **({"working_calendar": calendar} if calendar else {}),
        }
    )


def member(sub: str, *roles: str, **extra: Any) -> StaffMember:
    return StaffMember.model_validate(
        {"sub": sub, "name": sub.title(), "email": f"{sub}@staff.test", "roles": list(roles or ["operator"]), **extra}
    )


STAFF = [
    StaffFile(
        agency=RECEIVER,
        staff=[
            member("giulia", language="it"),
            member("ahmed", language="en", services=["main-service"]),
            member("second", services=["second-service"]),
            member("sara", "supervisor"),
        ],
    ),
    StaffFile(agency=SENDER, staff=[member("marco"), member("op-1"), member("lucia", "supervisor")]),
]


@dataclass
class Sent:
    to: str
    message: Message
    message_id: str
    language: str


class FakeMailer:
    """Keeps what it sends; fails the next ``failures`` sends."""

    def __init__(self, configured: bool = True) -> None:
        self.configured = configured
        self.sent: list[Sent] = []
        self.failures = 0

    async def send(self, to: str, message: Message, message_id: str, language: str) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("the SMTP server is down")
        self.sent.append(Sent(to, message, message_id, language))


@dataclass
class Request:
    url: str
    headers: dict[str, str]
    body: bytes


class FakeWebhookClient:
    """Answers each request with the next planned outcome (200 when none); refuses the
    URLs in ``forbidden``."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.planned: list[Outcome] = []
        self.forbidden: set[str] = set()

    async def check(self, url: str) -> None:
        if url in self.forbidden:
            raise ForbiddenURL(f"{url} resolves to a private address")

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        self.requests.append(Request(url, headers, body))
        return self.planned.pop(0) if self.planned else Outcome(200, None, 1)

    async def close(self) -> None:
        return None


class World:
    def __init__(self, receiver: AgencyEntry | None = None, *, mail: bool = True, **settings: Any) -> None:
        self.now = START
        self.uow = FakeUnitOfWork()
        self.mailer = FakeMailer(configured=mail)
        self.hooks = FakeWebhookClient()
        entries = {SENDER: entry(SENDER), RECEIVER: receiver or entry(RECEIVER, TARGETS), THIRD: entry(THIRD)}
        self.ctx = Notifier(
            settings=NotificationsSettings(node_urls={RECEIVER: "http://cpia2.test"}, **settings),
            uow=self.uow,
            directory=AgencyDirectory(None, entries),
            mailer=self.mailer,
            webhooks=self.hooks,
            clock=lambda: self.now,
        )
        self._sequences: dict[str, int] = defaultdict(int)
        self._steps: dict[tuple[str, Side], int] = defaultdict(int)

    @property
    def state(self) -> Any:
        return self.uow.state

    async def with_staff(self) -> World:
        await load_staff(self.ctx, STAFF)
        return self

    async def prefer(self, sub: str, **preferences: Any) -> None:
        """Change some of a person's preferences, as they would on their page."""
        person = self.state.staff[self.person_id(sub)]
        merged = {**person.member.preferences.model_dump(mode="json"), **preferences}
        await change_member(self.ctx, person.agency, sub, {"preferences": merged})

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    # -- events as the nodes publish them -------------------------------------------------

    def requested(self, referral_id: str = "ref-1", **fields: Any) -> Requested:
        values = {
            "referral_id": referral_id,
            "sender_agency": SENDER,
            "receiver_agency": RECEIVER,
            "service_id": "main-service",
            "priority": "routine",
            "occurred_at": self.now,
            "legal_basis": {"basis": "consent", "captured_by": "op-1"},
            **fields,
        }
        return Requested.model_validate(values)

    def event(self, data: Any, *, step: int | None = None, event_id: str | None = None) -> Verified:
        """``data`` from the side that publishes it, with that side's next step (or ``step``)."""
        name = EventName(data.event)
        side = Side.SENDER if Side.SENDER in PUBLISHERS[name] else Side.RECEIVER
        source, target = (
            (data.sender_agency, data.receiver_agency)
            if side is Side.SENDER
            else (data.receiver_agency, data.sender_agency)
        )
        if step is None:
            self._steps[(data.referral_id, side)] += 1
            step = self._steps[(data.referral_id, side)]
        self._sequences[source] += 1
        data = data.model_copy(update={"step": step})
        envelope = Envelope.build(source_agency=source, sequence=self._sequences[source], data=data, event_id=event_id)
        subject = referral_subject(source, target, name)
        return Verified(Delivery(subject=subject, payload=envelope.to_json()), source, envelope)

    def step(self, requested: Requested, name: EventName, *, step: int | None = None, **fields: Any) -> Verified:
        common = requested.model_dump(
            include={"referral_id", "sender_agency", "receiver_agency", "service_id", "domain", "priority"}
        )
        return self.event(EVENT_MODELS[name](**common, occurred_at=self.now, **fields), step=step)

    def assigned(
        self, agency: str, assignee: str, referral_id: str = "ref-1", *, sequence: int | None = None
    ) -> Verified:
        """The caseload notice ``agency``'s node publishes when it assigns the referral."""
        if sequence is None:
            self._sequences[f"{agency}/caseload"] += 1
            sequence = self._sequences[f"{agency}/caseload"]
        data = ReferralAssigned(agency=agency, referral_id=referral_id, assignee=assignee)
        envelope = CaseloadEnvelope.build(data=data, sequence=sequence, time=self.now)
        return Verified(Delivery(subject=caseload_subject(agency), payload=envelope.to_json()), agency, envelope)

    async def assign(self, item: Verified) -> None:
        async with self.uow.transaction() as tx:
            await apply_assignment(self.ctx, tx, item)

    async def apply(self, item: Verified | Requested) -> None:
        await apply_event(self.ctx, self.event(item) if isinstance(item, Requested) else item)

    # -- what came of it ------------------------------------------------------------------

    def person_id(self, sub: str) -> int:
        return next(p.id for p in self.state.staff.values() if p.member.sub == sub)

    def items_of(self, sub: str) -> list[Item]:
        person = self.person_id(sub)
        return [i for i in self.state.items if i.person_id == person]

    def told(self, sub: str) -> list[tuple[str, str]]:
        """(kind, event) of each of the person's inbox items, in order."""
        return [(i.notice.kind.value, i.notice.event) for i in self.items_of(sub)]

    def timers(self, state: TimerState = TimerState.PENDING) -> list[Timer]:
        return sorted((t for t in self.state.timers.values() if t.state is state), key=lambda t: (t.due_at, t.kind))

    def pending(self) -> list[tuple[str, str]]:
        """(kind, stage) of the pending timers, soonest first."""
        return [(t.kind.value, t.stage.value) for t in self.timers()]
