"""Indicator cells: the running totals of the referrals requested in one month, counted
by the finest group the indicators are asked for, with what a group's row needs to be
computed at any moment (``as_of``) and merged with other cells: counts, the targets missed
once and for all, the due times still open, and each time's values, sorted.

A month's cells change only when a referral requested in it does (its totals moved by an
appended entry, or its due times restated). The month's ``generation``, raised in the same
transaction, tells whether cells counted before still hold.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# What a cell is keyed by: every field a group is keyed by (``indicators.group_fields``,
# with ``month`` as ``requested_month``), what its target is asked with (``HELD_BY``),
# the target's fingerprint its due times were stored under, the last reason and outcome.
CELL_FIELDS = (
    "sender_agency",
    "receiver_agency",
    "service_id",
    "domain",
    "requested_month",
    "priority",
    "held_to",
    "reason_code",
    "outcome",
)
TIMES = ("receive_us", "decide_us", "complete_us")
_FIELD_OF = {"month": "requested_month"}
_HELD_BY = tuple(CELL_FIELDS.index(name) for name in ("receiver_agency", "service_id", "priority"))


@dataclass(slots=True)
class Cell:
    """The referrals of one cell: ``counts`` (named as ``indicators.Group.counts``), how
    many came after their receive and decide due times (``late_receive``,
    ``late_decide``), the due times of those whose step has not come (sorted), and each
    of ``TIMES`` in whole microseconds (sorted)."""

    key: tuple[Any, ...]
    counts: dict[str, int]
    late_receive: int
    late_decide: int
    receive_due: list[datetime]
    decide_due: list[datetime]
    times: dict[str, array[int]]

    def field(self, name: str) -> Any:
        return self.key[CELL_FIELDS.index(_FIELD_OF.get(name, name))]

    def group(self, names: Iterable[str]) -> tuple[Any, ...]:
        """Its values of a group's fields (``indicators.group_fields``)."""
        return tuple(self.field(name) for name in names)

    @property
    def held_by(self) -> tuple[str, str, str]:
        receiver, service, priority = (self.key[i] for i in _HELD_BY)
        return receiver, service, priority

    def missed(self, as_of: datetime) -> tuple[int, int]:
        """How many missed the receive and the decide target, by their stored due times:
        the step came late, or has not come and its due time is before ``as_of``."""
        return (
            self.late_receive + bisect_left(self.receive_due, as_of),
            self.late_decide + bisect_left(self.decide_due, as_of),
        )

    def sees(self, party: str | None) -> bool:
        return party is None or party in (self.key[0], self.key[1])


def month_start(month: str) -> datetime:
    year, number = month.split("-")
    return datetime(int(year), int(number), 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def split(
    since: datetime | None, until: datetime | None, months: Iterable[str]
) -> tuple[list[str], list[tuple[datetime | None, datetime | None]]]:
    """The ``months`` wholly inside ``[since, until)`` and the ranges of that span outside
    them: at most one before and one after, each within a month. ``months`` are every month
    a referral was requested in; an open end is then covered by the months themselves."""
    whole = [m for m in sorted(months) if _inside(m, since, until)]
    if not whole:
        return [], [(since, until)]
    edges = []
    if since is not None:  # what of since's month is in the span, before the first whole month
        edges.append((since, min(month_start(whole[0]), next_month(_month_of(since)))))
    if until is not None:  # and of until's month, after the last
        edges.append((max(next_month(month_start(whole[-1])), _month_of(until)), until))
    return whole, [(lo, hi) for lo, hi in edges if lo < hi]


def _month_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _inside(month: str, since: datetime | None, until: datetime | None) -> bool:
    start = month_start(month)
    return (since is None or since <= start) and (until is None or next_month(start) <= until)


def sorted_times(values: Iterable[int]) -> array[int]:
    return array("q", sorted(values))


def merged(runs: Iterable[array[int]]) -> list[int]:
    """The values of several sorted runs, sorted (Python's sort merges runs in linear time
    per run boundary)."""
    values: list[int] = []
    for run in runs:
        values.extend(run)
    values.sort()
    return values
