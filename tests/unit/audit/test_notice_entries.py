"""Notices (reminders, escalations) in the pure domain: their trail entry's columns, and
how the indicators count them without changing any other number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crocevia_audit.domain.entries import entry_bytes, is_notice_subject, project
from crocevia_audit.domain.indicators import TrailEvent, indicators
from tests.unit.audit.directory import ROUTINE, entry, targets_of

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def notice_envelope(kind: str = "reminder") -> dict:
    return {
        "specversion": "1.0",
        "id": "0190c3a0-0000-7000-8000-0000000000aa",
        "source": "/services/notifications",
        "type": f"org.crocevia.notice.{kind}.v1",
        "time": "2026-03-03T09:00:00+01:00",
        "subject": "ref-1",
        "datacontenttype": "application/json",
        "sequence": 7,
        "data": {
            "notice": kind,
            "stage": "requested",
            "agency": "cpia2",
            "referral_id": "ref-1",
            "sender_agency": "pioltello-casa",
            "receiver_agency": "cpia2",
            "service_id": "main-service",
            "priority": "urgent",
            "status": "requested",
            "due_at": "2026-03-03T08:00:00Z",
            "target_hours": 24.0,
            "notified": 3,
        },
    }


def test_a_notice_entry_keeps_the_envelope_and_projects_its_columns_from_the_data():
    envelope = notice_envelope("escalation")
    entry = entry_bytes(5, "notice.v1.cpia2.escalation", envelope)
    fields = project(entry)
    assert b'"nats_subject":"notice.v1.cpia2.escalation"' in entry
    assert b'"notified":3' in entry and b'"due_at":"2026-03-03T08:00:00Z"' in entry
    assert fields.as_row() == {
        "position": 5,
        "event_id": envelope["id"],
        "type": "org.crocevia.notice.escalation.v1",
        "event": "escalation",
        "source": "/services/notifications",
        "sequence": 7,
        "from_agency": "notifications",
        "to_agency": "cpia2",
        "referral_id": "ref-1",
        "sender_agency": "pioltello-casa",
        "receiver_agency": "cpia2",
        "service_id": "main-service",
        "domain": None,
        "priority": "urgent",
        "reason_code": None,
        "outcome": None,
        "time": datetime(2026, 3, 3, 8, 0, tzinfo=UTC),
        "occurred_at": datetime(2026, 3, 3, 8, 0, tzinfo=UTC),
    }


def test_only_notice_subjects_are_notices():
    assert is_notice_subject("notice.v1.cpia2.reminder")
    assert not is_notice_subject("referral.v1.pioltello-casa.cpia2.requested")
    assert not is_notice_subject("noticeboard.v1.x")


def test_a_notice_entry_without_its_data_is_not_an_entry():
    envelope = notice_envelope()
    del envelope["data"]["referral_id"]
    with pytest.raises(KeyError):
        project(entry_bytes(0, "notice.v1.cpia2.reminder", envelope))


def event(name: str, referral: str, hours: float, domain: str | None = "education") -> TrailEvent:
    return TrailEvent(referral, name, "pioltello-casa", "cpia2", "main-service", domain, "routine", T0 + hours * HOUR)


def notice(kind: str, referral: str, hours: float) -> TrailEvent:
    return event(kind, referral, hours, domain=None)


TARGETS = targets_of(entry("cpia2", ROUTINE))
AS_OF = datetime(2026, 4, 10, tzinfo=UTC)


def test_indicators_count_notices_per_group_and_nothing_else_changes():
    lifecycle = [
        event("requested", "a", 0),
        event("received", "a", 30),
        event("requested", "b", 1),
        event("received", "b", 2),
        event("accepted", "b", 3),
    ]
    with_notices = [
        notice("reminder", "a", 24),  # before the request in trail order: grouped by the request all the same
        lifecycle[0],
        lifecycle[1],
        notice("reminder", "a", 96),
        notice("escalation", "a", 120),
        lifecycle[2],
        notice("reminder", "b", 1.5),
        lifecycle[3],
        lifecycle[4],
    ]
    for dimensions in (["domain"], ["pair", "service", "domain", "month"], []):
        plain = indicators(lifecycle, dimensions=dimensions, targets=TARGETS, as_of=AS_OF)
        counted = indicators(with_notices, dimensions=dimensions, targets=TARGETS, as_of=AS_OF)
        assert [row["group"] for row in counted] == [row["group"] for row in plain]
        [row] = counted
        assert (row.pop("reminders"), row.pop("escalations")) == (3, 1)
        assert (plain[0].pop("reminders"), plain[0].pop("escalations")) == (0, 0)
        assert row == plain[0]
