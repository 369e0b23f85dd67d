"""A person of this agency acts on a referral: accept, reject, start, hold, resume, complete,
fail, cancel, request or provide information, withdraw consent."""

from __future__ import annotations

from crocevia_common.auth import Principal
from crocevia_referrals.domain.actions import ActionInput, needs_of
from crocevia_referrals.domain.errors import NotFound
from crocevia_referrals.handlers.ports import Node


async def act(node: Node, by: Principal, referral_id: str, action: ActionInput) -> None:
    """Carry out ``action`` and queue its event; raise NotFound, Invalid or TransitionRefused,
    and change nothing then."""
    known: frozenset[str] = frozenset()  # the suggested agency, when the directory has it
    suggested = action.suggested_agency if needs_of(action.name).suggests_agency else None
    if suggested and await node.directory.fetch(suggested) is not None:
        known = frozenset({suggested})
    async with node.uow.transaction() as work:
        referral = await work.referrals.get(referral_id)
        if referral is None:
            raise NotFound(referral_id)
        referral.act(action, by=by.sub, at=node.clock(), known_agencies=known)
        await work.referrals.save(referral)
        for event in referral.outbox:
            await work.outbox.put(event)
