"""Checking what the audit hands out, away from the audit: an export against a checkpoint
one trusts, and a newer checkpoint against an older one.

Both need only the log's verifier key; an export is read line by line, so its length
does not matter (the tree is recomputed with O(log n) hashes in memory).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass

from crocevia_audit.domain.tamper import OutOfSequence, first_mismatch_of_entries
from crocevia_audit.handlers.export import FORMAT
from crocevia_common.tlog.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from crocevia_common.tlog.merkle import leaf_hash
from crocevia_common.tlog.note import VerifierKey
from crocevia_common.tlog.verification import InvalidProofError, check_consistency, check_inclusion


class ExportError(ValueError):
    """The export cannot be checked at all (not an export, or not for this key)."""


@dataclass(frozen=True, slots=True)
class Finding:
    ok: bool
    message: str
    index: int | None = None  # the first entry that does not match, when one is named


def read_header(first_line: bytes, key: VerifierKey) -> tuple[dict[str, object], Checkpoint]:
    """The export's header and its checkpoint, once the checkpoint's signature verifies."""
    try:
        header = json.loads(first_line)
    except ValueError:
        raise ExportError("the first line is not a JSON export header") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ExportError(f"not a {FORMAT} file")
    try:
        return header, open_checkpoint(str(header["checkpoint"]), [key], origin=key.name)
    except (CheckpointError, KeyError) as exc:
        raise ExportError(f"the export's checkpoint does not verify with this key: {exc}") from None


# In an entry's canonical JSON (keys sorted), the top-level ``index`` follows the event
# object and precedes ``nats_subject``, whose string cannot hold an unescaped quote.
_INDEX_KEY = b',"index":'


def _index(entry: bytes) -> int:
    """The entry's ``index``, read without parsing the whole entry when it is canonical
    (the leaf hash covers every byte either way); -1 when the line is not an entry."""
    at = entry.rfind(_INDEX_KEY)
    if at >= 0:
        digits = entry[at + len(_INDEX_KEY) : entry.find(b",", at + len(_INDEX_KEY))]
        if digits.isdigit():
            return int(digits)
    try:
        return int(json.loads(entry)["index"])
    except (ValueError, KeyError, TypeError):
        return -1


def _entries(lines: Iterable[bytes]) -> Iterator[bytes]:
    """The export's entries, each checked to be the one due next (:class:`OutOfSequence`
    where one is not): a canonical entry by comparing the bytes after its ``index`` key,
    any other by reading its index."""
    expected, skip = 0, len(_INDEX_KEY)
    for line in lines:
        entry = line.rstrip(b"\n")
        if not entry:
            continue
        at = entry.rfind(_INDEX_KEY)
        if at < 0 or not entry.startswith(b"%d," % expected, at + skip):
            found = _index(entry)  # -1: not an entry, reported as a break in the sequence
            if found != expected:
                raise OutOfSequence(expected, found)
        yield entry
        expected += 1


def verify_export(lines: Iterable[bytes], trusted: Checkpoint, key: VerifierKey) -> Finding:
    """Recompute the tree of a whole-trail export and compare it with ``trusted`` (and the
    checkpoint the export carries). ``lines`` are the file's lines, header first."""
    iterator = iter(lines)
    header, carried = read_header(next(iterator, b""), key)
    if carried.origin != trusted.origin:
        raise ExportError(f"the export is of log {carried.origin!r}, the checkpoint of {trusted.origin!r}")
    if not header.get("complete"):
        raise ExportError("a filtered export cannot rebuild the tree; check its entries with inclusion proofs")
    found = first_mismatch_of_entries(_entries(iterator), [trusted, carried])
    if found is None:
        return Finding(
            True,
            f"{max(trusted.size, carried.size)} entries recompute to the signed roots "
            f"(checkpoint sizes {sorted({trusted.size, carried.size})}) of {trusted.origin}",
        )
    return Finding(False, f"{found.kind.value} at entry {found.index}: {found.detail}", found.index)


ProofSource = Callable[[str, int], Awaitable[list[str]]]


async def verify_filtered_export(
    lines: Iterable[bytes], trusted: Checkpoint, key: VerifierKey, proof_of: ProofSource
) -> Finding:
    """Check each entry of a filtered export with its inclusion proof (``proof_of(event id,
    tree size)`` gives the base64 audit path) against ``trusted``'s root."""
    iterator = iter(lines)
    _header, carried = read_header(next(iterator, b""), key)
    if carried.origin != trusted.origin:
        raise ExportError(f"the export is of log {carried.origin!r}, the checkpoint of {trusted.origin!r}")
    checked = 0
    for line in iterator:
        entry = line.rstrip(b"\n")
        if not entry:
            continue
        try:
            doc = json.loads(entry)
            index, event_id = int(doc["index"]), str(doc["event"]["id"])
        except (ValueError, KeyError, TypeError):
            return Finding(False, f"line {checked + 2} is not a trail entry")
        if index >= trusted.size:
            return Finding(False, f"entry {index} is beyond the checkpoint of size {trusted.size}", index)
        try:
            proof = [base64.b64decode(h, validate=True) for h in await proof_of(event_id, trusted.size)]
            check_inclusion(leaf_hash(entry), index, trusted.size, proof, trusted.root)
        except (InvalidProofError, ValueError) as exc:
            return Finding(False, f"entry {index} is not in the signed tree: {exc}", index)
        checked += 1
    return Finding(True, f"{checked} entries are in the tree of size {trusted.size} of {trusted.origin}")


def verify_extension(old: Checkpoint, new: Checkpoint, proof_b64: Iterable[str]) -> Finding:
    """Whether ``proof`` shows that ``new`` extends ``old``."""
    if old.origin != new.origin:
        return Finding(False, f"checkpoints of different logs: {old.origin!r} and {new.origin!r}")
    try:
        proof = [base64.b64decode(h, validate=True) for h in proof_b64]
        check_consistency(old.size, new.size, old.root, new.root, proof)
    except (InvalidProofError, ValueError) as exc:
        return Finding(False, f"the tree of size {new.size} does not provably extend size {old.size}: {exc}")
    return Finding(True, f"the tree of size {new.size} extends the tree of size {old.size} of {new.origin}")
