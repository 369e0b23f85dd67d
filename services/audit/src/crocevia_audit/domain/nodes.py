"""Stored perfect subtrees: what the trail persists so proofs need O(log n) reads.

A node is named ``(level, index)``: the root of the perfect subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes. Only
perfect subtrees are stored because they never change once complete; a ragged right part
of the tree is composed from at most one perfect node per level when it is needed.

Which nodes a computation here reads depends only on sizes and indexes, never on the hash
values, so an asynchronous caller may first record the names read, fetch them in one
query, then compute again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from crocevia_audit.domain.merkle import fold_border, node_hash


class MissingNodeError(LookupError):
    """A node the computation needs is not in storage (the tree is shorter than claimed)."""

    def __init__(self, level: int, index: int) -> None:
        super().__init__(f"no stored node at level {level}, index {index}")
        self.level = level
        self.index = index


@dataclass(frozen=True, slots=True)
class StoredNode:
    """The hash (``digest``) of the perfect subtree at ``(level, index)``."""

    level: int
    index: int
    digest: bytes


class NodeReader(Protocol):
    """Read access to stored perfect-subtree hashes."""

    def get(self, level: int, index: int) -> bytes:
        """The hash at ``(level, index)``; raise :class:`MissingNodeError` if absent."""
        ...


def nodes_completed_by_append(index: int, leaf: bytes, reader: NodeReader) -> list[StoredNode]:
    """The perfect nodes that appending ``leaf`` as leaf number ``index`` completes.

    The first is the leaf itself at level 0; then one node per trailing one bit of
    ``index`` (each a left sibling that was waiting for this leaf), so at most
    ``log2(index) + 1`` nodes and as many reads. The caller persists them in the same
    transaction as the entry, so storage always describes a whole tree of ``index + 1``.
    """
    if index < 0:
        raise ValueError(f"leaf index must not be negative, got {index}")
    completed = [StoredNode(0, index, leaf)]
    level, position, current = 0, index, leaf
    while position & 1:
        current = node_hash(reader.get(level, position - 1), current)
        level, position = level + 1, position >> 1
        completed.append(StoredNode(level, position, current))
    return completed


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """``(level, index)`` of the perfect subtrees covering ``[start, end)``, left to right.

    Requires ``start`` to be a multiple of the largest power of two not above
    ``end - start``, which is what every subtree RFC 9162 recursion visits satisfies;
    then the subtrees follow the set bits of ``end - start``, largest first.
    """
    width = end - start
    if width <= 0:
        raise ValueError(f"empty range [{start}, {end})")
    names: list[tuple[int, int]] = []
    position = start
    for level in range(width.bit_length() - 1, -1, -1):
        if width >> level & 1:
            if position % (1 << level):
                raise ValueError(f"range [{start}, {end}) is not a tree-aligned subtree")
            names.append((level, position >> level))
            position += 1 << level
    return names


def subtree_hash(start: int, end: int, reader: NodeReader) -> bytes:
    """The MTH of leaves ``[start, end)`` from at most ``log2(end - start) + 1`` reads."""
    return fold_border([reader.get(level, index) for level, index in perfect_subtrees(start, end)])


def root_from_nodes(tree_size: int, reader: NodeReader) -> bytes:
    """The root of the tree of ``tree_size`` leaves, from O(log n) stored nodes."""
    if tree_size < 0:
        raise ValueError(f"tree size must not be negative, got {tree_size}")
    if tree_size == 0:
        return fold_border([])
    return subtree_hash(0, tree_size, reader)


class InMemoryNodes:
    """A dict-backed :class:`NodeReader` that can also grow the tree, for tests and tools."""

    def __init__(self) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._size = 0

    @classmethod
    def from_leaf_hashes(cls, leaves: Iterable[bytes]) -> InMemoryNodes:
        """A store holding every perfect node of the tree over ``leaves``."""
        store = cls()
        for leaf in leaves:
            store.append(leaf)
        return store

    @property
    def size(self) -> int:
        """How many leaves the stored tree has."""
        return self._size

    def get(self, level: int, index: int) -> bytes:
        try:
            return self._nodes[(level, index)]
        except KeyError:
            raise MissingNodeError(level, index) from None

    def store(self, nodes: Iterable[StoredNode]) -> None:
        """Write nodes (overwriting any at the same name, as a tamperer could)."""
        for node in nodes:
            self._nodes[(node.level, node.index)] = node.digest

    def append(self, leaf: bytes) -> list[StoredNode]:
        """Append the next leaf hash, storing and returning the nodes it completed."""
        completed = nodes_completed_by_append(self._size, leaf, self)
        self.store(completed)
        self._size += 1
        return completed
