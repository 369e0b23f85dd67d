"""Reminders and escalations from a service's response targets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crocevia_contracts.directory import Counting, ResponseTarget, ServiceTarget, WorkingCalendar
from crocevia_notifications.domain.notices import NoticeKind
from crocevia_notifications.domain.timers import Stage, plan, stage_open

T = datetime(2026, 11, 2, 9, tzinfo=UTC)  # a Monday
ROME = WorkingCalendar()


def target(receive: float, decide: float, counting: Counting = Counting.CLOCK) -> ResponseTarget:
    return ResponseTarget(receive_within_hours=receive, decide_within_hours=decide, counting=counting)


def test_a_request_not_received_in_time_is_reminded_then_escalated_at_the_decision_target():
    reminder, escalation = plan(Stage.RECEIVE, T, ServiceTarget(target(24, 120), ROME))
    assert (reminder.kind, reminder.due_at, reminder.target_hours) == (NoticeKind.REMINDER, T + timedelta(hours=24), 24)
    assert (escalation.kind, escalation.due_at) == (NoticeKind.ESCALATION, T + timedelta(hours=120))


def test_a_received_referral_not_decided_in_time_is_reminded_then_escalated_one_receive_window_later():
    reminder, escalation = plan(Stage.DECIDE, T, ServiceTarget(target(4, 24), ROME))
    assert reminder.due_at == T + timedelta(hours=24)
    assert escalation.due_at == T + timedelta(hours=28)


def test_working_day_targets_skip_the_weekend_for_reminders_and_escalations():
    friday = datetime(2026, 11, 6, 15, tzinfo=UTC)  # 16:00 in Rome
    reminder, escalation = plan(Stage.RECEIVE, friday, ServiceTarget(target(24, 48, Counting.WORKING_DAYS), ROME))
    assert reminder.due_at == datetime(2026, 11, 9, 15, tzinfo=UTC)  # Monday, not Saturday
    assert escalation.due_at == datetime(2026, 11, 10, 15, tzinfo=UTC)  # Tuesday
    assert (reminder.target_hours, escalation.target_hours) == (24, 48)
    _, late = plan(Stage.DECIDE, friday, ServiceTarget(target(24, 48, Counting.WORKING_DAYS), ROME))
    assert late.due_at == datetime(2026, 11, 11, 15, tzinfo=UTC)  # three working days: Wednesday


def test_a_stage_closes_as_soon_as_the_referral_moves_on():
    assert stage_open(Stage.RECEIVE, "requested")
    assert not stage_open(Stage.RECEIVE, "received")
    assert stage_open(Stage.DECIDE, "received")
    for status in ("accepted", "rejected", "cancelled", "in-progress", "completed"):
        assert not stage_open(Stage.DECIDE, status)
