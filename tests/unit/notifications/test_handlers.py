"""The notifications use cases on in-memory fakes: applying referral events (who is told,
the referral's status, the timers), and firing reminders and escalations."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crocevia_common.messaging.intake import Unprocessable
from crocevia_contracts import EventName
from crocevia_contracts.lifecycle import Status
from crocevia_notifications.domain.deliveries import DeliveryChannel
from crocevia_notifications.domain.notices import NoticeKind
from crocevia_notifications.domain.timers import Stage, TimerState
from crocevia_notifications.handlers.timers import fire_due_timers
from crocevia_notifications.handlers.webhooks import register_webhook
from tests.unit.notifications.world import RECEIVER, SENDER, START, THIRD, World


@pytest.fixture
async def world() -> World:
    return await World().with_staff()


# -- applying events ---------------------------------------------------------------------


async def test_a_request_tells_the_receiving_operators_who_handle_its_service(world: World):
    await world.apply(world.requested())
    assert world.told("giulia") == [("event", "requested")]
    assert world.told("ahmed") == [("event", "requested")]
    assert world.told("second") == [] and world.told("sara") == []  # another service; a supervisor
    assert world.told("marco") == []  # the sender need not act
    [item] = world.items_of("ahmed")
    assert item.message.title == "New referral from PIOLTELLO-CASA for Italiano A1"
    assert item.link == "http://cpia2.test/ui/referrals/ref-1"
    assert item.notice.status == "requested"


async def test_a_request_is_emailed_to_those_who_want_it_by_e_mail(world: World):
    await world.apply(world.requested())
    emails = [d for d in world.state.deliveries.values() if d.channel is DeliveryChannel.EMAIL]
    assert sorted(world.state.staff[d.person_id].member.sub for d in emails) == ["ahmed", "giulia"]


async def test_the_answer_goes_to_the_sender_s_staff_member_who_asked(world: World):
    requested = world.requested(requested_by="marco")
    await world.apply(requested)
    await world.apply(world.step(requested, EventName.RECEIVED))
    assert world.told("marco") == [("event", "received")]
    assert world.told("op-1") == []  # captured the legal basis, but marco sent it


async def test_an_assigned_referral_s_notices_reach_the_assignee_at_each_agency(world: World):
    requested = world.requested(requested_by="marco")
    await world.apply(requested)
    await world.apply(world.step(requested, EventName.RECEIVED))
    await world.assign(world.assigned(RECEIVER, "second"))  # handles another service
    await world.assign(world.assigned(SENDER, "op-1"))  # marco is away: op-1 takes it over
    await world.apply(world.step(requested, EventName.INFO_REQUESTED))  # the sender asks cpia2
    await world.apply(world.step(requested, EventName.ACCEPTED))
    assert world.told("second") == [("event", "info-requested")]
    assert world.told("op-1") == [("event", "accepted")]
    assert world.told("marco") == [("event", "received")]  # before the handover
    assert world.told("giulia") == world.told("ahmed") == [("event", "requested")]


async def test_a_later_assignment_wins_whatever_order_the_notices_come_in(world: World):
    await world.apply(world.requested())
    late, early = world.assigned(RECEIVER, "sara", sequence=2), world.assigned(RECEIVER, "ahmed", sequence=1)
    await world.assign(late)
    await world.assign(early)
    await world.assign(late)  # delivered again: applied once
    assert world.state.assignments == {("ref-1", RECEIVER): ("sara", 2)}


async def test_an_assignment_by_an_agency_not_party_to_the_referral_is_refused_and_kept_nowhere(world: World):
    await world.apply(world.requested())
    with pytest.raises(Unprocessable, match="not a party of the referral"):
        await world.assign(world.assigned(THIRD, "giulia"))
    with pytest.raises(Unprocessable, match="not in the directory"):
        await world.assign(world.assigned("nowhere", "giulia", referral_id="ref-2"))
    assert world.state.assignments == {}


async def test_a_request_arms_the_receive_reminder_and_escalation(world: World):
    await world.apply(world.requested())
    reminder, escalation = world.timers()
    assert (reminder.kind, reminder.stage, reminder.agency) == (NoticeKind.REMINDER, Stage.RECEIVE, RECEIVER)
    assert (escalation.kind, escalation.stage) == (NoticeKind.ESCALATION, Stage.RECEIVE)


async def test_receiving_stops_the_receive_timers_and_arms_the_decide_ones(world: World):
    requested = world.requested()
    await world.apply(requested)
    await world.apply(world.step(requested, EventName.RECEIVED))
    assert world.state.referrals["ref-1"].status is Status.RECEIVED
    assert world.pending() == [("reminder", "decide"), ("escalation", "decide")]
    assert [t.stage for t in world.timers(TimerState.CANCELLED)] == [Stage.RECEIVE, Stage.RECEIVE]


async def test_a_decision_stops_every_timer(world: World):
    requested = world.requested()
    for item in (requested, world.step(requested, EventName.RECEIVED), world.step(requested, EventName.ACCEPTED)):
        await world.apply(item)
    assert world.state.referrals["ref-1"].status is Status.ACCEPTED
    assert world.pending() == []


async def test_the_same_event_again_tells_no_one_twice(world: World):
    item = world.event(world.requested())
    await world.apply(item)
    await world.apply(item)
    assert world.told("giulia") == [("event", "requested")]
    assert len(world.state.deliveries) == 2  # one e-mail each, once


async def test_an_older_step_of_a_side_changes_nothing_and_tells_no_one(world: World):
    requested = world.requested()
    await world.apply(requested)
    received = world.step(requested, EventName.RECEIVED)
    await world.apply(received)
    await world.apply(world.step(requested, EventName.ACCEPTED))
    # The receiver's step 1 again, under another event id (as a node that sent it twice).
    await world.apply(world.step(requested, EventName.RECEIVED, step=1))
    assert world.state.referrals["ref-1"].status is Status.ACCEPTED
    assert world.pending() == []
    assert world.told("marco") + world.told("op-1") == [("event", "received"), ("event", "accepted")]


async def test_a_cancel_that_crosses_a_rejection_leaves_the_referral_rejected(world: World):
    requested = world.requested()
    await world.apply(requested)
    await world.apply(world.step(requested, EventName.RECEIVED))
    await world.apply(world.step(requested, EventName.REJECTED, reason_code="no-capacity"))
    await world.apply(world.step(requested, EventName.CANCELLED, reason_code="withdrawn"))
    assert world.state.referrals["ref-1"].status is Status.REJECTED


async def test_a_receipt_that_crosses_a_cancel_leaves_it_cancelled_and_arms_nothing(world: World):
    requested = world.requested()
    await world.apply(requested)
    await world.apply(world.step(requested, EventName.CANCELLED, reason_code="withdrawn"))
    await world.apply(world.step(requested, EventName.RECEIVED))  # the node received it meanwhile
    assert world.state.referrals["ref-1"].status is Status.CANCELLED
    assert world.pending() == []
    [told] = world.items_of("op-1")
    assert (told.notice.event, told.notice.status) == ("received", "cancelled")


@pytest.mark.parametrize(
    "events",
    [[EventName.ACCEPTED], [EventName.RECEIVED, EventName.RECEIVED]],
    ids=["accepted before received", "received twice"],
)
async def test_an_event_the_lifecycle_refuses_cannot_be_applied_and_changes_nothing(world: World, events):
    requested = world.requested()
    await world.apply(requested)
    *before, last = [world.step(requested, name) for name in events]
    for item in before:
        await world.apply(item)
    told = len(world.state.items)
    with pytest.raises(Unprocessable, match="the lifecycle refuses it"):
        await world.apply(last)
    assert len(world.state.items) == told
    assert last.id not in world.state.applied  # the dead letter has it, not the inbox


async def test_an_event_of_a_referral_never_requested_cannot_be_applied(world: World):
    with pytest.raises(Unprocessable, match="no requested event"):
        await world.apply(world.step(world.requested(), EventName.RECEIVED))
    assert world.state.referrals == {} and world.state.items == []


async def test_a_second_request_of_one_referral_cannot_be_applied(world: World):
    await world.apply(world.requested())
    with pytest.raises(Unprocessable, match="requested already"):
        await world.apply(world.requested(service_id="second-service"))
    assert world.told("second") == []


async def test_an_event_between_agencies_the_directory_does_not_know_cannot_be_applied(world: World):
    with pytest.raises(Unprocessable, match="not in the directory"):
        await world.apply(world.requested(receiver_agency="csl-lavoro"))
    assert world.state.referrals == {}


async def test_an_agency_webhook_hears_of_the_event_types_it_asked_for(world: World):
    hook = await register_webhook(
        world.ctx, agency=SENDER, url="https://casa.example/hook", event_types=["received"], by="a"
    )
    requested = world.requested()
    await world.apply(requested)
    await world.apply(world.step(requested, EventName.RECEIVED))
    [delivery] = [d for d in world.state.deliveries.values() if d.channel is DeliveryChannel.WEBHOOK]
    assert (delivery.webhook_id, delivery.payload["type"]) == (hook.id, "referral.received")
    assert delivery.payload["data"]["link"].endswith("/referrals/ref-1")


# -- firing timers -----------------------------------------------------------------------


async def test_a_request_not_received_in_time_reminds_the_operators(world: World):
    await world.apply(world.requested())
    world.advance(hours=24)
    assert await fire_due_timers(world.ctx) == 1
    assert world.told("giulia") == [("event", "requested"), ("reminder", "receive")]
    assert world.told("sara") == []
    [(notice, due_at, target_hours, notified)] = world.state.published
    assert (notice.kind, notice.event, notice.acting_agency) == (NoticeKind.REMINDER, "receive", RECEIVER)
    assert (due_at, target_hours, notified) == (START.replace(day=3), 24, 2)


async def test_the_next_missed_target_escalates_to_the_supervisors(world: World):
    await world.apply(world.requested())
    world.advance(hours=120)
    assert await fire_due_timers(world.ctx) == 2
    assert world.told("sara") == [("escalation", "receive")]
    assert world.told("giulia")[-1] == ("reminder", "receive")
    assert [n.kind for n, *_ in world.state.published] == [NoticeKind.REMINDER, NoticeKind.ESCALATION]


async def test_nothing_fires_before_it_is_due(world: World):
    await world.apply(world.requested())
    world.advance(hours=23, minutes=59)
    assert await fire_due_timers(world.ctx) == 0
    assert world.state.published == []


async def test_a_timer_fires_once_however_often_it_is_looked_at(world: World):
    await world.apply(world.requested())
    world.advance(hours=25)
    assert [await fire_due_timers(world.ctx) for _ in range(3)] == [1, 0, 0]
    assert world.told("giulia").count(("reminder", "receive")) == 1


async def test_a_timer_of_a_stage_the_referral_has_left_is_dropped(world: World):
    await world.apply(world.requested())
    # The referral moved on while its receive reminder stayed pending (a replica that
    # armed it and one that moved it raced): firing finds it out.
    world.state.referrals["ref-1"] = replace(world.state.referrals["ref-1"], status=Status.RECEIVED)
    world.advance(hours=25)
    assert await fire_due_timers(world.ctx) == 0
    assert world.told("giulia") == [("event", "requested")]
    assert world.pending() == [("escalation", "receive")]  # not due yet; dropped when it is
    assert [t.kind for t in world.timers(TimerState.CANCELLED)] == [NoticeKind.REMINDER]
