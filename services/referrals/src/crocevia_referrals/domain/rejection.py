"""What the sender does with a referral the receiver rejected: send it again (by default to
the agency the receiver suggested), or close it. Either way it waits for the sender no more."""

from __future__ import annotations

from datetime import datetime

from crocevia_contracts import Priority
from crocevia_contracts.lifecycle import Side, Status
from crocevia_referrals.domain.errors import Invalid, NotFound
from crocevia_referrals.domain.referral import Referral
from crocevia_referrals.domain.sending import ReferralRequest


def send_again(
    referral: Referral, to_agency: str | None, service_id: str, priority: Priority | None = None
) -> ReferralRequest:
    """The same person on the same legal basis and pathway, to ``to_agency`` (by default the
    one the receiver suggested), linked to ``referral``; raise NotFound at the receiver, Invalid
    when it may not go again."""
    _check_rejected(referral, "redirected")
    if referral.personal is None:
        raise Invalid("erased", "the personal details of this referral were erased")
    target = to_agency or referral.suggested_agency
    if not target:
        raise Invalid("no-target", "the receiver suggested no agency: name to_agency", "to_agency")
    if target == referral.receiver_agency:
        raise Invalid("not-another-agency", f"{target} rejected this referral: choose another agency", "to_agency")
    return ReferralRequest(
        to_agency=target,
        service_id=service_id,
        priority=priority or referral.priority,
        legal_basis=referral.legal_basis,
        personal=referral.personal,
        previous_referral_id=referral.id,
        pathway=referral.pathway,
    )


def close(referral: Referral, at: datetime) -> None:
    """The sender will not send ``referral`` again; raise NotFound at the receiver, Invalid
    unless it was rejected. Nothing travels: only the sender's to-do list changes."""
    _check_rejected(referral, "closed")
    referral.closed_at = referral.closed_at or at


def _check_rejected(referral: Referral, what: str) -> None:
    if referral.side is not Side.SENDER:
        raise NotFound(referral.id)
    if referral.status is not Status.REJECTED:
        raise Invalid("not-rejected", f"only a rejected referral can be {what}; this one is {referral.status.value}")
