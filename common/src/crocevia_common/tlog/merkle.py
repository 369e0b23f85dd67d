"""Merkle tree hashing as RFC 9162 section 2.1 defines it (the tree of RFC 6962).

A leaf hashes as ``SHA-256(0x00 || entry)`` and an interior node as
``SHA-256(0x01 || left || right)``; the prefixes keep a leaf from ever colliding with a
node. The tree over ``n`` leaves splits at ``k``, the largest power of two smaller than
``n``, so every left subtree is perfect and only the right border can be ragged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_LEAF_STATE = hashlib.sha256(_LEAF_PREFIX)  # copied per leaf: the entry is not concatenated


def leaf_hash(entry: bytes) -> bytes:
    """The RFC 9162 hash of one log entry: ``SHA-256(0x00 || entry)``."""
    state = _LEAF_STATE.copy()
    state.update(entry)
    return state.digest()


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
    other computations are tested against; a the audit's ``Frontier``
    computes the same root in O(log n) memory.
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
