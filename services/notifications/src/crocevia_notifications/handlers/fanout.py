"""Telling the right people about a notice, once per person and channel, inside the
transaction that records the notice: inbox items, e-mail deliveries, webhook deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from crocevia_contracts import new_event_id
from crocevia_notifications.domain import webhooks
from crocevia_notifications.domain.deliveries import Delivery, DeliveryChannel
from crocevia_notifications.domain.notices import Notice, NoticeKind
from crocevia_notifications.domain.preferences import Channel, schedule_email
from crocevia_notifications.domain.routing import DEFAULT_SUBSCRIPTIONS, recipients
from crocevia_notifications.domain.staff import Person
from crocevia_notifications.domain.templates import Names, render
from crocevia_notifications.handlers.context import Notifier
from crocevia_notifications.handlers.ports import Told, Transaction


@dataclass(frozen=True, slots=True)
class Fanout:
    people: int = 0
    inbox_items: int = 0
    emails: int = 0
    webhooks: int = 0


async def notify(ctx: Notifier, tx: Transaction, notice: Notice, names: Names, owner_sub: str | None = None) -> Fanout:
    """Create every inbox item and delivery of ``notice`` (one statement for the items, one
    for the deliveries). A notice already told fails on the unique keys, and the caller's
    transaction with it."""
    agencies = {notice.sender_agency, notice.receiver_agency}
    staff = {person.id: person for person in await tx.staff.of_agencies(agencies)}
    staff_of: dict[str, list[Person]] = {}
    for person in staff.values():
        staff_of.setdefault(person.agency, []).append(person)
    subscriptions = [*DEFAULT_SUBSCRIPTIONS, *await tx.subscriptions.of_agencies(agencies)]
    views = {agency: [p.view() for p in people] for agency, people in staff_of.items()}
    assignees = await tx.assignments.of(notice.referral_id)
    people = [staff[view.id] for view in recipients(notice, subscriptions, views, owner_sub, assignees)]
    now = ctx.clock()
    items: list[Told] = []
    emails: list[Delivery] = []
    for person in people:
        item, email = _tell(ctx, notice, names, person, now)
        items += [item] if item else []
        emails += [email] if email else []
    hooks = await _webhooks(ctx, tx, notice, agencies, now)
    await tx.items.add(notice, items, now)
    await tx.deliveries.add([*emails, *hooks])
    return Fanout(people=len(people), inbox_items=len(items), emails=len(emails), webhooks=len(hooks))


def _tell(
    ctx: Notifier, notice: Notice, names: Names, person: Person, now: datetime
) -> tuple[Told | None, Delivery | None]:
    """The person's inbox item and e-mail, as their preferences ask."""
    member = person.member
    channels = member.preferences.channels_for(notice.topic)
    link = ctx.link(person.agency, notice.referral_id)
    message = render(notice, member.language, names, link)
    item = Told(person.id, message, link) if Channel.INBOX in channels else None
    if not (Channel.EMAIL in channels and member.email and ctx.mailer.configured):
        return item, None
    when = schedule_email(
        member.preferences,
        now,
        ZoneInfo(member.timezone),
        hourly_seconds=ctx.settings.hourly_digest_seconds,
        urgent=notice.kind is NoticeKind.ESCALATION,
    )
    email = Delivery(
        id=new_event_id(),
        notice_id=notice.id,
        channel=DeliveryChannel.EMAIL,
        recipient=f"person:{person.id}",
        person_id=person.id,
        payload={"title": message.title, "body": message.body, "language": member.language},
        digest_key=when.digest_key,
        due_at=when.due_at,
        created_at=now,
    )
    return item, email


async def _webhooks(
    ctx: Notifier, tx: Transaction, notice: Notice, agencies: set[str], now: datetime
) -> list[Delivery]:
    """A delivery to each active endpoint of the parties that wants ``notice``."""
    return [
        Delivery(
            id=new_event_id(),
            notice_id=notice.id,
            channel=DeliveryChannel.WEBHOOK,
            recipient=f"webhook:{endpoint.id}",
            webhook_id=endpoint.id,
            payload=webhooks.payload(notice, ctx.link(endpoint.agency, notice.referral_id, for_people=False)),
            due_at=now,
            created_at=now,
        )
        for endpoint in await tx.webhooks.active_of(agencies)
        if endpoint.wants(notice)
    ]
