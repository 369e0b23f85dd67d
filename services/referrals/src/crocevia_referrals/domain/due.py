"""When a referral's decision, or the answer to a question, is due, by the contracts' one
rule (``ServiceTarget``): the target of its priority, else the service's routine one. A
decision counts from when the referral was requested, within the target's decision time;
an answer from when the question was asked, within the target's time to receive (a
question is answered as promptly as a referral is acknowledged)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from crocevia_contracts.directory import ServiceTarget
from crocevia_contracts.lifecycle import Status

SOON = timedelta(hours=24)
_RANK = {"overdue": 0, "soon": 1, "on-time": 2, "none": 3}


@dataclass(frozen=True)
class Due:
    """The target a referral is held to, and, while something waits (``kind``: a decision or
    an answer), when it is due (``by``) and whether that is past (``overdue``), within a day
    (``soon``), later (``on-time``); ``none`` when nothing is due."""

    target: ServiceTarget | None
    by: datetime | None
    state: str
    requested_at: datetime
    kind: str = "decide"

    def order(self) -> tuple[int, datetime]:
        """Overdue first, the longest overdue first; then due soon, on time, nothing due."""
        return _RANK[self.state], self.by or self.requested_at


def _state(by: datetime, now: datetime) -> str:
    return "overdue" if by < now else "soon" if by - now < SOON else "on-time"


def due(target: ServiceTarget | None, status: Status, requested_at: datetime, now: datetime) -> Due:
    """What decision is due of a referral in ``status``, requested at ``requested_at``, held
    to ``target`` (``AgencyEntry.target_for``)."""
    if target is None or status is not Status.RECEIVED:
        return Due(target, None, "none", requested_at)
    by = target.decide_by(requested_at)
    return Due(target, by, _state(by, now), requested_at)


def answer_due(target: ServiceTarget | None, asked_at: datetime, requested_at: datetime, now: datetime) -> Due:
    """When the answer to a question asked at ``asked_at`` is due."""
    if target is None:
        return Due(target, None, "none", requested_at, "answer")
    by = target.due(asked_at, target.target.receive_within_hours)
    return Due(target, by, _state(by, now), requested_at, "answer")
