"""A ``StreamConsumer`` on the stream of referral events that lets every message through,
for tests of how the consumer fetches, orders and batches (not of what it checks)."""

from __future__ import annotations

from typing import Any

from crocevia_common.messaging.consumer import StreamConsumer
from crocevia_common.messaging.intake import Delivery, Verified
from crocevia_contracts.stream import REFERRAL_EVENTS


class TakeAll:
    """An intake that lets everything through, as sent by one agency."""

    async def verify(self, delivery: Delivery) -> Verified:
        return Verified(delivery, "casa", None)  # type: ignore[arg-type]


def consumer(**options: Any) -> StreamConsumer:
    """The audit's durable on every referral event, batched, with ``options`` over these."""
    given: dict[str, Any] = {
        "name": "audit",
        "stream": REFERRAL_EVENTS,
        "filter_subject": "referral.v1.>",
        "intake": TakeAll(),
        "batched": True,
        **options,
    }
    return StreamConsumer(**given)
