"""Inclusion and consistency proofs from the stored tree, O(log n) nodes read each."""

from __future__ import annotations

import base64
from typing import Any

from crocevia_audit.domain.frontier import root_from_nodes
from crocevia_audit.domain.proofs import consistency_proof, inclusion_proof
from crocevia_audit.handlers.ports import IntegrityReads, compute_with_nodes
from crocevia_audit.handlers.witnessing import cosigned, cosigned_checkpoint
from crocevia_common.tlog.checkpoint import SignedCheckpoint


class ProofRefused(Exception):
    """A proof that cannot be given as asked; ``slug`` and ``detail`` say why."""

    def __init__(self, status: int, slug: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def _tree_size(reads: IntegrityReads, asked: int | None) -> tuple[int, SignedCheckpoint | None]:
    """The size of the tree a proof is of (``asked``, or the latest checkpoint's, or the
    whole trail's before any), with the latest checkpoint when it is of that size."""
    if asked is None:
        latest = await reads.checkpoint()
        return (latest.size, latest) if latest else (await reads.size(), None)
    size = await reads.size()
    if asked > size:
        raise ProofRefused(422, "tree-too-large", f"the trail holds {size} entries, not {asked}")
    return asked, None


async def inclusion(reads: IntegrityReads, event_id: str, tree_size: int | None, party: str | None) -> dict[str, Any]:
    """The proof that ``event_id`` is in the tree of ``tree_size`` (default: the latest
    checkpoint's) with the root it leads to; ``party`` limits the caller to its agency's entries."""
    stored = await reads.entry_of(event_id, party)
    if stored is None:
        raise ProofRefused(404, "event-not-found", f"no event {event_id} in the trail")
    size, latest = await _tree_size(reads, tree_size)
    index = stored.position
    if index >= size:
        raise ProofRefused(422, "not-yet-in-tree", f"event {event_id} is entry {index}, after a tree of {size}")
    proof, root = await compute_with_nodes(
        reads.nodes, lambda nodes: (inclusion_proof(index, size, nodes), root_from_nodes(size, nodes))
    )
    signed = await (cosigned(reads, latest) if latest else cosigned_checkpoint(reads, size))
    return {
        "event_id": event_id,
        "leaf_index": index,
        "tree_size": size,
        "leaf_hash": b64(stored.leaf_hash),
        "root": b64(root),
        "proof": [b64(h) for h in proof],
        "checkpoint": signed.note if signed else None,
    }


async def consistency(reads: IntegrityReads, old: int, new: int) -> dict[str, Any]:
    """The proof that the tree of ``new`` entries extends the tree of ``old``."""
    if old < 1:
        raise ProofRefused(422, "invalid-tree-size", "a consistency proof starts from a tree of at least 1 entry")
    if new < old:
        raise ProofRefused(422, "invalid-tree-size", f"to ({new}) must not be smaller than from ({old})")
    await _tree_size(reads, new)  # refuses a tree larger than the trail
    proof, old_root, new_root = await compute_with_nodes(
        reads.nodes,
        lambda nodes: (consistency_proof(old, new, nodes), root_from_nodes(old, nodes), root_from_nodes(new, nodes)),
    )
    return {
        "from": old,
        "to": new,
        "from_root": b64(old_root),
        "to_root": b64(new_root),
        "proof": [b64(h) for h in proof],
    }
