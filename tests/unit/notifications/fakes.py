"""An in-memory unit of work for the notifications use cases (``handlers/ports.py``): the
stores over dictionaries, committed when the block ends and rolled back when it raises, with
the unique keys of the database."""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from crocevia_common.messaging.intake import Unprocessable, Verified, sequence_reused
from crocevia_contracts.caseload import ReferralAssigned
from crocevia_notifications.domain.deliveries import Attempt, Delivery, DeliveryChannel, DeliveryStatus
from crocevia_notifications.domain.notices import Notice
from crocevia_notifications.domain.referral import Followed
from crocevia_notifications.domain.routing import Subscription
from crocevia_notifications.domain.staff import Person, StaffMember
from crocevia_notifications.domain.templates import Message
from crocevia_notifications.domain.timers import Stage, Timer, TimerState
from crocevia_notifications.domain.webhooks import Endpoint
from crocevia_notifications.handlers.ports import Told


class Duplicate(Exception):
    """What a unique key of the database would refuse."""


@dataclass
class Item:
    id: int
    notice: Notice
    person_id: int
    message: Message
    link: str
    created_at: datetime
    read_at: datetime | None = None


@dataclass
class State:
    referrals: dict[str, Followed] = field(default_factory=dict)
    assignments: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)  # (referral, agency)
    timers: dict[str, Timer] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    claims: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # delivery id -> (replica, until)
    attempts: dict[str, list[Attempt]] = field(default_factory=dict)
    staff: dict[int, Person] = field(default_factory=dict)
    subscriptions: dict[int, Subscription] = field(default_factory=dict)
    webhooks: dict[str, Endpoint] = field(default_factory=dict)
    applied: set[str] = field(default_factory=set)
    sequences: dict[tuple[str, int], str] = field(default_factory=dict)
    published: list[tuple[Notice, datetime, float, int]] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(1))

    def __deepcopy__(self, memo: dict[int, Any]) -> State:
        copied = State(**{k: copy.deepcopy(v, memo) for k, v in vars(self).items() if k != "ids"})
        copied.ids = self.ids  # ids are never handed out twice, as a database sequence
        return copied


class OnState:
    def __init__(self, state: State) -> None:
        self.s = state


class FakeTransaction(OnState):
    """Every store of one transaction, on one ``State``."""

    def __init__(self, state: State) -> None:
        super().__init__(state)
        self.referrals = FakeReferrals(state)
        self.assignments = FakeAssignments(state)
        self.timers = FakeTimers(state)
        self.items = FakeItems(state)
        self.deliveries = FakeDeliveries(state)
        self.staff = FakeStaff(state)
        self.subscriptions = FakeSubscriptions(state)
        self.webhooks = FakeWebhooks(state)

    async def claim_ahead(self, items: Sequence[Verified]) -> None:
        pass  # each is claimed alone

    async def claim(self, item: Verified) -> bool:
        if item.id in self.s.applied:
            return False
        holder = self.s.sequences.get((item.source, item.sequence))
        if holder is not None and holder != item.id:
            raise Unprocessable(sequence_reused(item))
        self.s.applied.add(item.id)
        self.s.sequences[(item.source, item.sequence)] = item.id
        return True

    async def publish(self, notice: Notice, *, due_at: datetime, target_hours: float, notified: int) -> None:
        self.s.published.append((notice, due_at, target_hours, notified))


class FakeReferrals(OnState):
    async def read_ahead(self, referral_ids: Collection[str]) -> None:
        pass  # everything is at hand

    async def get(self, referral_id: str) -> Followed | None:
        return self.s.referrals.get(referral_id)

    async def add(self, referral: Followed, at: datetime) -> None:
        if referral.id in self.s.referrals:
            raise Duplicate(referral.id)
        self.s.referrals[referral.id] = referral

    async def save(self, referral: Followed, at: datetime) -> None:
        self.s.referrals[referral.id] = referral


