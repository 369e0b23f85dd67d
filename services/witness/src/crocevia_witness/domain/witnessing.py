"""What a witness decides when a log asks it to cosign a checkpoint (c2sp.org/tlog-witness).

The checks, in the spec's order, each refusal with the spec's HTTP status:

- the body and the checkpoint note are well formed (400);
- the checkpoint's origin is a log this witness is configured for (404);
- a key of that log signed it, and no signature by a key of the log fails (403);
- the old size is not above the checkpoint's size (400);
- the old size is the size of the checkpoint the witness cosigned last (409, with that size);
- a checkpoint of size 0 has the empty tree's root, the proof from old size 0 is empty, a
  checkpoint of the held size has the held root, and otherwise the consistency proof from
  the held checkpoint to this one verifies (422).

Before its first cosignature for a log the witness holds the empty tree: it trusts the first
checkpoint it is sent (trust on first use) and cosigns it without a proof. A log configured
with an initial size and root is held at that tree head instead, so the first checkpoint must
extend it, with a proof.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from crocevia_common.tlog.checkpoint import Checkpoint, CheckpointError
from crocevia_common.tlog.merkle import EMPTY_ROOT, HASH_SIZE
from crocevia_common.tlog.note import NoteError, SignatureLine, VerifierKey, split_note, verify_note_text
from crocevia_common.tlog.verification import InvalidProofError, check_consistency
from crocevia_common.tlog.witness_protocol import MAX_TREE_SIZE, MalformedSubmission, Submission, parse_submission


@dataclass(frozen=True, slots=True)
class TreeHead:
    """The size and root hash of a log's tree."""

    size: int
    root: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise ValueError(f"a tree size lies between 0 and 2^63 - 1, not {self.size}")
        if len(self.root) != HASH_SIZE:
            raise ValueError(f"a root hash is {HASH_SIZE} bytes, not {len(self.root)}")


EMPTY_TREE = TreeHead(0, EMPTY_ROOT)


@dataclass(frozen=True, slots=True)
class WitnessedLog:
    """A log this witness cosigns for: its origin, the keys it signs with, and the tree head
    held before any cosignature (``initial``; the empty tree, trust on first use, if None)."""

    origin: str
    keys: tuple[VerifierKey, ...]
    initial: TreeHead | None = None

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError(f"the log {self.origin!r} needs at least one key")

    @property
    def first_held(self) -> TreeHead:
        return self.initial or EMPTY_TREE


class Refusal(Exception):
    """Why the witness does not cosign, with the HTTP status the spec gives it."""

    status: ClassVar[int]
    slug: ClassVar[str]
    title: ClassVar[str]

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Malformed(Refusal):
    status, slug, title = 400, "malformed-submission", "The request is malformed"


class UnknownLog(Refusal):
    status, slug, title = 404, "unknown-log", "This witness does not witness that log"


class NotSignedByLog(Refusal):
    status, slug, title = 403, "log-signature-invalid", "The checkpoint is not signed by the log's key"


class SizeMismatch(Refusal):
    status, slug, title = 409, "old-size-mismatch", "The witness holds a checkpoint of another size"

    def __init__(self, held_size: int) -> None:
        super().__init__(f"the latest checkpoint this witness cosigned has size {held_size}")
        self.held_size = held_size


class NotConsistent(Refusal):
    status, slug, title = 422, "not-consistent", "The checkpoint does not extend the one the witness cosigned"


@dataclass(frozen=True, slots=True)
class SignedByLog:
    """A checkpoint a key of ``log`` signed: its note ``text`` and the log's signature lines."""

    log: WitnessedLog
    checkpoint: Checkpoint
    text: str
    signatures: tuple[SignatureLine, ...]

    @property
    def head(self) -> TreeHead:
        return TreeHead(self.checkpoint.size, self.checkpoint.root)

    def cosigned_note(self, cosignature: SignatureLine) -> str:
        """The checkpoint with the log's signatures and the witness's cosignature: what the
        witness serves to monitors (signatures by other keys are left out)."""
        return self.text + "\n" + "".join(f"{line}\n" for line in (*self.signatures, cosignature))


def read_submission(body: bytes) -> Submission:
    """The ``add-checkpoint`` request in ``body``; :class:`Malformed` if it is not one."""
    try:
        return parse_submission(body)
    except MalformedSubmission as error:
        raise Malformed(error.reason) from None


def signed_by_log(note: str, logs: Mapping[str, WitnessedLog]) -> SignedByLog:
    """The checkpoint in ``note`` once a key of its log (``logs`` by origin) signed it."""
    try:
        text, lines = split_note(note)
        checkpoint = Checkpoint.from_body(text)
    except (NoteError, CheckpointError) as error:
        raise Malformed(f"the checkpoint: {error}") from None
    if checkpoint.size > MAX_TREE_SIZE:
        raise Malformed("the checkpoint's tree size is above 2^63 - 1")
    log = logs.get(checkpoint.origin)
    if log is None:
        raise UnknownLog("no log with this checkpoint's origin is configured here")
    try:
        verify_note_text(text, lines, log.keys)
    except NoteError as error:
        raise NotSignedByLog(error.reason) from None
    known = {(key.name, key.key_id) for key in log.keys}
    signatures = tuple(line for line in lines if (line.name, line.key_id) in known)
    return SignedByLog(log, checkpoint, text, signatures)


def check_extends(held: TreeHead, old_size: int, proof: Sequence[bytes], new: TreeHead) -> None:
    """Refuse unless ``new`` extends ``held``, the tree head the witness cosigned last, as
    proven by ``proof`` from ``old_size`` (which must be ``held``'s size)."""
    if old_size > new.size:
        raise Malformed(f"the old size {old_size} is above the checkpoint's size {new.size}")
    if old_size != held.size:
        raise SizeMismatch(held.size)
    if new.size == 0 and new.root != EMPTY_ROOT:
        raise NotConsistent("a checkpoint of size 0 must have the empty tree's root")
    if old_size == 0 and new.size > 0:
        if proof:
            raise NotConsistent("the empty tree is consistent with any tree: the proof from size 0 must be empty")
        return
    try:
        check_consistency(held.size, new.size, held.root, new.root, proof)
    except InvalidProofError as error:
        raise NotConsistent(f"no consistency from size {held.size}: {error.reason}") from None
