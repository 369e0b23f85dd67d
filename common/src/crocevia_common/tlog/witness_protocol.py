"""The messages of the C2SP witness protocol (c2sp.org/tlog-witness), ``add-checkpoint``.

A log asks a witness to cosign a checkpoint by posting the size of the checkpoint the
witness cosigned last (``old <size>``), the consistency proof from it (one base64 hash a
line, at most 63), a blank line, then the signed checkpoint. When ``old`` is not the size
the witness holds, it answers 409 with that size alone, as ``text/x.tlog.size``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from crocevia_common.tlog.merkle import HASH_SIZE
from crocevia_common.tlog.note import NoteError, decode_base64

ADD_CHECKPOINT = "/add-checkpoint"
SIZE_MEDIA_TYPE = "text/x.tlog.size"
MAX_PROOF_LINES = 63
MAX_TREE_SIZE = 2**63 - 1  # what a BIGINT column holds
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")  # ASCII digits, no leading zeroes


class MalformedSubmission(ValueError):
    """An ``add-checkpoint`` body not shaped as the spec says; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Submission:
    """An ``add-checkpoint`` request: the size the log believes the witness holds, the
    consistency proof from that size, and the signed checkpoint (a note, unverified)."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str

    def body(self) -> bytes:
        """The request body, as the spec lays it out."""
        lines = [f"old {self.old_size}", *(base64.b64encode(h).decode() for h in self.proof), ""]
        return ("".join(f"{line}\n" for line in lines) + self.note).encode()


def decimal_size(text: str, what: str) -> int:
    """``text`` as a tree size: ASCII decimal, no leading zeroes, at most 2^63 - 1."""
    if not _DECIMAL.fullmatch(text) or int(text) > MAX_TREE_SIZE:
        raise MalformedSubmission(f"{what} is not a tree size in decimal without leading zeroes")
    return int(text)


def parse_submission(body: bytes) -> Submission:
    """The request in an ``add-checkpoint`` body; :class:`MalformedSubmission` if malformed.

    The note after the blank line is returned as it came: whether it is a checkpoint, and
    who signed it, is for the caller to check.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedSubmission("the body is not UTF-8") from None
    head, blank, note = text.partition("\n\n")
    if not blank:
        raise MalformedSubmission("the body has no blank line before the checkpoint")
    old_line, *proof_lines = head.split("\n")
    if not old_line.startswith("old "):
        raise MalformedSubmission("the body starts with the line `old <size>`")
    old_size = decimal_size(old_line[len("old ") :], "the old size")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise MalformedSubmission(f"a consistency proof has at most {MAX_PROOF_LINES} lines")
    proof = []
    for number, line in enumerate(proof_lines, start=1):
        try:
            digest = decode_base64(line, f"consistency proof line {number}")
        except NoteError as error:
            raise MalformedSubmission(error.reason) from None
        if len(digest) != HASH_SIZE:
            raise MalformedSubmission(f"consistency proof line {number} is not a {HASH_SIZE}-byte hash")
        proof.append(digest)
    return Submission(old_size, tuple(proof), note)


def size_body(size: int) -> str:
    """The body of a 409 answer: the witness's size, in decimal, then a newline."""
    return f"{size}\n"


def parse_size_body(body: bytes) -> int:
    """The size in a 409 answer's body; :class:`MalformedSubmission` when it is not one."""
    text = body.decode("ascii", errors="replace")
    if not text.endswith("\n"):
        raise MalformedSubmission("a size answer ends with a newline")
    return decimal_size(text[:-1], "the witness's size")


def origin_hash(origin: str) -> str:
    """The path segment that names a log on a witness: lowercase hex SHA-256 of its origin."""
    return hashlib.sha256(origin.encode()).hexdigest()
