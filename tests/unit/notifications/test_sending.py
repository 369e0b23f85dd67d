"""Sending on fakes: e-mails once, retried, held in quiet hours, gathered in digests, given
up for someone no longer there; webhooks signed, retried, stopped by 410, never sent to a
forbidden address; and the admin's and the person's own changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from crocevia_notifications.domain.deliveries import DeliveryChannel, DeliveryStatus
from crocevia_notifications.domain.routing import Subscription
from crocevia_notifications.domain.webhooks import ForbiddenURL, Outcome
from crocevia_notifications.handlers.emails import release_claims, send_due_emails
from crocevia_notifications.handlers.inbox import mark_read
from crocevia_notifications.handlers.staff import add_subscription, change_member, remove_subscription
from crocevia_notifications.handlers.webhooks import WebhookSender, disable_webhook, register_webhook
from tests.unit.notifications.world import RECEIVER, SENDER, START, World


async def a_world(**settings: object) -> World:
    return await World(**settings).with_staff()


def statuses(world: World, channel: DeliveryChannel) -> list[DeliveryStatus]:
    return [d.status for d in world.state.deliveries.values() if d.channel is channel]


# -- e-mail ------------------------------------------------------------------------------


async def test_each_e_mail_goes_out_once_in_the_reader_s_language():
    world = await a_world()
    await world.apply(world.requested())
    assert await send_due_emails(world.ctx) == 2
    assert await send_due_emails(world.ctx) == 0
    subjects = {sent.to: sent.message.title for sent in world.mailer.sent}
    assert subjects == {
        "giulia@staff.test": "Nuovo invio da PIOLTELLO-CASA per Italiano A1",
        "ahmed@staff.test": "New referral from PIOLTELLO-CASA for Italiano A1",
    }
    assert statuses(world, DeliveryChannel.EMAIL) == [DeliveryStatus.SENT] * 2


async def test_a_failed_e_mail_is_tried_again_on_the_schedule_then_given_up():
    world = await a_world(email_retry_seconds=[60.0])
    await world.prefer("ahmed", email_enabled=False)
    await world.apply(world.requested())
    world.mailer.failures = 2
    assert await send_due_emails(world.ctx) == 1  # failed: again in a minute
    assert await send_due_emails(world.ctx) == 0
    world.advance(seconds=61)
    assert await send_due_emails(world.ctx) == 1  # failed again: the schedule is spent
    world.advance(hours=1)
    assert await send_due_emails(world.ctx) == 0
    assert statuses(world, DeliveryChannel.EMAIL) == [DeliveryStatus.FAILED]
    assert world.mailer.sent == []


async def test_an_e_mail_in_quiet_hours_is_held_until_they_end():
    world = await a_world()
    world.now = START.replace(hour=22)  # 23:00 in Rome
    await world.prefer("giulia", quiet_hours={"start": "21:00", "end": "07:30"})
    await world.apply(world.requested())
    await send_due_emails(world.ctx)
    assert [m.to for m in world.mailer.sent] == ["ahmed@staff.test"]
    world.advance(hours=8)  # 07:00 in Rome
    assert await send_due_emails(world.ctx) == 0
    world.advance(minutes=31)
    assert await send_due_emails(world.ctx) == 1
    assert world.mailer.sent[-1].to == "giulia@staff.test"


async def test_an_hourly_digest_sends_one_summary_when_its_window_ends():
    world = await a_world()
    world.now = START.replace(hour=9)
    await world.prefer("ahmed", digest="hourly")
    for n in range(3):
        await world.apply(world.requested(f"ref-{n}"))
    assert await send_due_emails(world.ctx) == 3  # giulia's, one each
    world.advance(minutes=59)
    assert await send_due_emails(world.ctx) == 0
    world.advance(minutes=1)
    assert await send_due_emails(world.ctx) == 1
    [digest] = [m for m in world.mailer.sent if m.to == "ahmed@staff.test"]
    assert digest.message.title == "Crocevia: 3 notifications"
    assert [digest.message.body.count(f"Referral: ref-{n}") for n in range(3)] == [1, 1, 1]


async def test_an_e_mail_to_someone_no_longer_active_is_cancelled():
    world = await a_world()
    await world.apply(world.requested())
    await change_member(world.ctx, RECEIVER, "giulia", {"active": False})
    await send_due_emails(world.ctx)
    assert [m.to for m in world.mailer.sent] == ["ahmed@staff.test"]
    assert sorted(statuses(world, DeliveryChannel.EMAIL)) == [DeliveryStatus.CANCELLED, DeliveryStatus.SENT]


async def test_a_stopping_replica_gives_back_what_it_claimed():
    world = await a_world()
    await world.apply(world.requested())
    [delivery, _] = world.state.deliveries.values()
    async with world.uow.transaction() as tx:
        await tx.deliveries.claim(delivery, world.now, world.now, timedelta(hours=1), world.ctx.replica)
    await release_claims(world.ctx)
    assert world.state.claims == {}


async def test_nothing_is_e_mailed_without_a_mail_server():
    world = await World(mail=False).with_staff()
    await world.apply(world.requested())
    assert await send_due_emails(world.ctx) == 0
    assert world.state.deliveries == {} and len(world.state.items) == 2  # the inbox still has it


# -- webhooks ----------------------------------------------------------------------------


async def test_a_webhook_is_signed_with_the_endpoint_s_secret_and_sent_once():
    world = await a_world()
    hook = await register_webhook(world.ctx, agency=RECEIVER, url="https://cpia2.example/h", event_types=[], by="a")
    await world.apply(world.requested())
    sender = WebhookSender(world.ctx)
    assert await sender.send_due() == 1
    await sender.drain()
    assert await sender.send_due() == 0
    [request] = world.hooks.requests
    payload = Webhook(hook.secret).verify(request.body, request.headers)
    assert (payload["type"], payload["data"]["referral_id"]) == ("referral.requested", "ref-1")
    assert statuses(world, DeliveryChannel.WEBHOOK) == [DeliveryStatus.SENT]


async def test_a_failing_endpoint_is_retried_with_the_same_webhook_id():
    world = await a_world(webhook_retry_seconds=[5.0, 300.0])
    await register_webhook(world.ctx, agency=RECEIVER, url="https://cpia2.example/h", event_types=[], by="a")
    await world.apply(world.requested())
    world.hooks.planned = [Outcome(503, "HTTP 503", 1)]
    sender = WebhookSender(world.ctx)
    await sender.send_due()
    await sender.drain()
    assert await sender.send_due() == 0  # not before its delay
    world.advance(seconds=6)
    await sender.send_due()
    await sender.drain()
    first, second = world.hooks.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert statuses(world, DeliveryChannel.WEBHOOK) == [DeliveryStatus.SENT]


async def test_410_disables_the_endpoint_and_cancels_what_it_was_still_to_get():
    world = await a_world(webhook_concurrency=1)
    hook = await register_webhook(world.ctx, agency=RECEIVER, url="https://cpia2.example/h", event_types=[], by="a")
    await world.apply(world.requested("ref-1"))
    await world.apply(world.requested("ref-2"))
    world.hooks.planned = [Outcome(410, "HTTP 410", 1)]
    sender = WebhookSender(world.ctx)
    await sender.send_due()
    await sender.drain()
    assert await sender.send_due() == 0
    assert world.state.webhooks[hook.id].active is False
    assert sorted(statuses(world, DeliveryChannel.WEBHOOK)) == [DeliveryStatus.CANCELLED, DeliveryStatus.FAILED]
    await world.apply(world.requested("ref-3"))  # a disabled endpoint hears of nothing new
    assert len(statuses(world, DeliveryChannel.WEBHOOK)) == 2


async def test_an_address_that_turned_forbidden_is_given_up_at_once():
    world = await a_world()
    await register_webhook(world.ctx, agency=RECEIVER, url="https://cpia2.example/h", event_types=[], by="a")
    await world.apply(world.requested())
    world.hooks.planned = [Outcome(None, "forbidden: resolves to 10.0.0.1", 1, forbidden=True)]
    sender = WebhookSender(world.ctx)
    await sender.send_due()
    await sender.drain()
    assert statuses(world, DeliveryChannel.WEBHOOK) == [DeliveryStatus.FAILED]


async def test_a_forbidden_url_is_not_registered():
    world = await a_world()
    world.hooks.forbidden.add("http://10.0.0.1/h")
    with pytest.raises(ForbiddenURL):
        await register_webhook(world.ctx, agency=RECEIVER, url="http://10.0.0.1/h", event_types=[], by="a")
    assert world.state.webhooks == {}


async def test_disabling_an_endpoint_cancels_what_it_was_still_to_get():
    world = await a_world()
    hook = await register_webhook(world.ctx, agency=SENDER, url="https://casa.example/h", event_types=[], by="a")
    await world.apply(world.requested())
    await disable_webhook(world.ctx, hook.id, by="admin")
    assert statuses(world, DeliveryChannel.WEBHOOK) == [DeliveryStatus.CANCELLED]


# -- the inbox, people and subscriptions -------------------------------------------------


async def test_marking_an_item_read_is_the_person_s_own():
    world = await a_world()
    await world.apply(world.requested())
    [item] = world.items_of("giulia")
    assert not await mark_read(world.ctx, world.person_id("ahmed"), item.id)
    assert item.read_at is None
    assert await mark_read(world.ctx, world.person_id("giulia"), item.id)
    assert world.items_of("giulia")[0].read_at == world.now


async def test_an_agency_subscription_tells_more_people_until_it_is_removed():
    world = await a_world()
    everything = Subscription(agency=RECEIVER, roles=frozenset({"supervisor"}), priorities=frozenset({"urgent"}))
    added = await add_subscription(world.ctx, everything)
    await world.apply(world.requested("ref-1", priority="urgent"))
    assert world.told("sara") == [("event", "requested")]
    assert not await remove_subscription(world.ctx, SENDER, added.id or 0)  # not theirs to remove
    assert await remove_subscription(world.ctx, RECEIVER, added.id or 0)
    await world.apply(world.requested("ref-2", priority="urgent"))
    assert len(world.told("sara")) == 1


async def test_a_change_that_makes_a_person_invalid_is_refused_and_changes_nothing():
    world = await a_world()
    with pytest.raises(ValueError, match="roles"):
        await change_member(world.ctx, RECEIVER, "giulia", {"roles": ["wizard"]})
    assert world.state.staff[world.person_id("giulia")].member.roles == ["operator"]
    assert await change_member(world.ctx, RECEIVER, "nobody", {"active": False}) is None
