"""A referral's receipt (``crocevia_common.tlog.receipt``): its requested and received
entries with their inclusion proofs in the latest checkpoint the witness policy trusts, so
whoever checks the receipt against that policy finds it cosigned."""

from __future__ import annotations

import json

from crocevia_audit.handlers.ports import IntegrityReads
from crocevia_audit.handlers.proofs import ProofRefused, inclusion
from crocevia_audit.handlers.witnessing import witnessed_checkpoint
from crocevia_common.tlog.policy import WitnessPolicy
from crocevia_common.tlog.receipt import EVENTS, Receipt, ReceiptEvent


async def make_receipt(
    reads: IntegrityReads, referral_id: str, event_ids: dict[str, str], party: str | None, policy: WitnessPolicy
) -> Receipt:
    """The receipt of the referral whose ``event_ids`` (by event name) the trail holds in
    ``party``'s view. ProofRefused when there is none, or its request is not yet under a
    checkpoint ``policy`` trusts (a received event not yet under one is left out)."""
    if "requested" not in event_ids:
        raise ProofRefused(404, "referral-not-found", f"no requested event of referral {referral_id} in the trail")
    latest = await witnessed_checkpoint(reads, policy)
    events: list[ReceiptEvent] = []
    for name in EVENTS:
        event_id = event_ids.get(name)
        stored = await reads.entry_of(event_id, party) if event_id else None
        if stored is None or latest is None or stored.position >= latest.size:
            if name == "requested":
                raise ProofRefused(
                    409, "receipt-not-ready", "no checkpoint its witnesses cosigned covers the request yet: try shortly"
                )
            continue
        proof = await inclusion(reads, stored.fields.event_id, latest.size, party)
        entry = stored.entry.decode()
        events.append(
            ReceiptEvent(
                event=name,
                event_id=stored.fields.event_id,
                occurred_at=json.loads(entry)["event"]["data"]["occurred_at"],
                leaf_index=stored.position,
                entry=entry,
                audit_path=proof["proof"],
            )
        )
    assert latest is not None  # the requested event is under it
    data = json.loads(events[0].entry)["event"]["data"]
    return Receipt(
        referral_id=referral_id,
        sender_agency=data["sender_agency"],
        receiver_agency=data["receiver_agency"],
        service_id=data["service_id"],
        tree_size=latest.size,
        checkpoint=latest.note,
        events=events,
    )
