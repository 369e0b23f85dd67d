"""Reminders and escalations, from the response targets of the receiving service.

A referral waits in two stages: to be received (the receiving node stores it), then to be
decided (accepted or rejected). When a stage's target passes, the receiving operators get
a reminder; when the next target passes too, the receiving agency's supervisors are
escalated to:

- receive stage (armed when requested): reminder at ``T + receive``, escalation at
  ``T + decide`` (the next target);
- decide stage (armed when received): reminder at ``T + decide``, escalation one receive
  window later, at ``T + decide + receive``.

``T`` is when the referral was requested; a target counted in working days skips the
receiving agency's weekends, holidays and closures. A stage closes as soon as the referral moves on,
and its timers with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from crocevia_contracts.directory import ServiceTarget
from crocevia_notifications.domain.notices import NoticeKind


class Stage(StrEnum):
    RECEIVE = "receive"
    DECIDE = "decide"


# The stage a referral of each status waits in; any other status waits in none.
WAITING_IN: dict[str, Stage] = {"requested": Stage.RECEIVE, "received": Stage.DECIDE}


@dataclass(frozen=True, slots=True)
class PlannedTimer:
    kind: NoticeKind  # REMINDER or ESCALATION
    stage: Stage
    due_at: datetime
    target_hours: float  # the target that this timer reports missed


def plan(stage: Stage, requested_at: datetime, target: ServiceTarget) -> list[PlannedTimer]:
    """The reminder and the escalation of ``stage`` for a referral requested at
    ``requested_at``, by the one rule of ``ServiceTarget``."""
    receive, decide = target.target.receive_within_hours, target.target.decide_within_hours

    def timer(kind: NoticeKind, hours: float) -> PlannedTimer:
        return PlannedTimer(kind, stage, target.due(requested_at, hours), hours)

    if stage is Stage.RECEIVE:
        return [timer(NoticeKind.REMINDER, receive), timer(NoticeKind.ESCALATION, decide)]
    return [timer(NoticeKind.REMINDER, decide), timer(NoticeKind.ESCALATION, decide + receive)]


def stage_open(stage: Stage, status: str) -> bool:
    """Whether a referral of ``status`` still waits in ``stage``."""
    return WAITING_IN.get(status) is stage
