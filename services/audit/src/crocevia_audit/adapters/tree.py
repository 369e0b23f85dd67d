"""The Merkle tree's stored nodes (``tree_nodes``), read and written in O(log n) rows.

The domain's proof, root and frontier computations read nodes through a synchronous
``NodeReader``. The database is asynchronous, so the names a computation reads are found
first (they depend on sizes and indexes only, never on the hashes: ``names_read_by``),
then those nodes are fetched here in one query (a proof names O(log n) of them), each
found by its primary key: ``level = ? AND index = ?`` terms joined by OR, which SQLite and
PostgreSQL answer with one index search per node (a row-value ``IN (VALUES ...)`` makes
SQLite scan the whole table).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_audit.adapters.tables import tree_nodes
from crocevia_audit.domain.nodes import NodesByName, StoredNode

Name = tuple[int, int]
_CHUNK = 400


async def fetch_nodes(session: AsyncSession, names: Iterable[Name]) -> NodesByName:
    """The stored nodes named, in as few queries as the database's parameter limit allows."""
    wanted = sorted(set(names))
    found: dict[Name, bytes] = {}
    c = tree_nodes.c
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        named = or_(*(and_(c.level == level, c.index == index) for level, index in chunk))
        rows = await session.execute(select(c.level, c.index, c.digest).where(named))
        found.update({(int(level), int(index)): bytes(digest) for level, index, digest in rows})
    return NodesByName(found)


class NodeRows:
    """The stored nodes, in a unit of work's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def read(self, names: Iterable[Name]) -> NodesByName:
        return await fetch_nodes(self.session, names)

    async def add(self, nodes: Sequence[StoredNode]) -> None:
        rows = [{"level": n.level, "index": n.index, "digest": n.digest} for n in nodes]
        if rows:
            await self.session.execute(insert(tree_nodes), rows)
