"""Reads of the trail's integrity: checkpoints, stored nodes, entries in order, gaps,
anomalies and the log's public keys. Each opens its own read session, or all share one
(``IntegrityQueries.reading``: what a proof reads, in one transaction); nothing here writes.

It is what ``/verify``, the published-facts check and proofs read (``handlers.ports.
IntegrityReads``), and what the views list.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, func, select, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.sql.base import Executable

from crocevia_audit.adapters.sequences import gap_of
from crocevia_audit.adapters.stores import anomaly_of, signed_of, stored_size
from crocevia_audit.adapters.tables import (
    anomalies,
    checkpoints,
    cosignatures,
    log_keys,
    sequence_gaps,
    trail_entries,
)
from crocevia_audit.adapters.trail_query import concerning
from crocevia_audit.adapters.tree import Name, fetch_nodes
from crocevia_audit.domain.announcements import Anomaly
from crocevia_audit.domain.entries import EntryFields, RecordedEntry
from crocevia_audit.domain.gaps import Gap
from crocevia_audit.domain.nodes import NodesByName
from crocevia_common.db import SnapshotReads
from crocevia_common.statements import execute
from crocevia_common.tlog.checkpoint import SignedCheckpoint
from crocevia_common.tlog.note import SignatureLine, VerifierKey

_CHUNK = 400  # values per IN (...) query
c = trail_entries.c
# Built once (bound values apart): building a statement costs a proof more than its SQL.
_ENTRY = select(trail_entries).where(c.event_id == bindparam("event_id"))
_LATEST_CHECKPOINT = select(checkpoints).order_by(checkpoints.c.size.desc()).limit(1)
_CHECKPOINT_OF = select(checkpoints).where(checkpoints.c.size == bindparam("size"))
_COSIGNATURE_LINES = (
    select(cosignatures.c.line).where(cosignatures.c.size == bindparam("size")).order_by(cosignatures.c.witness)
)
g = sequence_gaps.c


def _chunks(values: Collection[Any]) -> Iterable[list[Any]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def recorded_of(row: Mapping[Any, Any]) -> RecordedEntry:
    """A ``trail_entries`` row (its mapping) as the entry it stores."""
    fields = EntryFields(**{name: row[name] for name in EntryFields.__slots__})
    entry, leaf = bytes(row["entry"]), bytes(row["leaf_hash"])
    return RecordedEntry(fields, entry, leaf, row["stream_sequence"], row["recorded_at"])


class IntegrityQueries(SnapshotReads):
    """What verification, published facts and proofs read (``reading``: one snapshot, of the
    few rows a proof, a receipt or a checkpoint reads)."""

    short = True

    async def _all(self, query: Select[Any], values: dict[str, Any] | None = None) -> Sequence[Row[Any]]:
        async with self._session() as session:
            rows: Sequence[Row[Any]] = (await session.execute(query, values)).all()
            return rows

    async def _rows(self, statement: Executable, values: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """The rows of a statement built once, run as ``statements.execute`` runs it: in a
        proof's short snapshot on SQLite, on the driver's connection itself."""
        async with self._session() as session:
            return (await execute(session, statement, values or {})).mappings()

    async def size(self) -> int:
        async with self._session() as session:
            return await stored_size(session)

    async def nodes(self, names: Iterable[Name]) -> NodesByName:
        async with self._session() as session:
            return await fetch_nodes(session, names)

    async def entries_after(self, position: int, limit: int) -> list[RecordedEntry]:
        query = select(trail_entries).where(c.position > position).order_by(c.position).limit(limit)
        return [recorded_of(row._mapping) for row in await self._all(query)]

    async def entry_of(self, event_id: str, party: str | None) -> RecordedEntry | None:
        found: Sequence[Mapping[Any, Any]]
        if party:
            found = [row._mapping for row in await self._all(_ENTRY.where(concerning(party)), {"event_id": event_id})]
        else:
            found = await self._rows(_ENTRY, {"event_id": event_id})
        return recorded_of(found[0]) if found else None

    async def checkpoints(self) -> list[SignedCheckpoint]:
        return [signed_of(row._mapping) for row in await self._all(select(checkpoints).order_by(checkpoints.c.size))]

    async def checkpoint(self, size: int | None = None) -> SignedCheckpoint | None:
        rows = await (self._rows(_LATEST_CHECKPOINT) if size is None else self._rows(_CHECKPOINT_OF, {"size": size}))
        return signed_of(rows[0]) if rows else None

    async def checkpoint_roots(self, sizes: Collection[int]) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        for chunk in _chunks(sizes):
            rows = await self._all(select(checkpoints.c.size, checkpoints.c.root).where(checkpoints.c.size.in_(chunk)))
            found.update({int(row.size): bytes(row.root) for row in rows})
        return found

    async def cosigned_sizes(self) -> dict[str, int]:
        t = cosignatures.c
        rows = await self._all(select(t.witness, func.max(t.size).label("size")).group_by(t.witness))
        return {row.witness: int(row.size) for row in rows}

    async def cosignature_lines(self, size: int) -> list[SignatureLine]:
        rows = await self._rows(_COSIGNATURE_LINES, {"size": size})
        return [SignatureLine.parse(row["line"]) for row in rows]

    async def witnessed_size(self, witnesses: Collection[str], quorum: int) -> int | None:
        t = cosignatures.c
        query = (
            select(t.size)
            .where(t.witness.in_(list(witnesses)))
            .group_by(t.size)
            .having(func.count(t.witness.distinct()) >= quorum)
            .order_by(t.size.desc())
            .limit(1)
        )
        rows = await self._all(query)
        return int(rows[0].size) if rows else None

    async def earlier_keys(self, name: str, current: bytes) -> list[VerifierKey]:
        k = log_keys.c
        query = select(k.public_key).where(k.name == name, k.public_key != current).order_by(k.first_used_at)
        return [VerifierKey(name, bytes(row.public_key)) for row in await self._all(query)]

    async def gaps(self, *, source: str | None, status: str) -> list[Gap]:
        """Gaps ``open``, ``closed`` or ``all``, of one source or every one."""
        query = select(sequence_gaps)
        if source:
            query = query.where(g.source == source)
        if status == "open":
            query = query.where(g.closed_at.is_(None))
        elif status == "closed":
            query = query.where(g.closed_at.is_not(None))
        return [gap_of(row._mapping) for row in await self._all(query.order_by(g.source, g.first_missing, g.id))]

    async def gaps_by_id(self, ids: Collection[int]) -> dict[int, Gap]:
        found: dict[int, Gap] = {}
        for chunk in _chunks(ids):
            found.update(
                {
                    int(row.id): gap_of(row._mapping)
                    for row in await self._all(select(sequence_gaps).where(g.id.in_(chunk)))
                }
            )
        return found

    async def gaps_by_range(self, ranges: Collection[tuple[str, int, int]]) -> list[Gap]:
        found: list[Gap] = []
        for chunk in _chunks(ranges):
            query = select(sequence_gaps).where(tuple_(g.source, g.first_missing, g.last_missing).in_(chunk))
            found += [gap_of(row._mapping) for row in await self._all(query)]
        return found

    async def anomalies(self, *, kind: str | None, source: str | None, limit: int) -> list[Anomaly]:
        """The latest anomalies first, of one kind and source or every one."""
        a = anomalies.c
        query = select(anomalies).order_by(a.id.desc()).limit(limit)
        if kind:
            query = query.where(a.kind == kind)
        if source is not None:
            query = query.where(a.source == source)
        return [anomaly_of(row) for row in await self._all(query)]

    async def anomalies_of(self, event_ids: Collection[str]) -> list[Anomaly]:
        found: list[Anomaly] = []
        for chunk in _chunks(event_ids):
            found += [
                anomaly_of(row) for row in await self._all(select(anomalies).where(anomalies.c.event_id.in_(chunk)))
            ]
        return found
