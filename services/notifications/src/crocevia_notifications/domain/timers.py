"""Reminders and escalations, from the response target of the receiving service.

A referral waits in two stages: to be received (the receiving node stores it), then to be
decided (accepted or rejected). When a stage's target passes, the receiving operators get
a reminder; when the next target passes too, the receiving agency's supervisors are
escalated to:

- receive stage (armed when requested): reminder when it should have been received
  (``receive_by``), escalation when it should have been decided (``decide_by``);
- decide stage (armed when received): reminder at ``decide_by``, escalation one receive
  window later.

Every time is the contracts' ``ServiceTarget``'s: counted from the ``requested`` event's
``occurred_at``, the priority's target else the routine one, on the clock or on the
receiving agency's working days. A stage closes as soon as the referral's status leaves it,
and its timers with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from crocevia_contracts import EventName
from crocevia_contracts.directory import ServiceTarget
from crocevia_contracts.lifecycle import Status
from crocevia_notifications.domain.notices import NoticeKind


class Stage(StrEnum):
    RECEIVE = "receive"
    DECIDE = "decide"


class TimerState(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


# The stage a referral of each status waits in; any other status waits in none.
WAITING_IN: dict[Status, Stage] = {Status.REQUESTED: Stage.RECEIVE, Status.RECEIVED: Stage.DECIDE}
# The event that opens each stage's timers.
OPENED_BY: dict[EventName, Stage] = {EventName.REQUESTED: Stage.RECEIVE, EventName.RECEIVED: Stage.DECIDE}


@dataclass(frozen=True, slots=True)
class PlannedTimer:
    kind: NoticeKind  # REMINDER or ESCALATION
    stage: Stage
    due_at: datetime
    target_hours: float  # the target that this timer reports missed


@dataclass(frozen=True, slots=True)
class Timer:
    """An armed timer of a referral; its ``id`` is also the id of the notice it fires."""

    id: str
    referral_id: str
    kind: NoticeKind
    stage: Stage
    agency: str  # the agency that must act: the receiver
    due_at: datetime
    target_hours: float
    state: TimerState = TimerState.PENDING


def plan(stage: Stage, requested_at: datetime, target: ServiceTarget) -> list[PlannedTimer]:
    """The reminder and the escalation of ``stage`` for a referral requested at
    ``requested_at``, by the one rule of ``ServiceTarget``."""
    receive, decide = target.target.receive_within_hours, target.target.decide_within_hours
    if stage is Stage.RECEIVE:
        return [
            PlannedTimer(NoticeKind.REMINDER, stage, target.receive_by(requested_at), receive),
            PlannedTimer(NoticeKind.ESCALATION, stage, target.decide_by(requested_at), decide),
        ]
    return [
        PlannedTimer(NoticeKind.REMINDER, stage, target.decide_by(requested_at), decide),
        PlannedTimer(NoticeKind.ESCALATION, stage, target.due(requested_at, decide + receive), decide + receive),
    ]


def stage_open(stage: Stage, status: Status) -> bool:
    """Whether a referral of ``status`` still waits in ``stage``."""
    return WAITING_IN.get(status) is stage


def closed_stages(status: Status) -> list[Stage]:
    """The stages a referral of ``status`` no longer waits in: their timers stop."""
    return [stage for stage in Stage if not stage_open(stage, status)]
