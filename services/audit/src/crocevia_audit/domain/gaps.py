"""Gaps in a source's ``sequence``: every node numbers its events 1, 2, 3... without
holes, so a number the audit has not seen, below one it has, is an event gone missing.

Gaps are kept as ranges, so a source that jumps far ahead costs one record, not one per
missing number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class GapRange:
    """Sequence numbers ``first`` to ``last`` (inclusive) of one source, not seen yet."""

    first: int
    last: int

    def __contains__(self, sequence: object) -> bool:
        return isinstance(sequence, int) and self.first <= sequence <= self.last

    @property
    def missing(self) -> int:
        return self.last - self.first + 1


@dataclass
class Gap:
    """A range of one source's sequence numbers found missing: open until a late arrival
    fills it, raised (announced on ``audit.v1.gap``) once it stays open past the grace."""

    source: str
    range: GapRange
    detected_at: datetime
    raised_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by_event_id: str | None = None
    id: int | None = None  # None until stored

    def view(self) -> dict[str, Any]:
        """What ``GET /gaps`` lists and ``audit.v1.gap`` carries."""
        return {
            "id": self.id,
            "source": self.source,
            "first_missing": self.range.first,
            "last_missing": self.range.last,
            "missing": self.range.missing,
            "detected_at": self.detected_at.isoformat(),
            "raised_at": self.raised_at.isoformat() if self.raised_at else None,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "closed_by_event_id": self.closed_by_event_id,
        }


class Arrival(StrEnum):
    NEXT = "next"  # the number after the highest seen
    AHEAD = "ahead"  # beyond the next one: the numbers in between are missing
    LATE = "late"  # fills a known gap
    REPEATED = "repeated"  # a number seen already, on another event: the source reused it


@dataclass(frozen=True, slots=True)
class Observation:
    arrival: Arrival
    highest: int
    opened: GapRange | None = None
    closed: GapRange | None = None
    remainders: tuple[GapRange, ...] = ()


def observe(highest: int, open_gaps: Sequence[GapRange], sequence: int) -> Observation:
    """What the arrival of ``sequence`` means for a source whose highest number seen so
    far is ``highest`` (0 before its first event) and whose open gaps are ``open_gaps``.

    A late arrival closes the gap it falls in; what stays missing of that gap comes back
    as ``remainders`` (at most two ranges, either side of the arrival).
    """
    if sequence < 1:
        raise ValueError(f"sequence numbers start at 1, got {sequence}")
    if sequence == highest + 1:
        return Observation(Arrival.NEXT, sequence)
    if sequence > highest + 1:
        return Observation(Arrival.AHEAD, sequence, opened=GapRange(highest + 1, sequence - 1))
    for gap in open_gaps:
        if sequence in gap:
            rest = (GapRange(gap.first, sequence - 1), GapRange(sequence + 1, gap.last))
            return Observation(
                Arrival.LATE, highest, closed=gap, remainders=tuple(r for r in rest if r.first <= r.last)
            )
    return Observation(Arrival.REPEATED, highest)
