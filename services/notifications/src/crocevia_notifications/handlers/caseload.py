"""Applying a caseload notice: who an agency assigned a referral to, kept so that the
notices about the referral reach that person first (``domain/routing.py``)."""

from __future__ import annotations

from crocevia_common.messaging.intake import Unprocessable, Verified
from crocevia_notifications.handlers.context import Notifier
from crocevia_notifications.handlers.ports import Transaction


async def apply_assignment(ctx: Notifier, tx: Transaction, item: Verified) -> None:
    """Keep the assignment once, in the caller's transaction, unless a later one of that
    agency is kept already (notices may come again or late). Raise Unprocessable for one
    that can never be applied. The referral may not be followed yet (its events travel on
    another stream); once it is, the agency must be one of its parties."""
    notice = item.caseload
    if notice is None:
        raise Unprocessable("this consumer takes caseload notices only")
    assigned = notice.data
    if not await ctx.directory.knows(assigned.agency):
        raise Unprocessable("the agency is not in the directory")
    if not await tx.claim(item):
        return
    known = await tx.referrals.get(assigned.referral_id)
    if known is not None and assigned.agency not in (known.sender_agency, known.receiver_agency):
        raise Unprocessable("the agency is not a party of the referral")
    await tx.assignments.keep(assigned, item.sequence, notice.time)
