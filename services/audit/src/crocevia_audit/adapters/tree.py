"""The Merkle tree's stored nodes, read in O(log n) rows.

The domain's proof and root functions read nodes through a synchronous ``NodeReader``.
The database is asynchronous, so a computation runs twice: once against a reader that
records which nodes it asks for (the walk depends on sizes and indexes only, never on the
hashes), then against those nodes fetched in one query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_audit.adapters.tables import tree_nodes
from crocevia_audit.domain.merkle import HASH_SIZE, fold_border
from crocevia_audit.domain.nodes import (
    MissingNodeError,
    NodeReader,
    StoredNode,
    nodes_completed_by_append,
    perfect_subtrees,
)

T = TypeVar("T")
Name = tuple[int, int]
_CHUNK = 400


class _Recorder:
    """A NodeReader that answers zeros and remembers what was asked."""

    def __init__(self) -> None:
        self.names: set[Name] = set()

    def get(self, level: int, index: int) -> bytes:
        self.names.add((level, index))
        return bytes(HASH_SIZE)


class FetchedNodes:
    """A NodeReader over nodes already read from the database."""

    def __init__(self, nodes: dict[Name, bytes]) -> None:
        self.nodes = nodes

    def get(self, level: int, index: int) -> bytes:
        try:
            return self.nodes[(level, index)]
        except KeyError:
            raise MissingNodeError(level, index) from None


def names_read_by(compute: Callable[[NodeReader], object]) -> set[Name]:
    """The nodes ``compute`` reads (it must not branch on hash values)."""
    recorder = _Recorder()
    compute(recorder)
    return recorder.names


async def fetch_nodes(session: AsyncSession, names: Iterable[Name]) -> FetchedNodes:
    """The stored nodes named, in as few queries as the database's parameter limit allows."""
    wanted = sorted(set(names))
    found: dict[Name, bytes] = {}
    c = tree_nodes.c
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = await session.execute(select(c.level, c.index, c.digest).where(tuple_(c.level, c.index).in_(chunk)))
        found.update({(int(level), int(index)): bytes(digest) for level, index, digest in rows})
    return FetchedNodes(found)


async def compute_with_nodes(session: AsyncSession, compute: Callable[[NodeReader], T]) -> T:
    """Run ``compute`` on the stored nodes it needs, fetched in one pass."""
    return compute(await fetch_nodes(session, names_read_by(compute)))


async def store_nodes(session: AsyncSession, nodes: Iterable[StoredNode]) -> None:
    rows = [{"level": n.level, "index": n.index, "digest": n.digest} for n in nodes]
    if rows:
        await session.execute(insert(tree_nodes), rows)


class Frontier:
    """The right border of the tree: the perfect subtrees its leaves decompose into.

    It holds at most one node per level, which is all an append reads (each left sibling
    a new leaf completes is on the border) and all the current root needs.
    """

    def __init__(self, size: int = 0, nodes: dict[Name, bytes] | None = None) -> None:
        self.size = size
        self._nodes = dict(nodes or {})

    @classmethod
    async def load(cls, session: AsyncSession, size: int) -> Frontier:
        if size == 0:
            return cls()
        fetched = await fetch_nodes(session, perfect_subtrees(0, size))
        return cls(size, fetched.nodes)

    def copy(self) -> Frontier:
        return Frontier(self.size, self._nodes)

    def get(self, level: int, index: int) -> bytes:
        try:
            return self._nodes[(level, index)]
        except KeyError:
            raise MissingNodeError(level, index) from None

    def append(self, leaf: bytes) -> list[StoredNode]:
        """Add the next leaf; return the nodes it completed, to be stored with it."""
        completed = nodes_completed_by_append(self.size, leaf, self)
        self.size += 1
        for node in completed:
            self._nodes[(node.level, node.index)] = node.digest
        border = set(perfect_subtrees(0, self.size))
        self._nodes = {name: digest for name, digest in self._nodes.items() if name in border}
        return completed

    def root(self) -> bytes:
        """The root of the tree of ``size`` leaves."""
        if self.size == 0:
            return fold_border([])
        return fold_border([self._nodes[name] for name in perfect_subtrees(0, self.size)])
