"""Each source's highest sequence number and open gaps, as one batch of appends changes
them: read before the batch, changed in memory event by event, saved with the batch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from crocevia_audit.domain.gaps import Arrival, Gap, GapRange, Observation, observe


@dataclass(frozen=True, slots=True)
class ClosedGap:
    """A gap a late arrival filled; ``raised`` tells whether it had been announced."""

    source: str
    range: GapRange
    sequence: int
    event_id: str
    raised: bool
    remainders: tuple[GapRange, ...]


@dataclass
class SequenceBook:
    """The sequence state of the sources one batch touches."""

    highest: dict[str, int]
    open_gaps: dict[str, list[Gap]]
    stored_highest: dict[str, int] = field(default_factory=dict)
    closings: list[Gap] = field(default_factory=list)  # gaps this batch closed, in order
    closed: list[ClosedGap] = field(default_factory=list)

    @classmethod
    def of(cls, sources: Iterable[str], highest: dict[str, int], open_gaps: Iterable[Gap]) -> SequenceBook:
        """The book of ``sources`` as stored: their highest numbers and open gaps."""
        gaps: dict[str, list[Gap]] = {source: [] for source in sorted(set(sources))}
        for gap in sorted(open_gaps, key=lambda g: g.range.first):
            gaps.setdefault(gap.source, []).append(gap)
        return cls(dict(highest), gaps, dict(highest))

    def observe(self, source: str, sequence: int, event_id: str, now: datetime) -> Observation:
        """Record that ``source`` published ``sequence``; return what it means."""
        gaps = self.open_gaps.setdefault(source, [])
        seen = observe(self.highest.get(source, 0), [gap.range for gap in gaps], sequence)
        self.highest[source] = seen.highest
        if seen.arrival is Arrival.AHEAD and seen.opened is not None:
            gaps.append(Gap(source, seen.opened, now))
        elif seen.arrival is Arrival.LATE and seen.closed is not None:
            gap = next(g for g in gaps if g.range == seen.closed)
            gaps.remove(gap)
            gap.closed_at, gap.closed_by_event_id = now, event_id
            self.closings.append(gap)
            gaps.extend(Gap(source, rest, gap.detected_at, gap.raised_at) for rest in seen.remainders)
            gaps.sort(key=lambda g: g.range.first)
            self.closed.append(
                ClosedGap(source, gap.range, sequence, event_id, gap.raised_at is not None, seen.remainders)
            )
        return seen

    def new_highest(self) -> dict[str, int]:
        """Sources seen for the first time, with their highest number."""
        return {source: value for source, value in self.highest.items() if source not in self.stored_highest}

    def moved_highest(self) -> dict[str, int]:
        """Sources seen before whose highest number grew."""
        return {
            source: value
            for source, value in self.highest.items()
            if source in self.stored_highest and value != self.stored_highest[source]
        }

    def stored_gaps_closed(self) -> list[Gap]:
        """Gaps stored before this batch that it closed."""
        return [gap for gap in self.closings if gap.id is not None]

    def gaps_to_store(self) -> list[Gap]:
        """Gaps to add: what a raised gap left open and this same batch filled (its closing
        is announced, so it is kept, closed), then every gap still open that is new."""
        filled = [gap for gap in self.closings if gap.id is None and gap.raised_at is not None]
        return filled + [gap for gaps in self.open_gaps.values() for gap in gaps if gap.id is None]
