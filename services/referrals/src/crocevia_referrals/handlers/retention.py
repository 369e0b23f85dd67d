"""Retention: the personal details of referrals closed longer ago than the agency keeps
them are erased, as a withdrawal erases them, and the database's files forget them."""

from __future__ import annotations

from datetime import timedelta

from crocevia_common.schedule import every
from crocevia_referrals.domain.retention import expire, retention_over
from crocevia_referrals.handlers.ports import Node

BATCH = 100  # referrals erased per run at most; the next run takes the rest


async def erase_expired(node: Node, retention: timedelta) -> list[str]:
    """Erase every referral whose retention is over (each in its own transaction, with its
    event); the ids erased."""
    now = node.clock()
    async with node.uow.reading() as work:
        due = await work.referrals.closed_before(now - retention, BATCH)
    erased: list[str] = []
    for referral_id in due:
        async with node.uow.transaction() as work:
            referral = await work.referrals.get(referral_id)
            if referral is None or not retention_over(referral, retention, now):
                continue  # changed since: reopened by an event, or erased already
            expire(referral, now)
            await work.referrals.save(referral)
            for event in referral.outbox:
                await work.outbox.put(event)
        erased.append(referral_id)
    if erased:
        await node.uow.compact()
    return erased


async def erase_every(node: Node, retention: timedelta, seconds: float) -> None:
    """Run ``erase_expired`` every ``seconds`` for as long as the node runs."""
    await every(seconds, lambda: erase_expired(node, retention), "erasing personal details past retention")
