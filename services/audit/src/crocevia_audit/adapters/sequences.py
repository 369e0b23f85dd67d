"""Each source's highest sequence number and its open gaps (``source_sequences``,
``sequence_gaps``), read and written per batch in the batch's transaction."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_audit.adapters.tables import sequence_gaps, source_sequences
from crocevia_audit.domain.gaps import Gap, GapRange
from crocevia_audit.domain.sequences import SequenceBook

g = sequence_gaps.c
s = source_sequences.c


def gap_of(row: Row[Any]) -> Gap:
    """A ``sequence_gaps`` row as the domain's gap."""
    return Gap(
        row.source,
        GapRange(int(row.first_missing), int(row.last_missing)),
        row.detected_at,
        row.raised_at,
        row.closed_at,
        row.closed_by_event_id,
        int(row.id),
    )


def gap_row(gap: Gap) -> dict[str, Any]:
    return {
        "source": gap.source,
        "first_missing": gap.range.first,
        "last_missing": gap.range.last,
        "detected_at": gap.detected_at,
        "raised_at": gap.raised_at,
        "closed_at": gap.closed_at,
        "closed_by_event_id": gap.closed_by_event_id,
    }


class SequenceRows:
    """The sequence state of the sources a batch touches, in its transaction."""

    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def load(self, sources: Collection[str]) -> SequenceBook:
        wanted = sorted(set(sources))
        rows = await self.session.execute(select(source_sequences).where(s.source.in_(wanted)))
        highest = {row.source: int(row.highest) for row in rows}
        query = select(sequence_gaps).where(g.source.in_(wanted), g.closed_at.is_(None)).order_by(g.first_missing)
        gaps = [gap_of(row) for row in await self.session.execute(query)]
        return SequenceBook.of(wanted, highest, gaps)

    async def save(self, book: SequenceBook) -> None:
        for source, value in book.new_highest().items():
            await self.session.execute(insert(source_sequences).values(source=source, highest=value))
        for source, value in book.moved_highest().items():
            await self.session.execute(update(source_sequences).where(s.source == source).values(highest=value))
        for gap in book.stored_gaps_closed():
            await self.session.execute(
                update(sequence_gaps)
                .where(g.id == gap.id)
                .values(closed_at=gap.closed_at, closed_by_event_id=gap.closed_by_event_id)
            )
        new = [gap_row(gap) for gap in book.gaps_to_store()]
        if new:
            await self.session.execute(insert(sequence_gaps), new)
