"""Signing checkpoints: every N entries or T seconds, never one inconsistent with the last.

Before signing a new tree head the log proves to itself, from its stored nodes, that the
new tree extends the one it signed last; if the stored tree no longer does (someone
edited it), it refuses to sign and says so, rather than vouch for a rewritten history.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from nacl.signing import SigningKey

from crocevia_audit.domain.proofs import consistency_proof
from crocevia_audit.handlers.append import TrailWriter
from crocevia_audit.handlers.ports import TrailWork, UnitOfWork, compute_with_nodes
from crocevia_common.schedule import every
from crocevia_common.tlog.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from crocevia_common.tlog.note import VerifierKey, verifier_key
from crocevia_common.tlog.verification import InvalidProofError, check_consistency
from crocevia_contracts.stream import AUDIT_CHECKPOINT_SUBJECT


class TrailCorrupted(RuntimeError):
    """The stored tree does not extend the last signed checkpoint."""


class Checkpointer:
    """Signs the tree head with the log's key and queues it for publication."""

    def __init__(
        self,
        uow: UnitOfWork,
        writer: TrailWriter,
        key: SigningKey,
        origin: str,
        *,
        every_entries: int,
        every_seconds: float,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.uow = uow
        self.writer = writer
        self.key = key
        self.origin = origin
        self.every_entries = every_entries
        self.every_seconds = every_seconds
        self._wake = wake
        self.signed = 0
        self._last_signed: int | None = None

    @property
    def verifier(self) -> VerifierKey:
        return VerifierKey(self.origin, bytes(self.key.verify_key))

    @property
    def vkey(self) -> str:
        """The C2SP verifier key string of the log's key."""
        return verifier_key(self.origin, bytes(self.key.verify_key))

    def _surely_not_due(self, on_time: bool) -> bool:
        """Not enough entries wait since the last signature, as far as this process knows:
        no need to take the trail's write lock to find out."""
        known, last_signed = self.writer.known_size, self._last_signed
        if on_time or known is None or last_signed is None:
            return False
        return known - last_signed < self.every_entries

    async def sign_if_due(self, *, on_time: bool = False) -> SignedCheckpoint | None:
        """Sign the current head if enough entries wait (or, ``on_time``, any entry)."""
        if self._surely_not_due(on_time):
            return None
        async with self.writer.lock, self.uow() as work:
            frontier = await self.writer.frontier(work)
            size, root = frontier.size, frontier.root()
            last = await work.checkpoints.latest()
            if last is not None:
                self._last_signed = last.size
                waiting = size - last.size
                if waiting <= 0 or (not on_time and waiting < self.every_entries):
                    return None
                await self._check_extends(work, last, size, root)
            signed = self._sign(size, root, datetime.now(UTC))
            await work.checkpoints.add(signed)
            await work.outbox.enqueue(
                f"checkpoint-{size}", AUDIT_CHECKPOINT_SUBJECT, signed.note.encode(), "text/plain"
            )
        self.signed += 1
        self._last_signed = size
        if self._wake is not None:
            self._wake()
        return signed

    def _sign(self, size: int, root: bytes, now: datetime) -> SignedCheckpoint:
        body = Checkpoint(self.origin, size, root, (f"time {now.strftime('%Y-%m-%dT%H:%M:%SZ')}",))
        return SignedCheckpoint(size, root, sign_checkpoint(body, self.origin, self.key), now)

    async def _check_extends(self, work: TrailWork, last: SignedCheckpoint, size: int, root: bytes) -> None:
        try:
            if last.size == 0:
                return
            proof = await compute_with_nodes(work.nodes.read, lambda nodes: consistency_proof(last.size, size, nodes))
            check_consistency(last.size, size, last.root, root, proof)
        except (InvalidProofError, LookupError) as exc:
            raise TrailCorrupted(
                f"the stored tree of {size} entries does not extend the checkpoint of size {last.size}: {exc}"
            ) from None

    async def run(self) -> None:
        """Sign on time, every ``every_seconds``, whatever is waiting."""
        await every(self.every_seconds, lambda: self.sign_if_due(on_time=True), "signing a checkpoint")
