"""The steering committee's indicators, computed from trail events alone.

Referrals are counted in the month (and time range) they were *requested*, so each
referral belongs to exactly one cohort and its later steps are counted with it, however
late they come. Times run from the ``requested`` event's ``occurred_at`` to the first
``received``, the first ``accepted`` or ``rejected``, and ``completed``. The median is
the middle value (the mean of the two middle ones for an even count); the 90th
percentile is the nearest-rank one (the smallest value at or above 90% of the values).
A response target is missed when the step came later than the target, or has not come
and the target has passed at ``as_of``. The target is the contracts' one rule
(``ServiceTarget``: the priority's, else the routine one; from the ``requested`` event's
``occurred_at``; on the receiving agency's calendar), the one reminders count by too.

Reminders and escalations (notices) are counted with the referral they are about; they
are not lifecycle steps, so they change none of the other numbers, and the referral's
parties, service, domain and priority come from its first lifecycle event.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

from crocevia_contracts.directory import ServiceTarget

DIMENSIONS = ("pair", "service", "domain", "month")
NOTICES = ("reminder", "escalation")  # the ``event`` of a notice's trail entry
# The lifecycle steps whose first time the indicators read (``Group.add``).
STEPS = (
    "requested",
    "received",
    "accepted",
    "rejected",
    "completed",
    "failed",
    "cancelled",
    "consent-withdrawn",
    "personal-data-erased",
)


@dataclass(frozen=True, slots=True)
class TrailEvent:
    referral_id: str
    event: str
    sender_agency: str
    receiver_agency: str
    service_id: str
    domain: str | None
    priority: str
    occurred_at: datetime
    reason_code: str | None = None
    outcome: str | None = None


# The target a referral is held to: (receiving agency, service id, priority) -> the
# directory's ``AgencyEntry.target_for`` (``DirectoryView.target_for``), None when the
# service states none or the agency is not in the directory.
TargetOf = Callable[[str, str, str], ServiceTarget | None]


@dataclass
class Referral:
    """One referral's story, as far as the trail tells it."""

    first: TrailEvent
    at: dict[str, datetime] = field(default_factory=dict)  # event name -> first time seen
    reason_code: str | None = None
    outcome: str | None = None
    facts: TrailEvent | None = None  # the first lifecycle event (not a notice)
    notices: Counter[str] = field(default_factory=Counter)  # reminder/escalation -> how many

    def add(self, event: TrailEvent) -> None:
        if event.event in NOTICES:
            self.notices[event.event] += 1
            return
        if self.facts is None:
            self.facts = event
        self.at.setdefault(event.event, event.occurred_at)
        if event.event == "rejected":
            self.reason_code = event.reason_code
        if event.event == "completed":
            self.outcome = event.outcome

    def decided_at(self) -> datetime | None:
        times = [self.at[name] for name in ("accepted", "rejected") if name in self.at]
        return min(times) if times else None


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th quantile of ``values`` (0 < q <= 1)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def summary_ranks(count: int) -> tuple[int, int, int]:
    """The 1-based ranks, among ``count`` sorted values, that the summary reads: the two
    the median is the mean of (one rank twice for an odd count) and the 90th percentile's.
    ``(count * 9 + 9) // 10`` is ``ceil(0.9 * count)`` without floating point."""
    return (count + 1) // 2, (count + 2) // 2, (count * 9 + 9) // 10


@dataclass(frozen=True, slots=True)
class Summary:
    """How many times were measured, their median and their 90th percentile, in seconds."""

    count: int = 0
    median: float | None = None
    p90: float | None = None

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            return cls()
        return cls(len(values), statistics.median(values), percentile(values, 0.9))

    @classmethod
    def of_microseconds(cls, values: list[int]) -> Summary:
        """What ``of`` gives for ``values`` in seconds, from the values in whole
        microseconds (sorted in place): only the ones at ``summary_ranks`` are divided."""
        if not values:
            return cls()
        values.sort()
        low, high, p90 = (values[rank - 1] / 1e6 for rank in summary_ranks(len(values)))
        return cls(len(values), low if low == high else (low + high) / 2, p90)

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "median_seconds": self.median, "p90_seconds": self.p90}


def summary(values: Sequence[float]) -> dict[str, Any]:
    return Summary.of(values).as_dict()


_HOLIDAYS_DATA = version("holidays")  # public holidays come from this package's data


def fingerprint(target: ServiceTarget) -> str:
    """What due times computed under ``target`` depend on: the target, the working calendar
    and the public holidays' data. Stored with them, it tells whether they still hold."""
    said = target.target.model_dump_json() + target.calendar.model_dump_json() + _HOLIDAYS_DATA
    return hashlib.sha256(said.encode()).hexdigest()[:32]


def missed(
    received: datetime | None, decided: datetime | None, receive_by: datetime, decide_by: datetime, as_of: datetime
) -> tuple[bool, bool]:
    """Whether the receive and the decide targets were missed: the step came after its due
    time, or has not come and the due time has passed at ``as_of``."""
    return (received or as_of) > receive_by, (decided or as_of) > decide_by


