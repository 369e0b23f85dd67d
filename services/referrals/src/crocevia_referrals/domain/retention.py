"""Retention: how long a node keeps a referral's personal details once the referral is
closed. When that time is over the node erases them as a withdrawal does: a receiver
confirms with ``personal-data-erased`` (reason ``retention-expired``), which the trail records
and upon which the sender erases its copy; a sender erases its own copy when its own
retention is over (the lifecycle lets only the receiver publish the erasure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from crocevia_contracts.lifecycle import Side, Status
from crocevia_referrals.domain.referral import Referral

RETENTION_EXPIRED = "retention-expired"
# Closed: no step of the lifecycle is ahead of it.
CLOSED = (Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.REJECTED)


def retention_over(referral: Referral, retention: timedelta, now: datetime) -> bool:
    """Whether ``referral`` closed at least ``retention`` ago and still holds personal details."""
    return referral.erasure is None and referral.status in CLOSED and referral.updated_at + retention <= now


def expire(referral: Referral, at: datetime) -> None:
    """Erase the personal details of a referral whose retention is over."""
    referral.erase(RETENTION_EXPIRED, at, confirm=referral.side is Side.RECEIVER)
    referral.updated_at = at
