"""The sender's to-do list and open questions, on in-memory fakes: a question opens at both
nodes and its answer clears it; the answer is refused when nothing was asked; what waits
for each side, and why."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crocevia_contracts.lifecycle import Side, Status, TransitionRefused
from crocevia_referrals import views
from crocevia_referrals.domain.actions import ActionInput
from crocevia_referrals.domain.errors import Invalid, NotFound
from crocevia_referrals.domain.waiting import Reason
from crocevia_referrals.handlers.acting import act
from crocevia_referrals.handlers.sending import close_rejection, redirect, send_referral
from tests.unit.referrals.fakes import NOW, Network, World, agency, world
from tests.unit.referrals.test_handlers import CASA, CPIA, CSL, OPERATOR, RECEIVER, casa, request, snapshot


async def both_nodes() -> tuple[World, World, Network, str]:
    sender, receiver = casa(), world(CPIA, agency(CASA), agency(CSL))
    rid = (await send_referral(sender.node, OPERATOR, request())).referral_id
    network = Network(sender, receiver)
    await network.deliver()
    return sender, receiver, network, rid


async def reasons_at(w: World, referral_id: str, now: object = NOW) -> list[Reason]:
    found = {e.referral.id: e.waiting.reasons for e in (await views.needs_us(w.reads, now)).waiting}  # type: ignore[arg-type]
    return found.get(referral_id, [])


async def test_a_question_opens_at_both_nodes_and_its_answer_clears_it() -> None:
    sender, receiver, network, rid = await both_nodes()
    await act(receiver.node, RECEIVER, rid, ActionInput("request-info", note="Which evening is free?"))
    await network.deliver()
    for node in (sender, receiver):
        assert node.referral(rid).questions == {Side.SENDER: NOW}
    assert "provide-info" in sender.referral(rid).allowed_actions
    assert "provide-info" not in receiver.referral(rid).allowed_actions, "the asker does not answer itself"
    assert await reasons_at(sender, rid) == [Reason.ANSWER]
    assert await reasons_at(receiver, rid) == [Reason.DECIDE]

    await act(sender.node, OPERATOR, rid, ActionInput("provide-info", note="Tuesdays"))
    await network.deliver()
    for node in (sender, receiver):
        assert node.referral(rid).questions == {}
    assert await reasons_at(sender, rid) == []


async def test_an_answer_when_nothing_was_asked_is_refused_and_changes_nothing() -> None:
    sender, _, _, rid = await both_nodes()
    before = snapshot(sender)
    with pytest.raises(TransitionRefused, match="no question") as refused:
        await act(sender.node, OPERATOR, rid, ActionInput("provide-info", note="Tuesdays"))
    assert "provide-info" not in refused.value.allowed
    assert sender.uow.stored == before


async def test_a_second_question_that_crosses_the_first_answer_stays_open_at_both_nodes() -> None:
    sender, receiver, network, rid = await both_nodes()
    await act(sender.node, OPERATOR, rid, ActionInput("request-info", note="When can she start?"))
    await network.deliver()
    sender.node.clock = lambda: NOW + timedelta(minutes=1)
    receiver.node.clock = lambda: NOW + timedelta(minutes=2)
    await act(sender.node, OPERATOR, rid, ActionInput("request-info", note="And which level?"))
    await act(receiver.node, RECEIVER, rid, ActionInput("provide-info", note="Monday"))
    await network.deliver()
    for node in (sender, receiver):
        assert node.referral(rid).questions == {Side.RECEIVER: NOW + timedelta(minutes=1)}


async def test_a_closed_referral_has_no_open_question() -> None:
    sender, receiver, network, rid = await both_nodes()
    await act(receiver.node, RECEIVER, rid, ActionInput("request-info", note="Which evening is free?"))
    await network.deliver()
    await act(sender.node, OPERATOR, rid, ActionInput("cancel", reason_code="no-longer-needed"))
    await network.deliver()
    for node in (sender, receiver):
        assert (node.referral(rid).status, node.referral(rid).questions) == (Status.CANCELLED, {})


async def test_a_rejection_waits_for_the_sender_until_it_is_sent_again() -> None:
    sender, receiver, network, rid = await both_nodes()
    await act(receiver.node, RECEIVER, rid, ActionInput("reject", reason_code="out-of-area"))
    await network.deliver()
    assert await reasons_at(sender, rid) == [Reason.REDIRECT]
    await redirect(sender.node, OPERATOR, rid, CSL, "main-service")
    assert await reasons_at(sender, rid) == []


async def test_a_rejection_closed_without_sending_it_again_waits_no_more() -> None:
    sender, receiver, network, rid = await both_nodes()
    with pytest.raises(Invalid, match="only a rejected referral can be closed"):
        await close_rejection(sender.node, rid)
    await act(receiver.node, RECEIVER, rid, ActionInput("reject", reason_code="out-of-area"))
    await network.deliver()
    with pytest.raises(NotFound):
        await close_rejection(receiver.node, rid)
    published = len(sender.published)
    await close_rejection(sender.node, rid)
    assert sender.referral(rid).closed_at == NOW and len(sender.published) == published, "nothing travels"
    assert await reasons_at(sender, rid) == []


async def test_a_decision_overdue_at_the_receiver_waits_for_the_sender_to_chase() -> None:
    sender, _, _, rid = await both_nodes()
    decide_within = timedelta(hours=120)  # the routine target of ``agency``
    assert await reasons_at(sender, rid, NOW + decide_within - timedelta(minutes=1)) == []
    assert await reasons_at(sender, rid, NOW + decide_within + timedelta(minutes=1)) == [Reason.CHASE]


async def test_a_question_is_due_by_the_services_target_from_when_it_was_asked() -> None:
    sender, receiver, network, rid = await both_nodes()
    receiver.node.clock = lambda: NOW + timedelta(hours=3)
    await act(receiver.node, RECEIVER, rid, ActionInput("request-info", note="Which evening is free?"))
    await network.deliver()
    [entry] = (await views.needs_us(sender.reads, NOW + timedelta(hours=4))).waiting
    assert entry.due.kind == "answer"
    assert entry.due.by == NOW + timedelta(hours=3) + timedelta(hours=24)  # routine: receive within 24 hours
    assert entry.due.state == "soon"
