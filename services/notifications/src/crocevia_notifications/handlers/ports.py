"""What the use cases need from the world, as small protocols: a unit of work (one
transaction and the stores it reaches), the directory, the mailer and the webhook client.
``adapters/`` implements them on the database, NATS, SMTP and HTTP; the unit tests on
dictionaries."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from crocevia_common.messaging.intake import Verified
from crocevia_contracts.caseload import ReferralAssigned
from crocevia_contracts.directory import ServiceTarget
from crocevia_notifications.domain.deliveries import Attempt, Delivery, DeliveryChannel, DeliveryStatus
from crocevia_notifications.domain.notices import Notice
from crocevia_notifications.domain.referral import Followed
from crocevia_notifications.domain.routing import Subscription
from crocevia_notifications.domain.staff import Person, StaffMember
from crocevia_notifications.domain.templates import Message, Names
from crocevia_notifications.domain.timers import Stage, Timer, TimerState
from crocevia_notifications.domain.webhooks import Endpoint, Outcome


class Referrals(Protocol):
    async def read_ahead(self, referral_ids: Collection[str]) -> None:
        """Read (and lock) these referrals at once for the rest of the transaction."""
        ...

    async def get(self, referral_id: str) -> Followed | None: ...

    async def add(self, referral: Followed, at: datetime) -> None: ...

    async def save(self, referral: Followed, at: datetime) -> None: ...


class Assignments(Protocol):
    async def keep(self, assigned: ReferralAssigned, sequence: int, at: datetime) -> bool:
        """Keep the agency's assignment of the referral unless a later one (a larger
        ``sequence`` of its caseload notices) is kept already; whether it was kept."""
        ...

    async def of(self, referral_id: str) -> dict[str, str]:
        """Who each agency assigned the referral to: agency -> staff sub."""
        ...

    async def read_ahead(self, referral_ids: Collection[str]) -> None:
        """Read the assignments of these referrals at once for the rest of the transaction."""
        ...


class Timers(Protocol):
    async def arm(self, armed: Sequence[Timer]) -> None:
        """Start each of ``armed`` (in one statement) unless the referral had that one (kind
        and stage) already."""
        ...

    async def cancel(self, referral_id: str, stages: Collection[Stage], at: datetime) -> None: ...

    async def due(self, now: datetime, limit: int) -> list[Timer]: ...

    async def take(self, timer_id: str, state: TimerState, at: datetime) -> bool:
        """Move a pending timer to ``state``; False when another replica did first."""
        ...


@dataclass(frozen=True, slots=True)
class Told:
    """One person's inbox item of a notice: the message in their language, the link."""

    person_id: int
    message: Message
    link: str


class InboxItems(Protocol):
    async def add(self, notice: Notice, told: Sequence[Told], at: datetime) -> None:
        """The notice's items, one per person (in one statement): a second one for a person
        fails, and the transaction with it."""
        ...

    async def mark_read(self, person_id: int, item_id: int, at: datetime) -> bool:
        """Mark an item of the person read (once); False when they have no such item."""
        ...


class Deliveries(Protocol):
    async def add(self, deliveries: Sequence[Delivery]) -> None:
        """Deliveries (in one statement), one per notice, channel and recipient: a second one
        fails, and the transaction with it."""
        ...

    async def due(
        self, channel: DeliveryChannel, now: datetime, real_now: datetime, limit: int, exclude: Collection[str] = ()
    ) -> list[Delivery]: ...

    async def claim(
        self, delivery: Delivery, now: datetime, real_now: datetime, lease: timedelta, replica: str
    ) -> list[Delivery]:
        """Claim ``delivery`` (and, for an e-mail of a digest, every claimable one of its
        digest) for ``replica``; what it got, nothing when another sender was first."""
        ...

    async def record_attempt(self, delivery: Delivery, attempt: Attempt) -> int:
        """Record an attempt; its number."""
        ...

    async def finish(
        self, delivery_id: str, status: DeliveryStatus, attempts: int, at: datetime, error: str | None = None
    ) -> None: ...

    async def retry_at(self, delivery_id: str, attempts: int, due_at: datetime, error: str) -> None: ...

    async def cancel_pending_of_webhook(self, webhook_id: str, reason: str) -> None: ...

    async def release(self, replica: str) -> None:
        """Give back what ``replica`` claimed and did not finish."""
        ...


class Staff(Protocol):
    async def get(self, agency: str, sub: str) -> Person | None: ...

    async def by_id(self, person_id: int) -> Person | None: ...

    async def of_agencies(self, agencies: Collection[str]) -> list[Person]: ...

    async def upsert(self, agency: str, member: StaffMember, at: datetime) -> None: ...


class Subscriptions(Protocol):
    async def of_agencies(self, agencies: Collection[str]) -> list[Subscription]: ...

    async def add(self, subscription: Subscription, at: datetime) -> int: ...

    async def remove(self, agency: str, subscription_id: int) -> bool: ...


class Webhooks(Protocol):
    async def add(self, endpoint: Endpoint) -> None: ...

    async def get(self, webhook_id: str) -> Endpoint | None: ...

    async def active_of(self, agencies: Collection[str]) -> list[Endpoint]: ...

    async def disable(self, webhook_id: str, at: datetime, reason: str) -> None: ...

    async def enable(self, webhook_id: str) -> None: ...

    async def rotate(self, webhook_id: str, secret: str, previous_until: datetime | None) -> None: ...


class Transaction(Protocol):
    """Everything a use case may change, committed together or not at all."""

    @property
    def referrals(self) -> Referrals: ...

    @property
    def assignments(self) -> Assignments: ...

    @property
    def timers(self) -> Timers: ...

    @property
    def items(self) -> InboxItems: ...

    @property
    def deliveries(self) -> Deliveries: ...

    @property
    def staff(self) -> Staff: ...

    @property
    def subscriptions(self) -> Subscriptions: ...

    @property
    def webhooks(self) -> Webhooks: ...

    async def claim_ahead(self, items: Sequence[Verified]) -> None:
        """Record the referral events of a batch as applied at once, where they were not; each
        is then taken by its ``claim``, which undoes nothing if the batch's transaction does not
        commit (nothing of it is kept)."""
        ...

    async def claim(self, item: Verified) -> bool:
        """Record a referral event as applied (the intake's ``claim``): False when it was
        applied already; raise Unprocessable when its sequence number names another event."""
        ...

    async def publish(self, notice: Notice, *, due_at: datetime, target_hours: float, notified: int) -> None:
        """Put a fired reminder or escalation in the outbox, for NATS."""
        ...


class UnitOfWork(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A transaction: committed when the block ends, rolled back when it raises."""
        ...

    def reading(self) -> AbstractAsyncContextManager[Transaction]:
        """A read-only look (nothing written in it is kept)."""
        ...


class Directory(Protocol):
    async def knows(self, agency_id: str) -> bool: ...

    async def names(self, *agency_ids: str) -> Names: ...

    async def target_for(self, agency_id: str, service_id: str, priority: str) -> ServiceTarget | None: ...


class Mailer(Protocol):
    @property
    def configured(self) -> bool: ...

    async def send(self, to: str, message: Message, message_id: str, language: str) -> None:
        """Send one message; raise on any failure (the caller retries)."""
        ...


class WebhookClient(Protocol):
    async def check(self, url: str) -> None:
        """Raise ForbiddenURL unless a webhook may be sent to ``url``."""
        ...

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> Outcome: ...

    async def close(self) -> None: ...
