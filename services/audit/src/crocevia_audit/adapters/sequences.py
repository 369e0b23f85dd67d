"""Each source's highest sequence number and its open gaps (``source_sequences``,
``sequence_gaps``), read and written per batch in the batch's transaction."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_audit.adapters.tables import sequence_gaps, source_sequences
from crocevia_audit.domain.gaps import Gap, GapRange
from crocevia_audit.domain.sequences import SequenceBook
from crocevia_common.statements import execute

g = sequence_gaps.c
s = source_sequences.c
# What each batch reads and writes, made once (run on SQLite's connection itself: see
# ``crocevia_common.statements``).
_HIGHEST = select(source_sequences).where(s.source.in_(bindparam("sources", expanding=True)))
_OPEN_GAPS = (
    select(sequence_gaps)
    .where(g.source.in_(bindparam("sources", expanding=True)), g.closed_at.is_(None))
    .order_by(g.first_missing)
)
_NEW_HIGHEST = insert(source_sequences)
_MOVE_HIGHEST = update(source_sequences).where(s.source == bindparam("of")).values(highest=bindparam("to"))


def gap_of(row: Mapping[Any, Any]) -> Gap:
    """A ``sequence_gaps`` row (its mapping) as the domain's gap."""
    return Gap(
        row["source"],
        GapRange(int(row["first_missing"]), int(row["last_missing"])),
        row["detected_at"],
        row["raised_at"],
        row["closed_at"],
        row["closed_by_event_id"],
        int(row["id"]),
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
        rows = (await execute(self.session, _HIGHEST, {"sources": wanted})).mappings()
        highest = {row["source"]: int(row["highest"]) for row in rows}
        gaps = [gap_of(row) for row in (await execute(self.session, _OPEN_GAPS, {"sources": wanted})).mappings()]
        return SequenceBook.of(wanted, highest, gaps)

    async def save(self, book: SequenceBook) -> None:
        if first := book.new_highest():
            await execute(self.session, _NEW_HIGHEST, [{"source": k, "highest": v} for k, v in first.items()])
        if moved := book.moved_highest():
            await execute(self.session, _MOVE_HIGHEST, [{"of": k, "to": v} for k, v in moved.items()])
        for gap in book.stored_gaps_closed():
            await self.session.execute(
                update(sequence_gaps)
                .where(g.id == gap.id)
                .values(closed_at=gap.closed_at, closed_by_event_id=gap.closed_by_event_id)
            )
        new = [gap_row(gap) for gap in book.gaps_to_store()]
        if new:
            await self.session.execute(insert(sequence_gaps), new)
