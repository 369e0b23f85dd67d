"""Retention, on fakes: a referral closed longer ago than the agency keeps personal details
is erased as a withdrawal erases it (the receiver confirms with ``personal-data-erased``, the
sender follows; a sender's own erasure is announced too); nothing open, nothing recent,
nothing twice."""

from __future__ import annotations

from datetime import timedelta

from crocevia_contracts.lifecycle import Status
from crocevia_referrals.domain.actions import ActionInput
from crocevia_referrals.handlers.acting import act
from crocevia_referrals.handlers.incoming import apply_batches
from crocevia_referrals.handlers.retention import erase_expired
from crocevia_referrals.handlers.sending import send_referral
from tests.unit.referrals.fakes import NOW, Network, World, delivered
from tests.unit.referrals.test_handlers import CPIA, CSL, OPERATOR, RECEIVER, agency, casa, request, world

KEEP = timedelta(days=180)


async def closed_referral(outcome: str = "got-help") -> tuple[World, World, Network, str]:
    sender, receiver = casa(), world(CPIA, agency("pioltello-casa"), agency(CSL))
    network = Network(sender, receiver)
    rid = (await send_referral(sender.node, OPERATOR, request())).referral_id
    await network.deliver()
    for action in (ActionInput("accept"), ActionInput("start"), ActionInput("complete", outcome=outcome)):
        await act(receiver.node, RECEIVER, rid, action)
    await network.deliver()
    return sender, receiver, network, rid


def later(w: World, by: timedelta) -> None:
    w.node.clock = lambda: NOW + by


async def test_a_referral_closed_past_retention_is_erased_at_both_nodes_through_the_trail() -> None:
    sender, receiver, network, rid = await closed_referral()
    later(receiver, KEEP + timedelta(seconds=1))
    assert await erase_expired(receiver.node, KEEP) == [rid]
    erased = receiver.referral(rid)
    assert erased.personal is None and erased.erasure is not None and erased.erasure.reason == "retention-expired"
    assert erased.status is Status.COMPLETED, "the public part stays"
    confirmation = receiver.published[-1]
    assert (confirmation.data.event, confirmation.data.reason) == ("personal-data-erased", "retention-expired")  # type: ignore[attr-defined]
    assert receiver.uow.compactions == 1
    await network.deliver()
    copy = sender.referral(rid)
    assert copy.personal is None and copy.erasure is not None and copy.erasure.reason == "retention-expired"
    assert await erase_expired(receiver.node, KEEP) == [], "nothing twice"


async def test_nothing_recent_and_nothing_open_is_erased() -> None:
    sender, receiver, network, rid = await closed_referral()
    later(receiver, KEEP - timedelta(seconds=1))
    assert await erase_expired(receiver.node, KEEP) == []
    open_id = (await send_referral(sender.node, OPERATOR, request())).referral_id
    await network.deliver()
    await act(receiver.node, RECEIVER, open_id, ActionInput("accept"))
    later(receiver, KEEP * 3)
    assert await erase_expired(receiver.node, KEEP) == [rid]
    assert receiver.referral(open_id).personal is not None
    assert receiver.uow.compactions == 1


async def test_a_sender_past_its_own_retention_erases_its_copy_and_says_so_on_the_trail() -> None:
    sender, receiver, network, rid = await closed_referral()
    published = len(sender.published)
    later(sender, KEEP * 2)
    assert await erase_expired(sender.node, KEEP) == [rid]
    first = sender.referral(rid).erasure
    assert first is not None and len(sender.published) == published + 1
    announced = sender.published[-1].data
    assert (announced.event, announced.reason) == ("personal-data-erased", "retention-expired")  # type: ignore[attr-defined]
    await network.deliver()
    copy = receiver.referral(rid)
    assert copy.personal is not None and copy.erasure is None, "the receiver keeps its copy for its own period"
    assert copy.history[-1].event == "personal-data-erased", "the receiver records the sender's erasure"
    assert copy.status is Status.COMPLETED
    # The receiver's own period ends later: its erasure reaches a sender that erased already.
    later(receiver, KEEP * 3)
    assert await erase_expired(receiver.node, KEEP) == [rid]
    await network.deliver()
    assert sender.referral(rid).erasure == first, "the sender keeps the record of its own erasure"
    assert len(sender.published) == published + 1, "and does not answer an erasure with another"


async def test_a_batch_of_events_that_erases_leaves_the_files_to_forget_once_it_committed() -> None:
    sender, receiver, _network, rid = await closed_referral()
    later(receiver, KEEP + timedelta(seconds=1))
    assert await erase_expired(receiver.node, KEEP) == [rid]
    apply = apply_batches(sender.node)
    confirmation = receiver.published[-1]
    sequence = len(receiver.published)
    item = delivered(CPIA, sender.node.agency_id, confirmation.data, sequence, confirmation.event_id)
    assert await apply([item]) == [None]
    assert sender.referral(rid).personal is None and sender.uow.compactions == 1
    assert await apply([item]) == [None], "a redelivery"
    assert sender.uow.compactions == 1, "nothing erased, nothing to forget"
