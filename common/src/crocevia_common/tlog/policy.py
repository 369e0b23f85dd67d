"""Trusting a checkpoint once enough independent witnesses cosigned it: a k of n policy.

A log's own signature only says the log vouches for its tree head; an operator who controls
the log can rewrite the trail and sign again, or show different trails to different
parties. Witnesses cosign a checkpoint only when it extends the one they cosigned before,
so a checkpoint cosigned by ``quorum`` of the policy's witnesses is one those witnesses saw
as the log's only history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from crocevia_common.tlog.checkpoint import Checkpoint, CheckpointError
from crocevia_common.tlog.cosignature import CosignerKey, cosignatures, parse_cosigner_key
from crocevia_common.tlog.note import NoteError, SignatureLine, VerifierKey, split_note, verify_note_text


class NotWitnessed(CheckpointError):
    """A checkpoint validly signed by its log but cosigned by too few of the policy's witnesses."""

    def __init__(self, cosigned: int, policy: WitnessPolicy) -> None:
        super().__init__(
            f"cosigned by {cosigned} of the {len(policy.witnesses)} witnesses the policy names;"
            f" {policy.quorum} are required"
        )
        self.cosigned = cosigned


@dataclass(frozen=True, slots=True)
class WitnessPolicy:
    """Trust a checkpoint once ``quorum`` of ``witnesses`` cosigned it (k of n)."""

    witnesses: tuple[CosignerKey, ...]
    quorum: int

    def __post_init__(self) -> None:
        if not 0 <= self.quorum <= len(self.witnesses):
            raise ValueError(f"a quorum of {self.quorum} out of {len(self.witnesses)} witnesses cannot be met")
        names = [witness.name for witness in self.witnesses]
        if len(set(names)) != len(names):
            raise ValueError("each witness is named once in a policy")

    @classmethod
    def from_keys(cls, keys: Iterable[str], quorum: int) -> WitnessPolicy:
        """The policy over the witnesses' verifier key strings (``NoteError`` if one is malformed)."""
        return cls(tuple(parse_cosigner_key(key) for key in keys), quorum)


@dataclass(frozen=True, slots=True)
class WitnessedCheckpoint:
    """A checkpoint its log signed, and the policy's witnesses that cosigned it, with when."""

    checkpoint: Checkpoint
    cosigned: Mapping[CosignerKey, int] = field(default_factory=dict)


def open_witnessed_checkpoint(
    note: str | bytes, log_keys: Iterable[VerifierKey], policy: WitnessPolicy, origin: str | None = None
) -> WitnessedCheckpoint:
    """The checkpoint in ``note`` once a log key signed it and ``policy`` is met.

    Signatures by keys neither of the log nor of the policy are ignored. A malformed note, no
    valid log signature, a failing signature by a known key (log or witness), or a checkpoint
    of another log than ``origin`` raise :class:`CheckpointError`; too few valid
    cosignatures raise :class:`NotWitnessed` (a ``CheckpointError`` too).
    """
    try:
        text, lines = split_note(note)
        verify_note_text(text, lines, log_keys)
        found = cosignatures(text, lines, policy.witnesses)
    except NoteError as error:
        raise CheckpointError(error.reason) from error
    checkpoint = Checkpoint.from_body(text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    if len(found) < policy.quorum:
        raise NotWitnessed(len(found), policy)
    return WitnessedCheckpoint(checkpoint, found)


def with_cosignatures(note: str, lines: Iterable[SignatureLine]) -> str:
    """``note`` with the signature ``lines`` added after its own (a line it holds already is
    not repeated): how a log serves the cosignatures its witnesses returned."""
    text, present = split_note(note)
    shown = [str(line) for line in present]
    for line in map(str, lines):
        if line not in shown:
            shown.append(line)
    return text + "\n" + "".join(f"{line}\n" for line in shown)