class FakeAssignments(OnState):
    async def keep(self, assigned: ReferralAssigned, sequence: int, at: datetime) -> bool:
        key = (assigned.referral_id, assigned.agency)
        if key in self.s.assignments and self.s.assignments[key][1] >= sequence:
            return False
        self.s.assignments[key] = (assigned.assignee, sequence)
        return True

    async def of(self, referral_id: str) -> dict[str, str]:
        return {agency: kept[0] for (rid, agency), kept in self.s.assignments.items() if rid == referral_id}

    async def read_ahead(self, referral_ids: Collection[str]) -> None:
        pass  # everything is at hand


class FakeTimers(OnState):
    async def arm(self, armed: Sequence[Timer]) -> None:
        for timer in armed:
            if not any(
                (t.referral_id, t.kind, t.stage) == (timer.referral_id, timer.kind, timer.stage)
                for t in self.s.timers.values()
            ):
                self.s.timers[timer.id] = timer

    async def cancel(self, referral_id: str, stages: Collection[Stage], at: datetime) -> None:
        for t in list(self.s.timers.values()):
            if t.referral_id == referral_id and t.stage in stages and t.state is TimerState.PENDING:
                self.s.timers[t.id] = replace(t, state=TimerState.CANCELLED)

    async def due(self, now: datetime, limit: int) -> list[Timer]:
        due = [t for t in self.s.timers.values() if t.state is TimerState.PENDING and t.due_at <= now]
        return sorted(due, key=lambda t: (t.due_at, t.id))[:limit]

    async def take(self, timer_id: str, state: TimerState, at: datetime) -> bool:
        timer = self.s.timers[timer_id]
        if timer.state is not TimerState.PENDING:
            return False
        self.s.timers[timer_id] = replace(timer, state=state)
        return True


class FakeItems(OnState):
    async def add(self, notice: Notice, told: Sequence[Told], at: datetime) -> None:
        for one in told:
            if any((i.notice.id, i.person_id) == (notice.id, one.person_id) for i in self.s.items):
                raise Duplicate(notice.id)
            self.s.items.append(Item(next(self.s.ids), notice, one.person_id, one.message, one.link, at))

    async def mark_read(self, person_id: int, item_id: int, at: datetime) -> bool:
        for item in self.s.items:
            if (item.id, item.person_id) == (item_id, person_id):
                item.read_at = item.read_at or at
                return True
        return False


class FakeDeliveries(OnState):
    async def add(self, added: Sequence[Delivery]) -> None:
        for delivery in added:
            key = (delivery.notice_id, delivery.channel, delivery.recipient)
            if any((d.notice_id, d.channel, d.recipient) == key for d in self.s.deliveries.values()):
                raise Duplicate(delivery.notice_id)
            self.s.deliveries[delivery.id] = delivery

    def _claimable(self, d: Delivery, now: datetime, real_now: datetime) -> bool:
        claim = self.s.claims.get(d.id)
        return d.status is DeliveryStatus.PENDING and d.due_at <= now and (claim is None or claim[1] < real_now)

    async def due(
        self, channel: DeliveryChannel, now: datetime, real_now: datetime, limit: int, exclude: Collection[str] = ()
    ) -> list[Delivery]:
        due = [
            d
            for d in self.s.deliveries.values()
            if d.channel is channel and d.id not in exclude and self._claimable(d, now, real_now)
        ]
        return sorted(due, key=lambda d: (d.due_at, d.id))[:limit]

    async def claim(
        self, delivery: Delivery, now: datetime, real_now: datetime, lease: timedelta, replica: str
    ) -> list[Delivery]:
        def same(d: Delivery) -> bool:
            if delivery.digest_key and delivery.channel is DeliveryChannel.EMAIL:
                return (d.person_id, d.digest_key) == (delivery.person_id, delivery.digest_key)
            return d.id == delivery.id

        got = [d for d in self.s.deliveries.values() if same(d) and self._claimable(d, now, real_now)]
        for d in got:
            self.s.claims[d.id] = (replica, real_now + lease)
        return sorted(got, key=lambda d: (d.created_at, d.id))

    async def record_attempt(self, delivery: Delivery, attempt: Attempt) -> int:
        self.s.attempts.setdefault(delivery.id, []).append(attempt)
        return delivery.attempts + 1

    async def finish(
        self, delivery_id: str, status: DeliveryStatus, attempts: int, at: datetime, error: str | None = None
    ) -> None:
        self.s.deliveries[delivery_id] = replace(self.s.deliveries[delivery_id], status=status, attempts=attempts)
        self.s.claims.pop(delivery_id, None)

    async def retry_at(self, delivery_id: str, attempts: int, due_at: datetime, error: str) -> None:
        self.s.deliveries[delivery_id] = replace(self.s.deliveries[delivery_id], attempts=attempts, due_at=due_at)
        self.s.claims.pop(delivery_id, None)

    async def cancel_pending_of_webhook(self, webhook_id: str, reason: str) -> None:
        for d in list(self.s.deliveries.values()):
            if d.webhook_id == webhook_id and d.status is DeliveryStatus.PENDING:
                self.s.deliveries[d.id] = replace(d, status=DeliveryStatus.CANCELLED)

    async def release(self, replica: str) -> None:
        for key, (holder, _) in list(self.s.claims.items()):
            if holder == replica:
                del self.s.claims[key]


