"""A log made with the audit's own code, for the witness tests: entries in a Merkle tree
(the audit's ``merkle`` and ``nodes``), checkpoints signed by its ``checkpoint`` code,
consistency proofs from its ``proofs`` code. A trail can be rewritten from any entry on and
re-signed with the same key, as an operator in control of the audit server could."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nacl.signing import SigningKey

from crocevia_audit.domain.frontier import InMemoryNodes, root_from_nodes
from crocevia_audit.domain.proofs import consistency_proof
from crocevia_common.tlog.checkpoint import Checkpoint, sign_checkpoint
from crocevia_common.tlog.merkle import leaf_hash
from crocevia_common.tlog.note import verifier_key

ORIGIN = "crocevia.test/trail"


@dataclass
class TrailLog:
    """A growing log of numbered entries, signed by ``key`` as ``origin``."""

    key: SigningKey = field(default_factory=SigningKey.generate)
    origin: str = ORIGIN
    version: str = "original"  # what the entries say: a rewritten trail says something else
    # The time extension line of its checkpoints: one per log, so a checkpoint of a size
    # signed twice is the same note.
    moment: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    entries: list[bytes] = field(default_factory=list)
    nodes: InMemoryNodes = field(default_factory=InMemoryNodes)

    @property
    def size(self) -> int:
        return len(self.entries)

    @property
    def vkey(self) -> str:
        """The log's verifier key, as the audit publishes it at ``/checkpoint/key``."""
        return verifier_key(self.origin, bytes(self.key.verify_key))

    def grow(self, count: int) -> TrailLog:
        """Append ``count`` entries."""
        for _ in range(count):
            entry = f'{{"seq":{self.size},"event":"referral.accepted","trail":"{self.version}"}}'.encode()
            self.entries.append(entry)
            self.nodes.append(leaf_hash(entry))
        return self

    def root(self, size: int | None = None) -> bytes:
        return root_from_nodes(self.size if size is None else size, self.nodes)

    def checkpoint(self, size: int | None = None, key: SigningKey | None = None) -> str:
        """The signed checkpoint note at ``size`` (default: the whole log), as the audit makes
        it (with its time extension line)."""
        size = self.size if size is None else size
        body = Checkpoint(self.origin, size, self.root(size), (f"time {self.moment}",))
        return sign_checkpoint(body, self.origin, key or self.key)

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        """The consistency proof from ``old`` to ``new`` (empty from the empty tree)."""
        new = self.size if new is None else new
        return [] if old == 0 else consistency_proof(old, new, self.nodes)

    def add_checkpoint(self, old: int, size: int | None = None, note: str | None = None) -> bytes:
        """The ``add-checkpoint`` body, laid out by hand as the spec shows it: ``old <size>``,
        the proof lines, a blank line, the checkpoint."""
        size = self.size if size is None else size
        lines = [f"old {old}", *(base64.b64encode(h).decode() for h in self.proof(old, size))]
        return ("".join(f"{line}\n" for line in lines) + "\n" + (note or self.checkpoint(size))).encode()

    def rewritten(self, keep: int) -> TrailLog:
        """The same log (same origin, same key) with its entries from ``keep`` on replaced by
        others, as many: consistent in form, signed by the log's key, another history."""
        forged = TrailLog(self.key, self.origin, version="rewritten", moment=self.moment)
        for entry in self.entries[:keep]:
            forged.entries.append(entry)
            forged.nodes.append(leaf_hash(entry))
        return forged.grow(self.size - keep)
