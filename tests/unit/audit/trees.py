"""Trees the audit tests build: the RFC 6962 reference leaves and numbered entries."""

from __future__ import annotations

from crocevia_audit.domain.frontier import InMemoryNodes
from crocevia_audit.domain.nodes import MissingNodeError
from crocevia_common.tlog.merkle import leaf_hash

# The eight leaves of the Certificate Transparency reference tree, whose roots and proofs
# the transparency-dev conformance vectors were generated from.
REFERENCE_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]


def entries(n: int) -> list[bytes]:
    """``n`` distinct canonical entries."""
    return [f'{{"seq":{i},"event":"referral.accepted"}}'.encode() for i in range(n)]


def leaf_hashes(n: int) -> list[bytes]:
    return [leaf_hash(entry) for entry in entries(n)]


def stored_tree(leaves: list[bytes]) -> InMemoryNodes:
    return InMemoryNodes.from_leaf_hashes(leaves)


class CountingReader:
    """Wraps a node reader and counts the reads, to hold proofs to O(log n)."""

    def __init__(self, inner: InMemoryNodes) -> None:
        self.inner = inner
        self.reads = 0

    def get(self, level: int, index: int) -> bytes:
        self.reads += 1
        return self.inner.get(level, index)


class SyntheticTree:
    """A reader for a huge tree that is never built: every complete perfect node answers a
    made-up hash, an incomplete one is missing; reads are counted."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.reads = 0

    def get(self, level: int, index: int) -> bytes:
        if (index + 1) << level > self.size:
            raise MissingNodeError(level, index)
        self.reads += 1
        return level.to_bytes(2, "big") + index.to_bytes(30, "big")
