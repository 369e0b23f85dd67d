"""Asking the witnesses to cosign: each new checkpoint goes to every configured witness,
with the consistency proof from the size it cosigned last; what they return is kept, and
served appended to the note.

A witness that answers 409 holds another size than the log believed (it lost a
cosignature the log kept, or the log lost one): the log proves from the size it names, once.
A witness that cannot be reached, or refuses, is asked again on the next round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import httpx

from crocevia_audit.domain.proofs import consistency_proof
from crocevia_audit.domain.witnessing import Cosignature, WitnessAhead, behind, proof_start
from crocevia_audit.handlers.ports import IntegrityReads, UnitOfWork, compute_with_nodes
from crocevia_common.schedule import every
from crocevia_common.tlog.checkpoint import SignedCheckpoint
from crocevia_common.tlog.cosignature import CosignerKey
from crocevia_common.tlog.note import SignatureLine
from crocevia_common.tlog.policy import WitnessPolicy, with_cosignatures
from crocevia_common.tlog.witness_client import WitnessRefused, WitnessSizeMismatch

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Witness:
    """A witness the log submits to: its submission prefix and its key."""

    url: str
    key: CosignerKey

    @property
    def name(self) -> str:
        """How the log names it: its verifier key string."""
        return str(self.key)


@dataclass(frozen=True, slots=True)
class WitnessState:
    """What happened the last time the log asked a witness."""

    size: int  # the checkpoint it was asked to cosign
    cosigned: bool
    detail: str
    at: datetime


# Post one ``add-checkpoint`` (the checkpoint's note, the old size, the proof) and return
# the verified cosignature line; raises what ``witness_client.request_cosignature`` raises.
AskWitness = Callable[[Witness, str, int, Sequence[bytes]], Awaitable[SignatureLine]]


async def cosigned_checkpoint(reads: IntegrityReads, size: int | None = None) -> SignedCheckpoint | None:
    """The checkpoint of ``size`` (or the latest) as the log serves it: its note carries the
    cosignatures the witnesses returned, after the log's own signature."""
    signed = await reads.checkpoint(size)
    return None if signed is None else await cosigned(reads, signed)


async def cosigned(reads: IntegrityReads, signed: SignedCheckpoint) -> SignedCheckpoint:
    """``signed`` as the log serves it, its note carrying the witnesses' cosignatures."""
    lines = await reads.cosignature_lines(signed.size)
    return replace(signed, note=with_cosignatures(signed.note, lines)) if lines else signed


async def witnessed_checkpoint(reads: IntegrityReads, policy: WitnessPolicy) -> SignedCheckpoint | None:
    """The latest checkpoint ``policy`` trusts (cosigned by its quorum of witnesses), as
    served. A checkpoint just signed is cosigned a moment later: until then this is an
    earlier one."""
    if policy.quorum == 0:
        return await cosigned_checkpoint(reads)
    size = await reads.witnessed_size([str(key) for key in policy.witnesses], policy.quorum)
    return None if size is None else await cosigned_checkpoint(reads, size)


class Witnessing:
    """Submits the latest checkpoint to the witnesses that have not cosigned it yet."""

    def __init__(
        self,
        uow: UnitOfWork,
        reads: IntegrityReads,
        witnesses: Sequence[Witness],
        ask: AskWitness,
        *,
        every_seconds: float,
    ) -> None:
        self.uow = uow
        self.reads = reads
        self.witnesses = {witness.name: witness for witness in witnesses}
        self.ask = ask
        self.every_seconds = every_seconds
        self.states: dict[str, WitnessState] = {}

    async def submit_latest(self) -> dict[str, WitnessState]:
        """Ask every witness behind the latest checkpoint to cosign it; what each answered."""
        latest = await self.reads.checkpoint()
        if latest is None or not self.witnesses:
            return {}
        cosigned = await self.reads.cosigned_sizes()
        names = behind(self.witnesses, cosigned, latest.size)
        answers = await asyncio.gather(
            *(self._submit(self.witnesses[name], latest, cosigned.get(name, 0)) for name in names)
        )
        self.states.update(zip(names, answers, strict=True))
        return dict(zip(names, answers, strict=True))

    async def _submit(self, witness: Witness, latest: SignedCheckpoint, old: int) -> WitnessState:
        now = datetime.now(UTC)
        try:
            try:
                line = await self._ask(witness, latest, old)
            except WitnessSizeMismatch as mismatch:
                line = await self._ask(witness, latest, proof_start(mismatch.size, latest.size))
        except (WitnessRefused, WitnessAhead, httpx.HTTPError) as exc:
            detail = str(exc) or type(exc).__name__
            log.warning("witness %s did not cosign the checkpoint of size %d: %s", witness.url, latest.size, detail)
            return WitnessState(latest.size, False, detail, now)
        async with self.uow() as work:
            await work.cosignatures.add(Cosignature(witness.name, latest.size, line, now))
        return WitnessState(latest.size, True, f"cosigned the checkpoint of size {latest.size}", now)

    async def _ask(self, witness: Witness, latest: SignedCheckpoint, old: int) -> SignatureLine:
        proof: list[bytes] = []
        if 0 < old < latest.size:
            proof = await compute_with_nodes(self.reads.nodes, lambda nodes: consistency_proof(old, latest.size, nodes))
        return await self.ask(witness, latest.note, old, proof)

    async def run(self) -> None:
        """Submit every ``every_seconds``, for as long as the service runs."""
        await every(self.every_seconds, self.submit_latest, "asking the witnesses to cosign")
