"""Assigning a referral to a member of this agency's staff, or taking it for oneself; the
agency's notifications are told (a caseload notice), so the notices about the referral reach
the assignee first."""

from __future__ import annotations

from crocevia_common.auth import Principal, Role
from crocevia_contracts.caseload import ReferralAssigned
from crocevia_referrals.domain import caseload
from crocevia_referrals.domain.caseload import Assignment
from crocevia_referrals.domain.errors import NotFound
from crocevia_referrals.handlers.ports import Node

# Who assigns and reassigns any referral; everyone else only takes an unassigned one.
SUPERVISING = (Role.SUPERVISOR, Role.ADMIN)


async def assign(node: Node, by: Principal, referral_id: str, assignee: str) -> Assignment | None:
    """Assign the referral to ``assignee``, record it at this node (no referral event: the
    other agency and the audit never learn it) and tell this agency's notifications; None
    when it was assigned to them already. Raise NotFound, Invalid or Forbidden, and change
    nothing then."""
    staff = node.staff.members(node.agency_id)
    async with node.uow.transaction() as work:
        referral = await work.referrals.get(referral_id)
        if referral is None:
            raise NotFound(referral_id)
        change = caseload.assign(
            referral, assignee, by=by.sub, supervises=by.has(*SUPERVISING), staff=staff, at=node.clock()
        )
        if change is not None:
            await work.assignments.record(change)
            assigned = ReferralAssigned(agency=node.agency_id, referral_id=referral_id, assignee=assignee)
            await work.outbox.tell_caseload(assigned, change.at)
        return change
