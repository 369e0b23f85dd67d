"""A followed referral's status is the lifecycle's, moved by each side's newer events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crocevia_contracts import EventName
from crocevia_contracts.lifecycle import Side, Status, TransitionRefused
from crocevia_notifications.domain.referral import Followed

REFERRAL = Followed(
    id="ref-1",
    sender_agency="pioltello-casa",
    receiver_agency="cpia2",
    service_id="main-service",
    priority="routine",
    requested_at=datetime(2026, 11, 2, 8, tzinfo=UTC),
    owner_sub="op-1",
    sender_step=1,
)


def test_an_event_moves_the_status_as_the_lifecycle_says_and_counts_its_side_s_step():
    observed = REFERRAL.observe(EventName.RECEIVED, Side.RECEIVER, 1)
    assert observed.news and observed.ignored is None
    assert (observed.referral.status, observed.referral.receiver_step, observed.referral.sender_step) == (
        Status.RECEIVED,
        1,
        1,
    )


def test_an_event_not_newer_than_its_side_s_last_one_changes_nothing():
    accepted = REFERRAL.observe(EventName.RECEIVED, Side.RECEIVER, 1).referral
    accepted = accepted.observe(EventName.ACCEPTED, Side.RECEIVER, 2).referral
    late = accepted.observe(EventName.RECEIVED, Side.RECEIVER, 1)
    assert not late.news and late.referral == accepted


def test_the_other_side_s_steps_are_counted_apart():
    received = REFERRAL.observe(EventName.RECEIVED, Side.RECEIVER, 1).referral
    cancelled = received.observe(EventName.CANCELLED, Side.SENDER, 2)
    assert cancelled.news and cancelled.referral.status is Status.CANCELLED


def test_events_that_do_not_state_their_step_apply_in_the_order_they_come():
    received = REFERRAL.observe(EventName.RECEIVED, Side.RECEIVER, None).referral
    assert received.observe(EventName.ACCEPTED, Side.RECEIVER, None).referral.status is Status.ACCEPTED


def test_a_closing_step_of_the_receiver_that_crossed_a_cancel_wins():
    cancelled = REFERRAL.observe(EventName.RECEIVED, Side.RECEIVER, 1).referral
    cancelled = cancelled.observe(EventName.CANCELLED, Side.SENDER, 2).referral
    rejected = cancelled.observe(EventName.REJECTED, Side.RECEIVER, 2)
    assert rejected.referral.status is Status.REJECTED and rejected.ignored is None


def test_a_step_of_the_receiver_that_crossed_a_cancel_is_ignored_but_counted():
    cancelled = REFERRAL.observe(EventName.CANCELLED, Side.SENDER, 2).referral
    received = cancelled.observe(EventName.RECEIVED, Side.RECEIVER, 1)
    assert received.referral.status is Status.CANCELLED and received.ignored
    assert received.referral.receiver_step == 1


def test_an_event_the_lifecycle_never_allows_from_the_status_is_refused():
    with pytest.raises(TransitionRefused):
        REFERRAL.observe(EventName.COMPLETED, Side.RECEIVER, 1)
