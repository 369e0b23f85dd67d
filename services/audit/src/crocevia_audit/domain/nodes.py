"""Stored perfect subtrees: what the trail persists so proofs need O(log n) reads.

A node is named ``(level, index)``: the root of the perfect subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes. Only
perfect subtrees are stored because they never change once complete; a ragged right part
of the tree is composed from at most one perfect node per level when it is needed.

Which nodes a computation here reads depends only on sizes and indexes, never on the hash
values, so an asynchronous caller may first record the names read, fetch them in one
query, then compute again. How the tree grows is :mod:`crocevia_audit.domain.frontier`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from crocevia_common.tlog.merkle import HASH_SIZE, fold_border


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


class NodesByName:
    """A :class:`NodeReader` over the nodes it was given; any other is missing."""

    def __init__(self, nodes: dict[tuple[int, int], bytes]) -> None:
        self.nodes = nodes

    def get(self, level: int, index: int) -> bytes:
        try:
            return self.nodes[(level, index)]
        except KeyError:
            raise MissingNodeError(level, index) from None


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


class _Recorder:
    """A NodeReader that answers zeros and remembers what was asked."""

    def __init__(self) -> None:
        self.names: set[tuple[int, int]] = set()

    def get(self, level: int, index: int) -> bytes:
        self.names.add((level, index))
        return bytes(HASH_SIZE)


def names_read_by(compute: Callable[[NodeReader], object]) -> set[tuple[int, int]]:
    """The nodes ``compute`` reads (it must not branch on hash values, which every
    computation of this module and of proofs and frontiers respects)."""
    recorder = _Recorder()
    compute(recorder)
    return recorder.names
