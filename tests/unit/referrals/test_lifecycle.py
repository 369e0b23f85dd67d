"""The referral lifecycle, as both nodes enforce it."""

from __future__ import annotations

import pytest

from crocevia_contracts import EventName
from crocevia_contracts.lifecycle import (
    OPEN,
    STEPS,
    TERMINAL,
    Side,
    Status,
    TransitionRefused,
    allowed_actions,
    apply_event,
    decide,
    settle,
)

S, R = Side.SENDER, Side.RECEIVER


def walk(*actions: tuple[str, Side]) -> Status:
    status = Status.REQUESTED
    for action, side in actions:
        status = decide(action, status, side).target(status)
    return status


def test_the_happy_path_closes_the_loop():
    assert walk(("receive", R), ("accept", R), ("start", R), ("complete", R)) is Status.COMPLETED


def test_hold_and_resume_return_to_in_progress():
    assert walk(("receive", R), ("accept", R), ("start", R), ("hold", R), ("resume", R)) is Status.IN_PROGRESS


def test_rejected_referral_cannot_be_accepted():
    status = walk(("receive", R), ("reject", R))
    with pytest.raises(TransitionRefused) as refused:
        decide("accept", status, R)
    assert refused.value.current is Status.REJECTED
    assert refused.value.allowed == []


def test_a_sender_cannot_accept_and_a_receiver_cannot_cancel():
    with pytest.raises(TransitionRefused, match="only the receiver"):
        decide("accept", Status.RECEIVED, S)
    with pytest.raises(TransitionRefused, match="only the sender"):
        decide("cancel", Status.RECEIVED, R)


def test_a_refusal_names_what_is_allowed_instead():
    with pytest.raises(TransitionRefused) as refused:
        decide("complete", Status.RECEIVED, R)
    assert refused.value.allowed == ["accept", "reject", "request-info", "provide-info"]


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_nothing_but_consent_withdrawal_follows_a_closed_referral(status):
    assert allowed_actions(status, S) == ["withdraw-consent"]
    assert allowed_actions(status, R) == []


@pytest.mark.parametrize("status", sorted(OPEN))
def test_the_sender_may_cancel_while_the_referral_is_open(status):
    assert decide("cancel", status, S).to is Status.CANCELLED


def test_information_requests_do_not_change_the_status():
    for side in Side:
        assert decide("request-info", Status.ACCEPTED, side).target(Status.ACCEPTED) is Status.ACCEPTED


def test_the_event_path_enforces_the_same_table():
    assert apply_event(EventName.ACCEPTED, Status.RECEIVED, R) is Status.ACCEPTED
    with pytest.raises(TransitionRefused):
        apply_event(EventName.ACCEPTED, Status.RECEIVED, S)
    with pytest.raises(TransitionRefused):
        apply_event(EventName.COMPLETED, Status.RECEIVED, R)


def test_a_cancel_that_reaches_a_closed_referral_is_ignored_there():
    settled = settle(EventName.CANCELLED, Status.REJECTED, S)
    assert settled.status is Status.REJECTED and settled.ignored


def test_the_sender_takes_the_receivers_closing_status_over_its_crossing_cancel():
    assert settle(EventName.REJECTED, Status.CANCELLED, R).status is Status.REJECTED


def test_the_sender_ignores_a_receiver_step_that_crossed_its_cancel():
    settled = settle(EventName.ACCEPTED, Status.CANCELLED, R)
    assert settled.status is Status.CANCELLED and settled.ignored


def test_every_action_has_one_event():
    assert {s.event for s in STEPS.values()} <= set(EventName)
