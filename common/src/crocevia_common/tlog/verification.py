"""Proof verification exactly as RFC 9162 2.1.3.2 (inclusion) and 2.1.4.2 (consistency).

The step numbers in comments are the RFC's. The ``check_*`` functions raise
:class:`InvalidProofError` with the reason; the ``verify_*`` functions answer a bool.
Cases the RFC's algorithms leave out (equal sizes, the empty tree) are decided the way the
transparency-dev conformance vectors expect, and say so.
"""

from __future__ import annotations

from collections.abc import Sequence

from crocevia_common.tlog.merkle import EMPTY_ROOT, HASH_SIZE, node_hash


class InvalidProofError(ValueError):
    """A proof did not verify; ``reason`` says which check failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _lsb(value: int) -> bool:
    return bool(value & 1)


def _require_hash_sized(proof: Sequence[bytes]) -> None:
    # Not an RFC step: every path element is a SHA-256 output, and refusing other lengths
    # early keeps arbitrary byte strings out of the hash chain.
    for position, element in enumerate(proof):
        if len(element) != HASH_SIZE:
            raise InvalidProofError(f"proof element {position} is {len(element)} bytes, not 32")


def check_inclusion(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Raise :class:`InvalidProofError` unless ``proof`` shows ``leaf_hash`` is leaf
    ``index`` of the tree of ``tree_size`` leaves whose root is ``root``."""
    # 1. leaf_index >= tree_size fails.
    if index < 0 or index >= tree_size:
        raise InvalidProofError(f"leaf index {index} is outside a tree of size {tree_size}")
    # Not an RFC step: the leaf is a SHA-256 output too; without this a one-leaf tree
    # would "prove" any byte string equal to its root, the empty one included.
    if len(leaf_hash) != HASH_SIZE:
        raise InvalidProofError(f"leaf hash is {len(leaf_hash)} bytes, not 32")
    _require_hash_sized(proof)
    # 2. fn = leaf_index, sn = tree_size - 1.
    fn, sn = index, tree_size - 1
    # 3. r = hash.
    r = leaf_hash
    # 4. For each p in the inclusion path:
    for p in proof:
        # a. sn == 0: the path is longer than the tree is tall.
        if sn == 0:
            raise InvalidProofError("proof is longer than the path to the root")
        # b. p is a left sibling when fn is a right child or fn is on the right border.
        if _lsb(fn) or fn == sn:
            r = node_hash(p, r)
            # The RFC's "if LSB(fn) is not set" guard is this loop's own condition.
            while not _lsb(fn) and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        # c. One level up.
        fn, sn = fn >> 1, sn >> 1
    # 5. sn == 0 and r == root.
    if sn != 0:
        raise InvalidProofError("proof is shorter than the path to the root")
    if r != root:
        raise InvalidProofError("calculated root does not match the given root")


def check_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Raise :class:`InvalidProofError` unless ``proof`` shows the tree of ``new_size``
    leaves with root ``new_root`` extends the tree of ``old_size`` leaves with ``old_root``.

    Equal sizes are consistent with an empty proof and equal roots (and the empty tree's
    root must be ``EMPTY_ROOT``); a proof from the empty tree to a bigger one proves
    nothing and is refused, as the RFC's algorithm requires ``0 < first < second``.
    """
    if old_size < 0 or new_size < old_size:
        raise InvalidProofError(f"size {new_size} cannot follow size {old_size}")
    if old_size == new_size:
        if proof:
            raise InvalidProofError("equal sizes need an empty proof")
        if old_root != new_root:
            raise InvalidProofError("equal sizes but different roots")
        if old_size == 0 and old_root != EMPTY_ROOT:
            raise InvalidProofError("the empty tree's root is not the hash of nothing")
        return
    if old_size == 0:
        raise InvalidProofError("a consistency proof from the empty tree proves nothing")
    # 1. An empty consistency path fails.
    if not proof:
        raise InvalidProofError("empty proof")
    _require_hash_sized(proof)
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = old_size - 1, new_size - 1
    # 4. Skip the levels where the old tree's last leaf is a right child.
    while _lsb(fn):
        fn, sn = fn >> 1, sn >> 1
    # 5. fr = sr = first value of the path.
    fr = sr = path[0]
    # 6. For each subsequent value c:
    for c in path[1:]:
        # a. sn == 0: the path is longer than the tree is tall.
        if sn == 0:
            raise InvalidProofError("proof is longer than the path to the root")
        # b. c is a left sibling in both trees, or a right sibling only in the new one.
        if _lsb(fn) or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            # As in inclusion: skip the levels where the old tree's border is a left child.
            while not _lsb(fn) and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        # c. One level up.
        fn, sn = fn >> 1, sn >> 1
    # 7. fr == first_hash, sr == second_hash, sn == 0.
    if sn != 0:
        raise InvalidProofError("proof is shorter than the path to the root")
    if fr != old_root:
        raise InvalidProofError("calculated old root does not match the given old root")
    if sr != new_root:
        raise InvalidProofError("calculated new root does not match the given new root")


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """True exactly when :func:`check_inclusion` accepts the proof."""
    try:
        check_inclusion(leaf_hash, index, tree_size, proof, root)
    except InvalidProofError:
        return False
    return True


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """True exactly when :func:`check_consistency` accepts the proof."""
    try:
        check_consistency(old_size, new_size, old_root, new_root, proof)
    except InvalidProofError:
        return False
    return True
