"""The right border of a Merkle tree: all that appending a leaf reads, and all its root needs.

A tree of ``size`` leaves decomposes into perfect subtrees, one per set bit of ``size``,
largest first (RFC 9162 splits off the largest perfect subtree on the left). Appending
leaf number ``size`` merges it with each border subtree of its own height, one per
trailing 1 bit of ``size``: those merges are the perfect nodes the append completes, and
the last of them joins the border. This is the one place that rule lives: the trail's
writer, the tamper check, ``/verify``, the offline verifier and the in-memory trees of
tests and tools all grow a :class:`Frontier`.
"""

from __future__ import annotations

from collections.abc import Iterable

from crocevia_audit.domain.nodes import NodeReader, NodesByName, StoredNode, perfect_subtrees
from crocevia_common.tlog.merkle import fold_border, node_hash

Name = tuple[int, int]  # (level, index) of a perfect subtree


def border_names(size: int) -> list[Name]:
    """``(level, index)`` of the perfect subtrees a tree of ``size`` leaves decomposes into."""
    return perfect_subtrees(0, size) if size > 0 else []


def completed_names(index: int) -> list[Name]:
    """The perfect nodes appending leaf ``index`` completes: the leaf itself at level 0,
    then one per trailing 1 bit of ``index`` (each merges a left sibling waiting for it)."""
    if index < 0:
        raise ValueError(f"leaf index must not be negative, got {index}")
    names, level, position = [(0, index)], 0, index
    while position & 1:
        level, position = level + 1, position >> 1
        names.append((level, position))
    return names


class Frontier:
    """The border of a tree of ``size`` leaves: at most one perfect subtree per level."""

    __slots__ = ("_digests", "_size")

    def __init__(self) -> None:
        self._size = 0
        # The border's digests, left to right (levels strictly decreasing); their names
        # follow from the size (``border_names``).
        self._digests: list[bytes] = []

    @classmethod
    def read(cls, size: int, reader: NodeReader) -> Frontier:
        """The border of the stored tree of ``size`` leaves, from ``log2(size) + 1`` reads at most."""
        if size < 0:
            raise ValueError(f"tree size must not be negative, got {size}")
        frontier = cls()
        frontier._size = size
        frontier._digests = [reader.get(level, index) for level, index in border_names(size)]
        return frontier

    @classmethod
    def of(cls, leaves: Iterable[bytes]) -> Frontier:
        """The border of the tree over the leaf hashes ``leaves``."""
        frontier = cls()
        for leaf in leaves:
            frontier.append(leaf)
        return frontier

    @property
    def size(self) -> int:
        """How many leaves the tree holds."""
        return self._size

    @property
    def border(self) -> tuple[StoredNode, ...]:
        """The perfect subtrees of the border, largest first: one per set bit of ``size``."""
        return tuple(StoredNode(*name, d) for name, d in zip(border_names(self._size), self._digests, strict=True))

    def copy(self) -> Frontier:
        twin = Frontier()
        twin._size, twin._digests = self._size, list(self._digests)
        return twin

    def append(self, leaf: bytes) -> list[StoredNode]:
        """Add the next leaf hash; return the perfect nodes it completed, the leaf first,
        which is what storage must add so that it describes the tree of ``size + 1``."""
        completed: list[StoredNode] = []
        self._merge(leaf, completed)
        return completed

    def add(self, leaf: bytes) -> None:
        """Add the next leaf hash, when the nodes it completes are not wanted (a verifier)."""
        self._merge(leaf, None)

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Add leaf hashes one after another, as :meth:`add` does (a verifier's loop)."""
        merge = self._merge
        for leaf in leaves:
            merge(leaf, None)

    def _merge(self, leaf: bytes, completed: list[StoredNode] | None) -> None:
        digests, level, index, digest = self._digests, 0, self._size, leaf
        if completed is not None:
            completed.append(StoredNode(0, index, leaf))
        while index & 1:  # one merge per trailing 1 bit, with the sibling waiting on the border
            level, index = level + 1, index >> 1
            digest = node_hash(digests.pop(), digest)
            if completed is not None:
                completed.append(StoredNode(level, index, digest))
        digests.append(digest)
        self._size += 1

    def root(self) -> bytes:
        """The Merkle Tree Hash of the tree (``EMPTY_ROOT`` when it has no leaf)."""
        return fold_border(self._digests)


def root_from_nodes(tree_size: int, reader: NodeReader) -> bytes:
    """The root of the tree of ``tree_size`` leaves, from O(log n) stored nodes."""
    return Frontier.read(tree_size, reader).root()


class InMemoryNodes(NodesByName):
    """Every perfect node of a tree kept in a dict: a :class:`NodeReader` that grows by
    appends, for tests and tools."""

    def __init__(self) -> None:
        super().__init__({})
        self._frontier = Frontier()

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
        return self._frontier.size

    def store(self, nodes: Iterable[StoredNode]) -> None:
        """Write nodes (overwriting any at the same name, as a tamperer could)."""
        for node in nodes:
            self.nodes[(node.level, node.index)] = node.digest

    def append(self, leaf: bytes) -> list[StoredNode]:
        """Append the next leaf hash, storing and returning the nodes it completed."""
        completed = self._frontier.append(leaf)
        self.store(completed)
        return completed
