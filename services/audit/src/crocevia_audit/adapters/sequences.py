"""Each source's highest sequence number and its open gaps, read and written per batch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_audit.adapters.tables import sequence_gaps, source_sequences
from crocevia_audit.domain.gaps import Arrival, GapRange, Observation, observe


@dataclass
class _Gap:
    source: str
    range: GapRange
    detected_at: datetime
    raised_at: datetime | None = None
    id: int | None = None  # None until stored


def _row(gap: _Gap) -> dict[str, Any]:
    return {
        "source": gap.source,
        "first_missing": gap.range.first,
        "last_missing": gap.range.last,
        "detected_at": gap.detected_at,
        "raised_at": gap.raised_at,
        "closed_at": None,
        "closed_by_event_id": None,
    }


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
    """The sequence state of the sources one batch touches, changed in memory and saved
    in the batch's transaction."""

    highest: dict[str, int]
    stored_highest: dict[str, int]
    open_gaps: dict[str, list[_Gap]]
    _closed: list[tuple[_Gap, datetime, str]] = field(default_factory=list)
    closed: list[ClosedGap] = field(default_factory=list)

    @classmethod
    async def load(cls, session: AsyncSession, sources: Iterable[str]) -> SequenceBook:
        wanted = sorted(set(sources))
        rows = await session.execute(select(source_sequences).where(source_sequences.c.source.in_(wanted)))
        highest = {row.source: int(row.highest) for row in rows}
        g = sequence_gaps.c
        gaps: dict[str, list[_Gap]] = {source: [] for source in wanted}
        for row in await session.execute(
            select(sequence_gaps).where(g.source.in_(wanted), g.closed_at.is_(None)).order_by(g.first_missing)
        ):
            gaps[row.source].append(
                _Gap(row.source, GapRange(row.first_missing, row.last_missing), row.detected_at, row.raised_at, row.id)
            )
        return cls(dict(highest), highest, gaps)

    def observe(self, source: str, sequence: int, event_id: str, now: datetime) -> Observation:
        """Record that ``source`` published ``sequence``; return what it means."""
        gaps = self.open_gaps.setdefault(source, [])
        seen = observe(self.highest.get(source, 0), [gap.range for gap in gaps], sequence)
        self.highest[source] = seen.highest
        if seen.arrival is Arrival.AHEAD and seen.opened is not None:
            gaps.append(_Gap(source, seen.opened, now))
        elif seen.arrival is Arrival.LATE and seen.closed is not None:
            gap = next(g for g in gaps if g.range == seen.closed)
            gaps.remove(gap)
            self._closed.append((gap, now, event_id))
            gaps.extend(_Gap(source, rest, gap.detected_at, gap.raised_at) for rest in seen.remainders)
            gaps.sort(key=lambda g: g.range.first)
            self.closed.append(
                ClosedGap(source, gap.range, sequence, event_id, gap.raised_at is not None, seen.remainders)
            )
        return seen

    async def save(self, session: AsyncSession) -> None:
        s = source_sequences.c
        for source, value in self.highest.items():
            if source not in self.stored_highest:
                await session.execute(insert(source_sequences).values(source=source, highest=value))
            elif value != self.stored_highest[source]:
                await session.execute(update(source_sequences).where(s.source == source).values(highest=value))
        g = sequence_gaps.c
        new: list[dict[str, Any]] = []
        for gap, at, event_id in self._closed:
            if gap.id is not None:
                await session.execute(
                    update(sequence_gaps).where(g.id == gap.id).values(closed_at=at, closed_by_event_id=event_id)
                )
            elif gap.raised_at is not None:
                # What a raised gap left open, filled in this same batch: its closing is
                # announced, so it is kept as well.
                new.append({**_row(gap), "closed_at": at, "closed_by_event_id": event_id})
        new += [_row(gap) for gaps in self.open_gaps.values() for gap in gaps if gap.id is None]
        if new:
            await session.execute(insert(sequence_gaps), new)
