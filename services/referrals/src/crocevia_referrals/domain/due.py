"""When a referral's decision is due, by the contracts' one rule (``ServiceTarget``): the
target of its priority, else the service's routine one, counted from when it was requested."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from crocevia_contracts.directory import ServiceTarget
from crocevia_contracts.lifecycle import Status

SOON = timedelta(hours=24)
_RANK = {"overdue": 0, "soon": 1, "on-time": 2, "none": 3}


@dataclass(frozen=True)
class Due:
    """The target a referral is held to, and, while its decision waits, when it is due and
    whether that is past (``overdue``), within a day (``soon``), later (``on-time``);
    ``none`` when nothing is due."""

    target: ServiceTarget | None
    decide_by: datetime | None
    state: str
    requested_at: datetime

    def order(self) -> tuple[int, datetime]:
        """Overdue first, the longest overdue first; then due soon, on time, nothing due."""
        return _RANK[self.state], self.decide_by or self.requested_at


def due(target: ServiceTarget | None, status: Status, requested_at: datetime, now: datetime) -> Due:
    """What is due of a referral in ``status``, requested at ``requested_at``, held to
    ``target`` (``AgencyEntry.target_for``)."""
    if target is None or status is not Status.RECEIVED:
        return Due(target, None, "none", requested_at)
    decide_by = target.decide_by(requested_at)
    state = "overdue" if decide_by < now else "soon" if decide_by - now < SOON else "on-time"
    return Due(target, decide_by, state, requested_at)
