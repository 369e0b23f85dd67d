"""Retention: how long a node keeps a referral's personal details once the referral is
closed. When that time is over the node erases them as a withdrawal does and says so with
``personal-data-erased`` (reason ``retention-expired``), which the trail records: a
receiver's erasure is the sender's cue to erase its copy too; a sender whose own period is
over first erases only its own copy (the receiver keeps its copy for its own period)."""

from __future__ import annotations

from datetime import datetime, timedelta

from crocevia_contracts.lifecycle import Status
from crocevia_referrals.domain.referral import Referral

RETENTION_EXPIRED = "retention-expired"
# Closed: no step of the lifecycle is ahead of it.
CLOSED = (Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.REJECTED)


def retention_over(referral: Referral, retention: timedelta, now: datetime) -> bool:
    """Whether ``referral`` closed at least ``retention`` ago and still holds personal details."""
    return referral.erasure is None and referral.status in CLOSED and referral.updated_at + retention <= now


def expire(referral: Referral, at: datetime) -> None:
    """Erase the personal details of a referral whose retention is over."""
    referral.erase(RETENTION_EXPIRED, at, confirm=True)
    referral.updated_at = at