@dataclass
class Group:
    counts: Counter[str] = field(default_factory=Counter)
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    completed_by_outcome: Counter[str] = field(default_factory=Counter)
    to_receive: list[float] = field(default_factory=list)
    to_decide: list[float] = field(default_factory=list)
    to_complete: list[float] = field(default_factory=list)
    # Summaries computed elsewhere (in SQL), used instead of the lists above when set.
    summaries: dict[str, Summary] = field(default_factory=dict)

    def add(self, referral: Referral, target: ServiceTarget | None, as_of: datetime) -> None:
        at, requested = referral.at, referral.at["requested"]
        self.counts["requested"] += 1
        self.counts["reminders"] += referral.notices["reminder"]
        self.counts["escalations"] += referral.notices["escalation"]
        for name in STEPS[1:-1]:
            self.counts[name] += name in at
        if "rejected" in at:
            self.rejected_by_reason[referral.reason_code or "unspecified"] += 1
        if "completed" in at:
            self.completed_by_outcome[referral.outcome or "unspecified"] += 1
        if "consent-withdrawn" in at and "personal-data-erased" not in at:
            self.counts["erasures_pending"] += 1
        decided = referral.decided_at()
        for values, moment in (
            (self.to_receive, at.get("received")),
            (self.to_decide, decided),
            (self.to_complete, at.get("completed")),
        ):
            if moment is not None:
                values.append((moment - requested).total_seconds())
        if target is None:
            self.counts["targets_unknown"] += 1
            return
        self.count_missed(
            *missed(at.get("received"), decided, target.receive_by(requested), target.decide_by(requested), as_of)
        )

    def count_missed(self, receive: int, decide: int) -> None:
        self.counts["missed_receive"] += receive
        self.counts["missed_decide"] += decide

    def summary(self, name: str) -> dict[str, Any]:
        values = {"time_to_receive": self.to_receive, "time_to_decide": self.to_decide}
        values["time_to_complete"] = self.to_complete
        found = self.summaries.get(name)
        return (found or Summary.of(values[name])).as_dict()

    def as_dict(self) -> dict[str, Any]:
        c = self.counts
        return {
            "requested": c["requested"],
            "received": c["received"],
            "accepted": c["accepted"],
            "rejected": c["rejected"],
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
            "completed": c["completed"],
            "completed_by_outcome": dict(sorted(self.completed_by_outcome.items())),
            "failed": c["failed"],
            "cancelled": c["cancelled"],
            "time_to_receive": self.summary("time_to_receive"),
            "time_to_accept_or_reject": self.summary("time_to_decide"),
            "time_to_complete": self.summary("time_to_complete"),
            "targets_missed": {
                "receive": c["missed_receive"],
                "accept_or_reject": c["missed_decide"],
                "without_target": c["targets_unknown"],
            },
            "consent_withdrawals": c["consent-withdrawn"],
            "erasures_pending": c["erasures_pending"],
            "reminders": c["reminders"],
            "escalations": c["escalations"],
        }


# The referral's facts each grouping reads, in the order of ``DIMENSIONS``; ``month`` is
# the UTC month it was requested in.
_GROUP_FIELDS = {
    "pair": ("sender_agency", "receiver_agency"),
    "service": ("receiver_agency", "service_id"),
    "domain": ("domain",),
    "month": ("month",),
}


def group_fields(dimensions: Sequence[str]) -> tuple[str, ...]:
    """The fields a group of ``dimensions`` is keyed by, each once, in key order."""
    return tuple(dict.fromkeys(f for d in DIMENSIONS if d in dimensions for f in _GROUP_FIELDS[d]))


def month_of(requested: datetime) -> str:
    return requested.astimezone(UTC).strftime("%Y-%m")


GroupKey = tuple[tuple[str, Any], ...]


def group_key(first: TrailEvent, requested: datetime, dimensions: Sequence[str]) -> GroupKey:
    return tuple(
        (name, month_of(requested) if name == "month" else getattr(first, name)) for name in group_fields(dimensions)
    )


def group_rows(groups: dict[GroupKey, Group]) -> list[dict[str, Any]]:
    """One row per group, sorted by group."""
    return [
        {"group": dict(key), **groups[key].as_dict()} for key in sorted(groups, key=lambda k: [str(v) for _, v in k])
    ]


class Tally:
    """Referrals folded into groups one at a time, so memory grows with groups, not events."""

    def __init__(
        self,
        *,
        dimensions: Sequence[str],
        targets: TargetOf,
        as_of: datetime,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> None:
        self.dimensions = dimensions
        self.targets = targets
        self.as_of = as_of
        self.since = since
        self.until = until
        self.groups: dict[GroupKey, Group] = {}
        self._targets: dict[tuple[str, str, str], ServiceTarget | None] = {}  # asked once per tally
        self._current: Referral | None = None

    def add_event(self, event: TrailEvent) -> None:
        """Fold the next event in: events come grouped by referral, each referral's in trail order."""
        if self._current is not None and self._current.first.referral_id != event.referral_id:
            self.add(self._current)
            self._current = None
        if self._current is None:
            self._current = Referral(event)
        self._current.add(event)

    def add(self, referral: Referral) -> None:
        requested = referral.at.get("requested")
        if requested is None or (self.since and requested < self.since) or (self.until and requested >= self.until):
            return
        first = referral.facts or referral.first
        key = group_key(first, requested, self.dimensions)
        held_to = (first.receiver_agency, first.service_id, first.priority)
        if held_to not in self._targets:
            self._targets[held_to] = self.targets(*held_to)
        target = self._targets[held_to]
        self.groups.setdefault(key, Group()).add(referral, target, self.as_of)

    def rows(self) -> list[dict[str, Any]]:
        """One row per group, sorted by group (the referral being folded counts too)."""
        if self._current is not None:
            self.add(self._current)
            self._current = None
        return group_rows(self.groups)


def indicators(
    events: Iterable[TrailEvent],
    *,
    dimensions: Sequence[str],
    targets: TargetOf,
    as_of: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """One row per group of referrals requested in ``[since, until)``, sorted by group;
    ``events`` come grouped by referral, each referral's in trail order."""
    tally = Tally(dimensions=dimensions, targets=targets, as_of=as_of, since=since, until=until)
    for event in events:
        tally.add_event(event)
    return tally.rows()
