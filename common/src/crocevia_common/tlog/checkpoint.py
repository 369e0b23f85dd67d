"""Checkpoints: the signed tree head of the trail (c2sp.org/tlog-checkpoint).

The body is the origin, the tree size in decimal and the root hash in standard base64,
one per line, each ending in a newline; optional non-empty extension lines may follow.
It travels as a signed note (see :mod:`crocevia_common.tlog.note`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from nacl.signing import SigningKey

from crocevia_common.tlog.merkle import HASH_SIZE
from crocevia_common.tlog.note import NoteError, VerifierKey, open_note, sign_note

_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")  # ASCII digits, no leading zeroes


class CheckpointError(ValueError):
    """A checkpoint was malformed or not validly signed; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint the log signed, as it keeps it: the tree size and root, and the signed
    note exactly as served and published."""

    size: int
    root: bytes
    note: str
    created_at: datetime


def _check_line(line: str, what: str) -> None:
    if not line:
        raise CheckpointError(f"{what} must not be empty")
    if any(ord(char) < 0x20 for char in line):
        raise CheckpointError(f"{what} must be one line without control characters")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The head of the log named ``origin`` when it held ``size`` entries with ``root``."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if self.size < 0:
            raise CheckpointError(f"tree size must not be negative, got {self.size}")
        if len(self.root) != HASH_SIZE:
            raise CheckpointError(f"root hash is {len(self.root)} bytes, not {HASH_SIZE}")
        for line in self.extensions:
            _check_line(line, "extension line")

    def body(self) -> str:
        """The note text: origin, size, base64 root and extensions, each ending in ``\\n``."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "".join(f"{line}\n" for line in [*lines, *self.extensions])

    @classmethod
    def from_body(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body (unsigned); raise :class:`CheckpointError` if malformed."""
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint body must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint body needs origin, tree size and root hash lines")
        origin, size_line, root_line, *extensions = lines
        if not _TREE_SIZE.fullmatch(size_line):
            raise CheckpointError(f"tree size {size_line!r} is not a decimal without leading 0")
        try:
            root = base64.b64decode(root_line, validate=True)
        except ValueError as error:
            raise CheckpointError("root hash is not standard base64") from error
        if base64.b64encode(root).decode() != root_line:
            raise CheckpointError("root hash is not canonical base64")
        return cls(origin, int(size_line), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer_name: str, signing_key: SigningKey) -> str:
    """The checkpoint as a signed note carrying one Ed25519 signature by ``signer_name``.

    The log's key name should be its origin, per tlog-checkpoint.
    """
    try:
        return sign_note(checkpoint.body(), signer_name, signing_key)
    except NoteError as error:
        raise CheckpointError(error.reason) from error


def open_checkpoint(
    note_text: str | bytes,
    verifiers: Mapping[str, bytes] | Iterable[VerifierKey],
    origin: str | None = None,
) -> Checkpoint:
    """The checkpoint in a signed note, once a known key's signature over it verifies.

    Unknown signers are ignored; a note with no valid known signature, a failing known
    signature, a malformed note or body, or (when ``origin`` is given) a checkpoint of
    another log raises :class:`CheckpointError`.
    """
    try:
        text = open_note(note_text, verifiers)
    except NoteError as error:
        raise CheckpointError(error.reason) from error
    checkpoint = Checkpoint.from_body(text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    return checkpoint


def open_log_checkpoint(
    note_text: str | bytes, key: VerifierKey, earlier: Iterable[VerifierKey] = ()
) -> tuple[Checkpoint, VerifierKey]:
    """The checkpoint in a note of the log whose key is ``key``, and the key that signed it:
    ``key``, or else one of the log's ``earlier`` keys (a change of key the caller names).
    Raises :class:`CheckpointError` with the reason ``key`` refused it when none signed it."""
    try:
        return open_checkpoint(note_text, [key], origin=key.name), key
    except CheckpointError as exc:
        refused = exc
    for other in earlier:
        try:
            return open_checkpoint(note_text, [other], origin=other.name), other
        except CheckpointError:
            continue
    raise refused


def signed_by_earlier_key(signer: VerifierKey, key: VerifierKey) -> str:
    """How a checkpoint signed by an earlier key of the log is described."""
    return f"signed by an earlier key of this log, {signer}, not by its key {key}"
