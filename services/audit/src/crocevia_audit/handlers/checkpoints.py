"""Signing checkpoints: every N entries or T seconds, never one inconsistent with the last.

Before signing a new tree head the log proves to itself, from its stored nodes, that the
new tree extends the one it signed last; if the stored tree no longer does (someone
edited it), it refuses to sign and says so, rather than vouch for a rewritten history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from nacl.signing import SigningKey
from sqlalchemy import insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_audit.adapters.locking import lock_trail
from crocevia_audit.adapters.publishing import CHECKPOINT_SUBJECT, enqueue
from crocevia_audit.adapters.tables import checkpoints
from crocevia_audit.adapters.tree import compute_with_nodes
from crocevia_audit.domain.checkpoint import Checkpoint, sign_checkpoint
from crocevia_audit.domain.note import VerifierKey, verifier_key
from crocevia_audit.domain.proofs import consistency_proof
from crocevia_audit.domain.verification import InvalidProofError, check_consistency
from crocevia_audit.handlers.append import TrailWriter
from crocevia_audit.handlers.schedule import every
from crocevia_common.db import Database


class TrailCorrupted(RuntimeError):
    """The stored tree does not extend the last signed checkpoint."""


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    size: int
    root: bytes
    note: str
    created_at: datetime


def _signed(row: RowMapping) -> SignedCheckpoint:
    return SignedCheckpoint(int(row["size"]), bytes(row["root"]), row["note"], row["created_at"])


async def latest_checkpoint(session: AsyncSession) -> SignedCheckpoint | None:
    row = (await session.execute(select(checkpoints).order_by(checkpoints.c.size.desc()).limit(1))).mappings().first()
    return _signed(row) if row else None


async def checkpoint_of_size(session: AsyncSession, size: int) -> SignedCheckpoint | None:
    row = (await session.execute(select(checkpoints).where(checkpoints.c.size == size))).mappings().first()
    return _signed(row) if row else None


class Checkpointer:
    """Signs the tree head with the log's key and queues it for publication."""

    def __init__(
        self,
        db: Database,
        writer: TrailWriter,
        key: SigningKey,
        origin: str,
        *,
        every_entries: int,
        every_seconds: float,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
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

    async def sign_if_due(self, *, on_time: bool = False) -> SignedCheckpoint | None:
        """Sign the current head if enough entries wait (or, ``on_time``, any entry)."""
        known, last_signed = self.writer.known_size, self._last_signed
        if not on_time and known is not None and last_signed is not None and known - last_signed < self.every_entries:
            return None  # not due: spare the write lock
        async with self.writer.lock, self.db.transaction() as session:
            await lock_trail(session)
            frontier = await self.writer.frontier(session)
            size, root = frontier.size, frontier.root()
            last = await latest_checkpoint(session)
            if last is not None:
                self._last_signed = last.size
                waiting = size - last.size
                if waiting <= 0 or (not on_time and waiting < self.every_entries):
                    return None
                await self._check_extends(session, last, size, root)
            now = datetime.now(UTC)
            body = Checkpoint(self.origin, size, root, (f"time {now.strftime('%Y-%m-%dT%H:%M:%SZ')}",))
            note = sign_checkpoint(body, self.origin, self.key)
            await session.execute(insert(checkpoints).values(size=size, root=root, note=note, created_at=now))
            await enqueue(session, f"checkpoint-{size}", CHECKPOINT_SUBJECT, note.encode(), "text/plain")
        self.signed += 1
        self._last_signed = size
        if self._wake is not None:
            self._wake()
        return SignedCheckpoint(size, root, note, now)

    async def _check_extends(self, session: AsyncSession, last: SignedCheckpoint, size: int, root: bytes) -> None:
        try:
            if last.size == 0:
                return
            proof = await compute_with_nodes(session, lambda nodes: consistency_proof(last.size, size, nodes))
            check_consistency(last.size, size, last.root, root, proof)
        except (InvalidProofError, LookupError) as exc:
            raise TrailCorrupted(
                f"the stored tree of {size} entries does not extend the checkpoint of size {last.size}: {exc}"
            ) from None

    async def run(self) -> None:
        """Sign on time, every ``every_seconds``, whatever is waiting."""
        await every(self.every_seconds, lambda: self.sign_if_due(on_time=True), "signing a checkpoint")
