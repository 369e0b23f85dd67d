"""Cosigning a checkpoint: the one use case that writes.

The check against the checkpoint held for the log and the record of the new one happen in
one transaction that locks the log's row, so two submissions from the same old size can
never both be cosigned (the race the spec describes, which would roll the witness back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from nacl.signing import SigningKey

from crocevia_common.tlog.cosignature import CosignerKey, cosign
from crocevia_common.tlog.note import SignatureLine
from crocevia_witness.domain.witnessing import (
    NotConsistent,
    TreeHead,
    WitnessedLog,
    check_extends,
    read_submission,
    signed_by_log,
)

log = logging.getLogger(__name__)


class CosignedCheckpoints(Protocol):
    """The checkpoints the witness cosigned, one per log, inside one transaction."""

    async def held(self, origin: str) -> TreeHead | None:
        """The tree head cosigned last for ``origin`` (None before the first), locked until
        the transaction ends."""
        ...

    async def record(self, origin: str, head: TreeHead, note: str, at: datetime) -> None:
        """Make ``head`` (cosigned as ``note``) the tree head held for ``origin``."""
        ...


Transaction = Callable[[], AbstractAsyncContextManager[CosignedCheckpoints]]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Witness:
    """This witness: its name, its key, the logs it witnesses (by origin), its clock."""

    name: str
    key: SigningKey
    logs: Mapping[str, WitnessedLog]
    clock: Callable[[], datetime] = field(default=_now)

    @property
    def cosigner(self) -> CosignerKey:
        """The key verifiers pin to check this witness's cosignatures."""
        return CosignerKey(self.name, bytes(self.key.verify_key))


async def add_checkpoint(witness: Witness, transaction: Transaction, body: bytes) -> SignatureLine:
    """Cosign the checkpoint of an ``add-checkpoint`` request ``body`` and remember it as the
    log's; raise a :class:`~crocevia_witness.domain.witnessing.Refusal` (nothing changes)."""
    submission = read_submission(body)
    signed = signed_by_log(submission.note, witness.logs)
    origin = signed.log.origin
    async with transaction() as cosigned:
        held = await cosigned.held(origin) or signed.log.first_held
        try:
            check_extends(held, submission.old_size, submission.proof, signed.head)
        except NotConsistent as refusal:
            # Signed by the log yet not extending what it signed before: evidence of a
            # rewritten or forked trail, worth the operator's eye (sizes and hashes only).
            log.warning(
                "refused a checkpoint of %s signed by the log at size %d after size %d: %s",
                origin,
                signed.head.size,
                held.size,
                refusal.detail,
            )
            raise
        now = witness.clock()
        cosignature = cosign(signed.text, witness.name, witness.key, max(1, int(now.timestamp())))
        await cosigned.record(origin, signed.head, signed.cosigned_note(cosignature), now)
    return cosignature
