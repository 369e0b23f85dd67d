"""The Merkle tree's stored nodes (``tree_nodes``), read and written in O(log n) rows.

The domain's proof, root and frontier computations read nodes through a synchronous
``NodeReader``. The database is asynchronous, so the names a computation reads are found
first (they depend on sizes and indexes only, never on the hashes: ``names_read_by``),
then those nodes are fetched here in one query (a proof names O(log n) of them), each
found by its primary key: ``level = ? AND index = ?`` terms joined by OR, which SQLite and
PostgreSQL answer with one index search per node (a row-value ``IN (VALUES ...)`` makes
SQLite scan the whole table). The query for a number of nodes is built once, with bound
parameters, so SQLAlchemy compiles it once too.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, and_, bindparam, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_audit.adapters.tables import tree_nodes
from crocevia_audit.domain.nodes import NodesByName, StoredNode
from crocevia_common.statements import execute

Name = tuple[int, int]
_CHUNK = 400
_ADD = insert(tree_nodes)


async def fetch_nodes(session: AsyncConnection, names: Iterable[Name]) -> NodesByName:
    """The stored nodes named, in as few queries as the database's parameter limit allows."""
    wanted = sorted(set(names))
    found: dict[Name, bytes] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        values = {
            key: value for i, (level, index) in enumerate(chunk) for key, value in ((f"l{i}", level), (f"i{i}", index))
        }
        rows = (await execute(session, _named(len(chunk)), values)).mappings()
        found.update({(int(row["level"]), int(row["index"])): bytes(row["digest"]) for row in rows})
    return NodesByName(found)


@functools.cache
def _named(count: int) -> Select[Any]:
    """The query of ``count`` nodes by name, made once per count (bound values apart), so
    neither the expression nor its SQL is built again for each proof."""
    c = tree_nodes.c
    terms = (and_(c.level == bindparam(f"l{i}"), c.index == bindparam(f"i{i}")) for i in range(count))
    return select(c.level, c.index, c.digest).where(or_(*terms))


class NodeRows:
    """The stored nodes, in a unit of work's transaction."""

    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def read(self, names: Iterable[Name]) -> NodesByName:
        return await fetch_nodes(self.session, names)

    async def add(self, nodes: Sequence[StoredNode]) -> None:
        rows = [{"level": n.level, "index": n.index, "digest": n.digest} for n in nodes]
        if rows:
            await execute(self.session, _ADD, rows)
