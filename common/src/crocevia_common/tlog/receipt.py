"""A receipt the referred person keeps: that, and when, a referral was sent and received,
provable to anyone without trusting the agencies or whoever runs the audit.

It holds the referral's public facts (id, agencies, service), the trail entries of its
``requested`` and ``received`` events exactly as the log hashed them (an entry holds the
envelope's public part; the sealed personal part only as its SHA-256), their RFC 9162
inclusion proofs, and the signed (and cosigned) checkpoint they are proven against. No
personal data. The audit makes it (``GET /receipts/{referral_id}``), the sending node
serves it, and ``verify_receipt`` checks it (the audit's CLI: ``crocevia-audit receipt
verify``). A later checkpoint proves the entries are still there by consistency.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crocevia_common.tlog.checkpoint import Checkpoint, CheckpointError
from crocevia_common.tlog.merkle import leaf_hash
from crocevia_common.tlog.note import NoteError, VerifierKey
from crocevia_common.tlog.policy import WitnessPolicy, open_witnessed_checkpoint
from crocevia_common.tlog.verification import InvalidProofError, check_inclusion

# The events a receipt proves, in the order they happen.
EVENTS = ("requested", "received")
# What a receipt may weigh: two entries, two paths of at most 64 hashes, a note.
MAX_RECEIPT_BYTES = 64 * 1024

Id = Field(min_length=1, max_length=64)


class ReceiptError(ValueError):
    """A receipt that does not prove what it says; ``reason`` names the check that failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReceiptEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event: Literal["requested", "received"]
    event_id: str = Id
    occurred_at: str = Field(min_length=1, max_length=40)
    leaf_index: int = Field(ge=0)
    entry: str = Field(min_length=2, max_length=16 * 1024, description="the trail entry, as the log hashed it")
    audit_path: list[str] = Field(max_length=64, description="the RFC 9162 inclusion proof, base64 hashes")


class Receipt(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["crocevia-receipt/1"] = "crocevia-receipt/1"
    referral_id: str = Id
    sender_agency: str = Id
    receiver_agency: str = Id
    service_id: str = Id
    tree_size: int = Field(ge=1)
    checkpoint: str = Field(min_length=1, max_length=8 * 1024, description="the signed (cosigned) note")
    events: list[ReceiptEvent] = Field(min_length=1, max_length=len(EVENTS))

    def event(self, name: str) -> ReceiptEvent | None:
        return next((e for e in self.events if e.event == name), None)


def read_receipt(raw: bytes | str) -> Receipt:
    """Parse a receipt file; ReceiptError when it is not one."""
    if len(raw) > MAX_RECEIPT_BYTES:
        raise ReceiptError(f"a receipt is at most {MAX_RECEIPT_BYTES} bytes")
    try:
        return Receipt.model_validate_json(raw)
    except ValueError as exc:
        raise ReceiptError(f"not a receipt: {type(exc).__name__}") from None


def _entry_facts(event: ReceiptEvent) -> dict[str, Any]:
    try:
        entry = json.loads(event.entry)
        data = entry["event"]["data"]
        return {
            "index": entry["index"],
            "id": entry["event"]["id"],
            "event": data["event"],
            "referral_id": data["referral_id"],
            "sender_agency": data["sender_agency"],
            "receiver_agency": data["receiver_agency"],
            "service_id": data["service_id"],
            "occurred_at": data["occurred_at"],
        }
    except (ValueError, KeyError, TypeError):
        raise ReceiptError(f"the {event.event} entry is not a trail entry") from None


def _hashes(path: list[str], what: str) -> list[bytes]:
    try:
        return [base64.b64decode(h, validate=True) for h in path]
    except (binascii.Error, ValueError):
        raise ReceiptError(f"the {what} audit path is not base64") from None


def verify_receipt(receipt: Receipt, log_key: VerifierKey, policy: WitnessPolicy | None = None) -> Checkpoint:
    """The checkpoint the receipt's events are proven in, once every check passed: the note
    is signed by ``log_key`` (and cosigned as ``policy`` asks), each entry states the
    receipt's facts and is in the tree that checkpoint signs. Raise ReceiptError otherwise."""
    try:
        witnessed = open_witnessed_checkpoint(
            receipt.checkpoint, [log_key], policy or WitnessPolicy((), 0), origin=log_key.name
        )
    except (CheckpointError, NoteError) as exc:
        raise ReceiptError(f"the checkpoint does not verify: {exc}") from None
    checkpoint = witnessed.checkpoint
    if checkpoint.size != receipt.tree_size:
        raise ReceiptError(f"the checkpoint signs a tree of {checkpoint.size}, not {receipt.tree_size}")
    if receipt.event("requested") is None:
        raise ReceiptError("a receipt proves the referral's requested event")
    if len({e.event for e in receipt.events}) != len(receipt.events):
        raise ReceiptError("an event is proven once")
    stated = receipt.model_dump(include={"referral_id", "sender_agency", "receiver_agency", "service_id"})
    for event in receipt.events:
        facts = _entry_facts(event)
        claimed = {**stated, "index": event.leaf_index, "id": event.event_id, "event": event.event}
        claimed["occurred_at"] = event.occurred_at
        wrong = sorted(k for k, v in claimed.items() if facts[k] != v)
        if wrong:
            raise ReceiptError(f"the {event.event} entry states another {', '.join(wrong)}")
        try:
            check_inclusion(
                leaf_hash(event.entry.encode()),
                event.leaf_index,
                checkpoint.size,
                _hashes(event.audit_path, event.event),
                checkpoint.root,
            )
        except InvalidProofError as exc:
            raise ReceiptError(f"the {event.event} entry is not in the signed tree: {exc.reason}") from None
    return checkpoint
