"""Merkle tree hashing as RFC 9162 section 2.1 defines it (the tree of RFC 6962).

A leaf hashes as ``SHA-256(0x00 || entry)`` and an interior node as
``SHA-256(0x01 || left || right)``; the prefixes keep a leaf from ever colliding with a
node. The tree over ``n`` leaves splits at ``k``, the largest power of two smaller than
``n``, so every left subtree is perfect and only the right border can be ragged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """The RFC 9162 hash of one log entry: ``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 hash of an interior node: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n`` must be at least 2)."""
    if n < 2:
        raise ValueError(f"a tree of {n} leaves does not split")
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash (MTH) of the given leaf hashes, by the RFC's recursion.

    This is the plain statement of the definition, O(n) memory; it is the reference the
    other computations are tested against. Use :class:`StreamingRoot` for long inputs.
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = split_point(n)
    return node_hash(root_from_leaf_hashes(leaf_hashes[:k]), root_from_leaf_hashes(leaf_hashes[k:]))


def fold_border(perfect_roots: Sequence[bytes]) -> bytes:
    """Combine the roots of consecutive perfect subtrees of strictly decreasing size.

    Such a list is how any prefix of the tree decomposes (one subtree per set bit of its
    size, largest first); the MTH of their union is ``node(p0, node(p1, ... node(pj-1, pj)))``
    because each split puts the largest perfect subtree on the left.
    """
    if not perfect_roots:
        return EMPTY_ROOT
    root = perfect_roots[-1]
    for left in reversed(perfect_roots[:-1]):
        root = node_hash(left, root)
    return root


class StreamingRoot:
    """The root of a tree fed one leaf hash at a time, in O(log n) memory.

    It keeps only the roots of the perfect subtrees the leaves seen so far decompose into
    (a "compact range"), so an offline verifier can recompute the root of an export of any
    length without holding it. ``root()`` may be asked at any point and equals
    ``root_from_leaf_hashes`` of every leaf added so far.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._size = 0
        # (level, hash) of perfect subtrees, left to right, levels strictly decreasing.
        self._stack: list[tuple[int, bytes]] = []

    @property
    def size(self) -> int:
        """How many leaves have been added."""
        return self._size

    @property
    def frontier(self) -> tuple[tuple[int, bytes], ...]:
        """``(level, hash)`` of the perfect subtrees held, largest first: one per set bit
        of ``size``, which is all the state there is."""
        return tuple(self._stack)

    def add(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add the next leaf hash; return the perfect nodes it completed.

        Each returned ``(level, index, hash)`` names the perfect subtree over leaves
        ``[index * 2**level, (index + 1) * 2**level)``, starting with the leaf itself at
        level 0, so a caller can compare them against stored nodes as it goes.
        """
        index = self._size
        completed = [(0, index, leaf)]
        level, current = 0, leaf
        # Each trailing one bit of the index is a left sibling waiting for this leaf.
        while self._stack and self._stack[-1][0] == level:
            _, left = self._stack.pop()
            current = node_hash(left, current)
            level += 1
            completed.append((level, index >> level, current))
        self._stack.append((level, current))
        self._size += 1
        return completed

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Add every leaf hash of ``leaves`` in order."""
        for leaf in leaves:
            self.add(leaf)

    def root(self) -> bytes:
        """The Merkle Tree Hash of the leaves added so far (``EMPTY_ROOT`` if none)."""
        return fold_border([subtree for _, subtree in self._stack])
