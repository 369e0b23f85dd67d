"""Telling the right people about a notice, once per person and channel, inside the
transaction that records the notice: inbox items, e-mail deliveries, webhook deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_contracts import new_event_id
from crocevia_notifications.adapters import (
    delivery_store,
    inbox_store,
    staff_store,
    subscription_store,
    webhook_store,
)
from crocevia_notifications.domain.notices import Notice, NoticeKind
from crocevia_notifications.domain.preferences import Channel, schedule_email
from crocevia_notifications.domain.routing import DEFAULT_SUBSCRIPTIONS, StaffView, recipients
from crocevia_notifications.domain.templates import Names, render
from crocevia_notifications.handlers.context import Notifier


@dataclass(frozen=True, slots=True)
class Fanout:
    people: int = 0
    inbox_items: int = 0
    emails: int = 0
    webhooks: int = 0


def webhook_wants(endpoint: RowMapping, notice: Notice) -> bool:
    """An agency's endpoint hears of its referrals' events; of reminders and escalations
    only when the agency is the one reminded."""
    if notice.kind is NoticeKind.EVENT:
        concerned = endpoint["agency"] in (notice.sender_agency, notice.receiver_agency)
    else:
        concerned = endpoint["agency"] == notice.acting_agency
    return concerned and (not endpoint["topics"] or notice.topic in endpoint["topics"])


def webhook_payload(notice: Notice, link: str) -> dict[str, object]:
    """Small, and nothing about the person: the Standard Webhooks ``type``/``timestamp``/``data``."""
    prefix = "referral" if notice.kind is NoticeKind.EVENT else "notice"
    return {
        "type": f"{prefix}.{notice.topic}",
        "timestamp": notice.occurred_at.isoformat(),
        "data": {"notice_id": notice.id, **notice.facts(), "link": link},
    }


async def notify(
    ctx: Notifier, session: AsyncSession, notice: Notice, names: Names, owner_sub: str | None = None
) -> Fanout:
    """Create every inbox item and delivery of ``notice``. A notice already told fails on
    the unique keys, and the caller's transaction with it."""
    agencies = {notice.sender_agency, notice.receiver_agency}
    rows = {row["id"]: row for agency in agencies for row in await staff_store.of_agency(session, agency)}
    staff_of: dict[str, list[StaffView]] = {}
    for row in rows.values():
        staff_of.setdefault(row["agency"], []).append(staff_store.view(row))
    subscriptions = [*DEFAULT_SUBSCRIPTIONS, *await subscription_store.of_agencies(session, agencies)]
    people = recipients(notice, subscriptions, staff_of, owner_sub)
    now = ctx.clock()
    items = emails = hooks = 0
    for person in people:
        member = staff_store.member(rows[person.id])
        channels = member.preferences.channels_for(notice.topic)
        link = ctx.link(person.agency, notice.referral_id)
        message = render(notice, member.language, names, link)
        if Channel.INBOX in channels:
            await inbox_store.add(
                session,
                notice_id=notice.id,
                person_id=person.id,
                kind=notice.kind.value,
                event=notice.event,
                referral_id=notice.referral_id,
                sender_agency=notice.sender_agency,
                receiver_agency=notice.receiver_agency,
                service_id=notice.service_id,
                priority=notice.priority,
                status=notice.status,
                title=message.title[:300],
                body=message.body,
                link=link,
                created_at=now,
            )
            items += 1
        if Channel.EMAIL in channels and member.email and ctx.mailer.configured:
            when = schedule_email(
                member.preferences,
                now,
                ZoneInfo(member.timezone),
                hourly_seconds=ctx.settings.hourly_digest_seconds,
                urgent=notice.kind is NoticeKind.ESCALATION,
            )
            await delivery_store.add(
                session,
                id=new_event_id(),
                notice_id=notice.id,
                channel="email",
                recipient=f"person:{person.id}",
                person_id=person.id,
                payload={"title": message.title, "body": message.body, "language": member.language},
                digest_key=when.digest_key,
                due_at=when.due_at,
                created_at=now,
            )
            emails += 1
    for endpoint in await webhook_store.active_of(session, agencies):
        if not webhook_wants(endpoint, notice):
            continue
        link = ctx.link(endpoint["agency"], notice.referral_id, for_people=False)
        await delivery_store.add(
            session,
            id=new_event_id(),
            notice_id=notice.id,
            channel="webhook",
            recipient=f"webhook:{endpoint['id']}",
            webhook_id=endpoint["id"],
            payload=webhook_payload(notice, link),
            due_at=now,
            created_at=now,
        )
        hooks += 1
    return Fanout(people=len(people), inbox_items=items, emails=emails, webhooks=hooks)
