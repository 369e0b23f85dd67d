""" "Needs us" puts overdue referrals first, by how late they are, then those due soon, then
the ones in the agency's hands, with the directory's response targets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from crocevia_contracts.directory import AgencyEntry
from crocevia_referrals.entrypoints.schemas import ReferralView
from crocevia_referrals.entrypoints.web.needs_us import Waiting, waiting

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CPIA2 = AgencyEntry.model_validate(
    {
        "organization": {"id": "cpia2", "name": "CPIA 2"},
        "services": [
            {
                "id": "italiano-a1",
                "name": "Italiano A1",
                "domain": "education",
                "response_targets": {
                    "routine": {"receive_within_hours": 24, "decide_within_hours": 120},
                    "urgent": {"receive_within_hours": 4, "decide_within_hours": 24},
                },
            }
        ],
    }
)
NODE = SimpleNamespace(directory=SimpleNamespace(get=lambda agency: CPIA2 if agency == "cpia2" else None))


def incoming(name: str, status: str, received_ago: timedelta, priority: str = "routine") -> ReferralView:
    at = NOW - received_ago
    return ReferralView(
        id=name,
        direction="incoming",
        sender_agency="pioltello-casa",
        receiver_agency="cpia2",
        service_id="italiano-a1",
        domain="education",
        priority=priority,
        status=status,
        legal_basis={},
        person=None,
        reason=None,
        needs=None,
        erased=None,
        consent_withdrawn_at=None,
        previous_referral_id=None,
        created_at=at,
        updated_at=at,
        allowed_actions=[],
    )


def test_overdue_come_first_then_due_soon_then_on_time_then_those_in_our_hands() -> None:
    referrals = [
        incoming("in-our-hands", "in-progress", timedelta(days=30)),
        incoming("on-time", "received", timedelta(hours=1)),
        incoming("late-a-little", "received", timedelta(days=5, hours=1)),
        incoming("soon", "received", timedelta(days=4, hours=2)),
        incoming("urgent-and-very-late", "received", timedelta(days=3), priority="urgent"),
    ]
    ordered = sorted((waiting(NODE, r, NOW) for r in referrals), key=Waiting.order)  # type: ignore[arg-type]
    assert [(w.referral.id, w.state) for w in ordered] == [
        ("urgent-and-very-late", "overdue"),
        ("late-a-little", "overdue"),
        ("soon", "soon"),
        ("on-time", "on-time"),
        ("in-our-hands", "none"),
    ]
    assert ordered[0].due_at == NOW - timedelta(days=3) + timedelta(hours=24)
    assert ordered[-1].target is not None  # the target is shown even when nothing is due


def node_with_target(counting: str) -> SimpleNamespace:
    target = {"receive_within_hours": 24, "decide_within_hours": 24, "counting": counting}
    entry = AgencyEntry.model_validate(
        {
            "organization": {"id": "cpia2", "name": "CPIA 2"},
            "services": [
                {"id": "italiano-a1", "name": "A1", "domain": "education", "response_targets": {"routine": target}}
            ],
        }
    )
    return SimpleNamespace(directory=SimpleNamespace(get=lambda agency: entry))


def test_a_target_in_working_days_is_not_overdue_over_the_weekend() -> None:
    friday = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 16:00 in Rome
    sunday = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)
    referral = incoming("weekend", "received", NOW - friday)
    working = waiting(node_with_target("working-days"), referral, sunday)  # type: ignore[arg-type]
    assert working.due_at == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 16:00 in Rome
    assert working.state == "on-time"
    clock = waiting(node_with_target("clock"), referral, sunday)  # type: ignore[arg-type]
    assert (clock.due_at, clock.state) == (datetime(2026, 11, 21, 15, 0, tzinfo=UTC), "overdue")
