"""Reminders and escalations from a service's response targets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crocevia_notifications.domain.notices import NoticeKind
from crocevia_notifications.domain.timers import Stage, plan, stage_open

T = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_a_request_not_received_in_time_is_reminded_then_escalated_at_the_decision_target():
    reminder, escalation = plan(Stage.RECEIVE, T, receive_hours=24, decide_hours=120)
    assert (reminder.kind, reminder.due_at, reminder.target_hours) == (NoticeKind.REMINDER, T + timedelta(hours=24), 24)
    assert (escalation.kind, escalation.due_at) == (NoticeKind.ESCALATION, T + timedelta(hours=120))


def test_a_received_referral_not_decided_in_time_is_reminded_then_escalated_one_receive_window_later():
    reminder, escalation = plan(Stage.DECIDE, T, receive_hours=4, decide_hours=24)
    assert reminder.due_at == T + timedelta(hours=24)
    assert escalation.due_at == T + timedelta(hours=28)


def test_a_stage_closes_as_soon_as_the_referral_moves_on():
    assert stage_open(Stage.RECEIVE, "requested")
    assert not stage_open(Stage.RECEIVE, "received")
    assert stage_open(Stage.DECIDE, "received")
    for status in ("accepted", "rejected", "cancelled", "in-progress", "completed"):
        assert not stage_open(Stage.DECIDE, status)
