""" "Needs us" and a referral's page: what is due by the directory's response targets, counted
from when each referral was requested; overdue first, by how late, then due soon, on time,
then what is in the agency's hands."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from crocevia_common.auth import Principal, Role
from crocevia_contracts.events import Requested
from crocevia_referrals import views
from crocevia_referrals.domain.actions import ActionInput
from crocevia_referrals.handlers.acting import act
from crocevia_referrals.handlers.incoming import apply_incoming
from tests.unit.referrals.fakes import NOW, World, agency, delivered, world

CASA, CPIA = "pioltello-casa", "cpia2"
STAFF = Principal("op-cpia", CPIA, frozenset({Role.OPERATOR}))
PERSON = b'{"person": {"given_name": "Amina", "family_name": "K."}}'


async def arrives(w: World, requested_ago: timedelta, priority: str = "routine") -> str:
    """A referral pioltello-casa requested ``requested_ago`` before now, at cpia2."""
    referral_id = str(uuid.uuid4())
    data = Requested(
        referral_id=referral_id,
        sender_agency=CASA,
        receiver_agency=CPIA,
        service_id="main-service",
        priority=priority,  # type: ignore[arg-type]
        occurred_at=NOW - requested_ago,
        step=1,
        legal_basis={"basis": "public-task"},  # type: ignore[arg-type]
    )
    item = delivered(CASA, CPIA, data, sequence=len(w.uow.stored.referrals) + 1)
    w.seals.texts[item.id] = PERSON
    await apply_incoming(w.node, item)
    return referral_id


def cpia(**service: Any) -> World:
    w = world(CPIA, agency(CASA))
    w.directory.agencies[CPIA] = agency(CPIA, **service)
    return w


async def test_overdue_come_first_then_due_soon_then_on_time_then_those_in_our_hands() -> None:
    w = cpia()
    ids = {
        "in-our-hands": await arrives(w, timedelta(days=30)),
        "on-time": await arrives(w, timedelta(hours=1)),
        "late-a-little": await arrives(w, timedelta(days=5, hours=1)),
        "soon": await arrives(w, timedelta(days=4, hours=2)),
        "urgent-and-very-late": await arrives(w, timedelta(days=3), priority="urgent"),
    }
    await act(w.node, STAFF, ids["in-our-hands"], ActionInput("accept"))
    names = {referral_id: name for name, referral_id in ids.items()}
    found = await views.needs_us(w.reads, NOW)
    assert [(names[w.referral.id], w.due.state) for w in found.waiting] == [
        ("urgent-and-very-late", "overdue"),
        ("late-a-little", "overdue"),
        ("soon", "soon"),
        ("on-time", "on-time"),
        ("in-our-hands", "none"),
    ]
    assert found.overdue == 2
    assert found.waiting[0].due.by == NOW - timedelta(days=3) + timedelta(hours=24)
    assert found.waiting[-1].due.target is not None, "the target is shown even when nothing is due"


async def test_a_target_in_working_days_is_not_overdue_over_the_weekend() -> None:
    friday = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 16:00 in Rome
    sunday = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)
    for counting, due_at, state in [
        ("working-days", datetime(2026, 11, 23, 15, 0, tzinfo=UTC), "on-time"),  # Monday 16:00 in Rome
        ("clock", datetime(2026, 11, 21, 15, 0, tzinfo=UTC), "overdue"),
    ]:
        target = {"receive_within_hours": 24, "decide_within_hours": 24, "counting": counting}
        w = cpia(response_targets={"routine": target})
        await arrives(w, NOW - friday)
        [waiting] = (await views.needs_us(w.reads, sunday)).waiting
        assert (waiting.due.by, waiting.due.state) == (due_at, state), counting


async def test_a_referral_page_shows_the_routine_target_of_a_priority_without_its_own() -> None:
    w = cpia(response_targets={"routine": {"receive_within_hours": 24, "decide_within_hours": 120}})
    urgent = await arrives(w, timedelta(hours=2), priority="urgent")
    detail = await views.referral_detail(w.reads, urgent, NOW)
    assert detail is not None and detail.due.target is not None
    assert detail.due.target.fallback
    assert detail.due.by == NOW - timedelta(hours=2) + timedelta(hours=120)
    assert [a.action for a in detail.actions] == ["accept", "reject", "request-info"], "no answer: nothing was asked"
    assert detail.counterpart == CASA and detail.redirect_targets == []


async def test_a_referral_in_a_service_without_targets_has_nothing_due() -> None:
    w = cpia(response_targets={})
    await arrives(w, timedelta(days=60))
    [waiting] = (await views.needs_us(w.reads, NOW)).waiting
    assert (waiting.due.target, waiting.due.by, waiting.due.state) == (None, None, "none")
