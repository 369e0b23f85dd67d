"""What the witness shows: the checkpoint it cosigned last for a log, for monitors."""

from __future__ import annotations

from crocevia_common.tlog.witness_protocol import origin_hash
from crocevia_witness.adapters.checkpoints import cosigned_note
from crocevia_witness.handlers.context import RunningWitness


async def cosigned_checkpoint(running: RunningWitness, hashed_origin: str) -> str | None:
    """The checkpoint cosigned last for the log whose origin hashes to ``hashed_origin``, with
    the log's signatures and this witness's cosignature; None when there is none."""
    origin = next((o for o in running.witness.logs if origin_hash(o) == hashed_origin), None)
    return None if origin is None else await cosigned_note(running.db, origin)
