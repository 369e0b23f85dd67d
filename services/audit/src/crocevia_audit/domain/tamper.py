"""Finding where a stored trail stops matching what was hashed and signed.

The service stores, per entry, the canonical entry bytes and their leaf hash, plus the
perfect internal nodes, and signs checkpoints. Rewriting an entry row shows up in one of
three places, checked while streaming the trail once in O(log n) memory:

- the entry no longer hashes to its stored leaf hash (one leaf is named);
- a recomputed internal node differs from the stored one (the leaves under it are named:
  the entry and its leaf hash were rewritten together, or the node itself was);
- the recomputed root differs from a signed checkpoint (everything was rewritten
  consistently; the leaves since the last checkpoint that still matches are named).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from itertools import islice

from crocevia_audit.domain.frontier import Frontier
from crocevia_audit.domain.nodes import MissingNodeError, NodeReader, StoredNode
from crocevia_common.tlog.checkpoint import Checkpoint
from crocevia_common.tlog.merkle import leaf_hash


@dataclass(slots=True)  # not frozen: made once per entry of a trail being verified, and a
class StoredLeaf:  # frozen one costs an object.__setattr__ per field
    """One stored entry row: its position, canonical bytes and recorded leaf hash (None
    where only the entry is kept, as in an export: its hash is then only computed)."""

    index: int
    entry: bytes
    leaf_hash: bytes | None


class MismatchKind(StrEnum):
    BROKEN_SEQUENCE = "broken-sequence"  # an index is missing, repeated or out of order
    ALTERED_ENTRY = "altered-entry"  # the entry does not hash to its stored leaf hash
    ALTERED_NODE = "altered-node"  # a stored internal node differs from the recomputed one
    ROOT_DIFFERS = "root-differs"  # the recomputed root differs from a signed checkpoint
    TRUNCATED = "truncated"  # a checkpoint vouches for entries that are not stored


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The first place the trail diverges: leaves ``[index, end)`` can no longer be trusted,
    and the earliest tampered leaf is among them (``end == index + 1`` names it exactly)."""

    kind: MismatchKind
    index: int
    end: int
    detail: str


def broken_sequence(expected: int, found: int) -> Mismatch:
    """Entry ``expected`` was due and entry ``found`` came instead."""
    detail = f"expected entry {expected}, found entry {found}"
    return Mismatch(MismatchKind.BROKEN_SEQUENCE, expected, expected + 1, detail)


class OutOfSequence(Exception):
    """Raised by a stream of entries where an entry is not the one due next."""

    def __init__(self, expected: int, found: int) -> None:
        super().__init__(f"expected entry {expected}, found entry {found}")
        self.mismatch = broken_sequence(expected, found)


class _Vouching:
    """The checkpoints still to meet, smallest first, and how far the last one that
    matched vouches for the trail."""

    def __init__(self, checkpoints: Iterable[Checkpoint]) -> None:
        self.pending = sorted(checkpoints, key=lambda checkpoint: checkpoint.size, reverse=True)
        self.vouched = 0  # leaves [0, vouched) are covered by a checkpoint that matched

    def due(self, tree: Frontier) -> bool:
        """Whether a checkpoint is of the tree's size."""
        return bool(self.pending) and self.pending[-1].size == tree.size

    def check(self, tree: Frontier) -> Mismatch | None:
        """Compare the tree with every checkpoint of its size."""
        while self.pending and self.pending[-1].size == tree.size:
            checkpoint = self.pending.pop()
            if tree.root() != checkpoint.root:
                return Mismatch(
                    MismatchKind.ROOT_DIFFERS,
                    self.vouched,
                    checkpoint.size,
                    f"root of the first {checkpoint.size} entries differs from the checkpoint",
                )
            self.vouched = checkpoint.size
        return None

    def beyond(self, tree: Frontier) -> Mismatch | None:
        """A checkpoint larger than the whole trail."""
        if not self.pending:
            return None
        largest = self.pending[0].size
        detail = f"{tree.size} entries stored, but a checkpoint vouches for {largest}"
        return Mismatch(MismatchKind.TRUNCATED, tree.size, largest, detail)


def first_mismatch(
    leaves: Iterable[StoredLeaf],
    checkpoints: Iterable[Checkpoint],
    nodes: NodeReader | None = None,
) -> Mismatch | None:
    """The first divergence between the stored trail and what was hashed and signed.

    ``leaves`` must be given in index order from 0 (a gap is itself reported);
    ``checkpoints`` are verified checkpoints of this log, in any order; ``nodes``, when
    given, are the stored internal nodes, which narrow a consistent rewrite down to a
    subtree. Returns ``None`` when everything recomputes: every entry hashes to its leaf
    hash, every stored node matches, and every checkpoint's root is recomputed at its size.
    """
    vouching = _Vouching(checkpoints)
    tree = Frontier()
    if found := vouching.check(tree):
        return found
    for leaf in leaves:
        expected = tree.size
        if leaf.index != expected:
            return broken_sequence(expected, leaf.index)
        computed = leaf_hash(leaf.entry)
        if leaf.leaf_hash is not None and computed != leaf.leaf_hash:
            detail = f"entry {expected} no longer hashes to its stored leaf hash"
            return Mismatch(MismatchKind.ALTERED_ENTRY, expected, expected + 1, detail)
        if nodes is None:
            tree.add(computed)
        elif found := _first_altered_node(tree.append(computed), nodes):
            return found
        if vouching.due(tree) and (found := vouching.check(tree)):
            return found
    return vouching.beyond(tree)


def first_mismatch_of_entries(entries: Iterable[bytes], checkpoints: Iterable[Checkpoint]) -> Mismatch | None:
    """:func:`first_mismatch` for a trail given as its entries alone (an export: no stored
    leaf hashes or nodes), read in index order from 0. ``entries`` checks its own order and
    raises :class:`OutOfSequence` where it breaks. The tree grows between checkpoint sizes
    without a per-entry call, which is what lets a verifier keep pace with the hashing."""
    vouching = _Vouching(checkpoints)
    tree = Frontier()
    hashes = map(leaf_hash, entries)
    try:
        while vouching.pending:
            tree.extend(islice(hashes, vouching.pending[-1].size - tree.size))
            if not vouching.due(tree):
                return vouching.beyond(tree)
            if found := vouching.check(tree):
                return found
        tree.extend(hashes)  # entries beyond every checkpoint: their order is still checked
    except OutOfSequence as broken:
        return broken.mismatch
    return None


def _first_altered_node(completed: list[StoredNode], nodes: NodeReader) -> Mismatch | None:
    # Level 0 is the stored leaf hash itself, already compared with the entry.
    for recomputed in completed[1:]:
        level, index = recomputed.level, recomputed.index
        start, end = index << level, (index + 1) << level
        try:
            stored: bytes | None = nodes.get(level, index)
        except MissingNodeError:
            stored = None
        if stored != recomputed.digest:
            state = "is missing" if stored is None else "differs from the recomputed one"
            return Mismatch(
                MismatchKind.ALTERED_NODE,
                start,
                end,
                f"stored node over entries [{start}, {end}) {state}",
            )
    return None
