"""What the entrypoints of a running witness share: the witness, its database, its unit of work."""

from __future__ import annotations

from dataclasses import dataclass

from crocevia_common.db import Database
from crocevia_witness.handlers.add_checkpoint import Transaction, Witness


@dataclass(frozen=True)
class RunningWitness:
    witness: Witness
    db: Database
    transaction: Transaction
