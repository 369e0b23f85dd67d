"""Assigning a referral to a member of this agency's staff, or taking it for oneself."""

from __future__ import annotations

from crocevia_common.auth import Principal, Role
from crocevia_referrals.domain import caseload
from crocevia_referrals.domain.caseload import Assignment
from crocevia_referrals.domain.errors import NotFound
from crocevia_referrals.handlers.ports import Node

# Who assigns and reassigns any referral; everyone else only takes an unassigned one.
SUPERVISING = (Role.SUPERVISOR, Role.ADMIN)


async def assign(node: Node, by: Principal, referral_id: str, assignee: str) -> Assignment | None:
    """Assign the referral to ``assignee`` and record it at this node only (no event); None
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
        return change
