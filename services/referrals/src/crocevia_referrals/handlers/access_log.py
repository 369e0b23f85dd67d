"""The access log's use cases: a read of a referral's personal part recorded after the log's
head, and the head anchored in the trail (through the outbox) when it moved."""

from __future__ import annotations

from collections.abc import Sequence

from crocevia_common.auth import Principal
from crocevia_common.schedule import every
from crocevia_contracts.anchors import AccessLogAnchored
from crocevia_referrals.domain.access_log import Access, Channel, Head, Purpose, chain
from crocevia_referrals.handlers.ports import Node


async def record_reads(
    node: Node, by: Principal, referral_ids: Sequence[str], purpose: Purpose, channel: Channel
) -> None:
    """Record that ``by`` read the personal part of each of ``referral_ids``, committed
    before the caller shows them."""
    if not referral_ids:
        return
    at = node.clock()
    async with node.uow.transaction() as work:
        head = await work.access_log.head()
        entries = []
        for referral_id in referral_ids:
            entry = chain(head, Access(referral_id, by.sub, purpose, channel, at))
            entries.append(entry)
            head = Head(entry.position, entry.entry_sha256)
        await work.access_log.append(entries)


async def anchor_access_log(node: Node) -> Head | None:
    """Publish the log's head when it moved since the last anchor; the head anchored, or None."""
    async with node.uow.transaction() as work:
        head = await work.access_log.head()
        last = await work.access_log.last_anchor()
        if head.entries == 0 or (last is not None and last.entries == head.entries):
            return None
        at = node.clock()
        fact = AccessLogAnchored(agency=node.agency_id, entries=head.entries, head_sha256=head.head_sha256)
        event_id = await work.outbox.announce(fact, at)
        await work.access_log.anchored(head, event_id, at)
    return head


async def anchor_every(node: Node, seconds: float) -> None:
    """Anchor the log's head every ``seconds`` for as long as the node runs."""
    await every(seconds, lambda: anchor_access_log(node), "anchoring the access log")
