"""Reminders and escalations are due when the contracts' rule says a referral's targets are
due (tests/kit/due_cases.py, the table every service runs): armed by the events, counted
from the request, the routine target standing in for a priority without its own."""

from __future__ import annotations

import pytest

from crocevia_contracts import EventName
from crocevia_notifications.domain.notices import NoticeKind
from crocevia_notifications.domain.timers import Stage
from tests.kit.due_cases import DUE_CASES, DueCase
from tests.unit.notifications.world import RECEIVER, World


@pytest.mark.parametrize("case", DUE_CASES, ids=str)
async def test_the_timers_are_due_at_the_contracts_times(case: DueCase) -> None:
    world = await World(case.entry(RECEIVER)).with_staff()
    world.now = case.requested_at
    requested = world.requested(priority=case.priority)
    await world.apply(requested)
    receive_stage = {t.kind: t.due_at for t in world.timers() if t.stage is Stage.RECEIVE}
    world.advance(hours=1)  # received later: the decide stage still counts from the request
    await world.apply(world.step(requested, EventName.RECEIVED))
    decide_stage = {t.kind: t.due_at for t in world.timers() if t.stage is Stage.DECIDE}

    if case.receive_by is None:
        assert receive_stage == {} and decide_stage == {}
        return
    assert receive_stage == {NoticeKind.REMINDER: case.receive_by, NoticeKind.ESCALATION: case.decide_by}
    assert decide_stage[NoticeKind.REMINDER] == case.decide_by
    target = case.entry().target_for("main-service", case.priority)
    assert target is not None
    hours = target.target.decide_within_hours + target.target.receive_within_hours
    assert decide_stage[NoticeKind.ESCALATION] == target.due(case.requested_at, hours)