class FakeStaff(OnState):
    async def get(self, agency: str, sub: str) -> Person | None:
        return next((p for p in self.s.staff.values() if (p.agency, p.member.sub) == (agency, sub)), None)

    async def by_id(self, person_id: int) -> Person | None:
        return self.s.staff.get(person_id)

    async def of_agencies(self, agencies: Collection[str]) -> list[Person]:
        return [p for p in self.s.staff.values() if p.agency in agencies]

    async def upsert(self, agency: str, member: StaffMember, at: datetime) -> None:
        known = await self.get(agency, member.sub)
        person_id = known.id if known else next(self.s.ids)
        self.s.staff[person_id] = Person(person_id, agency, member)


class FakeSubscriptions(OnState):
    async def of_agencies(self, agencies: Collection[str]) -> list[Subscription]:
        return [s for s in self.s.subscriptions.values() if s.agency in agencies]

    async def add(self, subscription: Subscription, at: datetime) -> int:
        new_id = next(self.s.ids)
        self.s.subscriptions[new_id] = replace(subscription, id=new_id)
        return new_id

    async def remove(self, agency: str, subscription_id: int) -> bool:
        found = self.s.subscriptions.get(subscription_id)
        if found is None or found.agency != agency:
            return False
        del self.s.subscriptions[subscription_id]
        return True


class FakeWebhooks(OnState):
    async def add(self, endpoint: Endpoint) -> None:
        self.s.webhooks[endpoint.id] = endpoint

    async def get(self, webhook_id: str) -> Endpoint | None:
        return self.s.webhooks.get(webhook_id)

    async def active_of(self, agencies: Collection[str]) -> list[Endpoint]:
        return sorted((e for e in self.s.webhooks.values() if e.agency in agencies and e.active), key=lambda e: e.id)

    async def disable(self, webhook_id: str, at: datetime, reason: str) -> None:
        self.s.webhooks[webhook_id] = replace(self.s.webhooks[webhook_id], active=False, disabled_reason=reason)

    async def enable(self, webhook_id: str) -> None:
        self.s.webhooks[webhook_id] = replace(self.s.webhooks[webhook_id], active=True, disabled_reason=None)

    async def rotate(self, webhook_id: str, secret: str, previous_until: datetime | None) -> None:
        old = self.s.webhooks[webhook_id]
        previous = old.secret if previous_until is not None else None
        self.s.webhooks[webhook_id] = replace(
            old, secret=secret, previous_secret=previous, previous_secret_until=previous_until
        )


class FakeUnitOfWork:
    """Transactions over one ``State``: kept when the block ends, undone when it raises."""

    def __init__(self) -> None:
        self.state = State()
        self.commits = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeTransaction]:
        before = copy.deepcopy(self.state)
        try:
            yield FakeTransaction(self.state)
        except BaseException:
            self.state.__dict__.update(before.__dict__)
            raise
        self.commits += 1

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[FakeTransaction]:
        yield FakeTransaction(copy.deepcopy(self.state))  # what is written here is not kept
