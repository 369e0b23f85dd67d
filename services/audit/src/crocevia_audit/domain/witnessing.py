"""What the log asks of its witnesses: which are behind its latest checkpoint, and from
which size it proves to each (the size the witness says it holds, when that is not the one
the log believed)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from crocevia_common.tlog.note import SignatureLine


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A witness's cosignature of the checkpoint of ``size``, as the log keeps it; the
    witness is named by its verifier key string."""

    witness: str
    size: int
    line: SignatureLine
    received_at: datetime


class WitnessAhead(ValueError):
    """A witness holds a larger tree than the log's latest checkpoint: the log cannot prove
    from there (it signed that tree and lost it, or another log was shown under its name)."""

    def __init__(self, held: int, latest: int) -> None:
        super().__init__(
            f"the witness holds a checkpoint of size {held}, larger than this log's latest ({latest}):"
            " no consistency proof can reach it"
        )


def behind(witnesses: Iterable[str], cosigned: Mapping[str, int], latest: int) -> list[str]:
    """The witnesses whose last cosignature here is older than the checkpoint of ``latest``."""
    return [witness for witness in witnesses if cosigned.get(witness, -1) < latest]


def proof_start(held: int, latest: int) -> int:
    """The size to prove from when the witness says it holds ``held`` (its 409 answer)."""
    if held > latest:
        raise WitnessAhead(held, latest)
    return held
