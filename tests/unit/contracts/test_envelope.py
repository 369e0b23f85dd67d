"""The CloudEvents envelope: what a valid event looks like, and what is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crocevia_contracts import Envelope, EnvelopeError, LegalBasis, Priority, parse_envelope
from crocevia_contracts.events import Received, Requested, SealedPart


def requested(**over) -> Requested:
    values = dict(
        referral_id="r-1",
        sender_agency="pioltello-casa",
        receiver_agency="cpia2",
        service_id="italiano-a1",
        domain="education",
        priority=Priority.ROUTINE,
        occurred_at=datetime(2026, 11, 1, tzinfo=UTC),
        legal_basis=LegalBasis(basis="public-task"),
        sealed=SealedPart(ciphertext="AA==", signature="AA==", signer_key_id="a", recipient_key_id="b"),
    )
    values.update(over)
    return Requested(**values)


def test_an_envelope_round_trips_through_json():
    env = Envelope.build(
        source_agency="pioltello-casa",
        sequence=7,
        data=requested(),
        traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
    )
    again = parse_envelope(env.to_json())
    assert again == env
    raw = json.loads(env.to_json())
    assert raw["specversion"] == "1.0"
    assert raw["type"] == "org.crocevia.referral.requested.v1"
    assert raw["source"] == "/agencies/pioltello-casa"
    assert raw["subject"] == "r-1"
    assert raw["id"][14] == "7", "ids are UUIDv7"


def test_event_ids_are_unique_and_ordered_by_time():
    ids = [Envelope.build(source_agency="a", sequence=1, data=requested()).id for _ in range(50)]
    assert len(set(ids)) == 50
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update(type="org.crocevia.referral.exploded.v1"), "unknown event type"),
        (lambda e: e.update(type="org.crocevia.referral.received.v1"), "does not match"),
        (lambda e: e.update(subject="another"), "subject must be the referral id"),
        (lambda e: e.update(sequence=0), "sequence"),
        (lambda e: e.update(id="not-a-uuid"), "id"),
        (lambda e: e["data"].update(priority="whenever"), "priority"),
        (lambda e: e["data"].update(unexpected="x"), "unexpected"),
        (lambda e: e.pop("source"), "source"),
    ],
)
def test_invalid_envelopes_are_refused_with_the_reason(mutate, reason):
    raw = json.loads(Envelope.build(source_agency="a", sequence=1, data=requested()).to_json())
    mutate(raw)
    with pytest.raises(EnvelopeError, match=reason):
        parse_envelope(json.dumps(raw))


def test_payloads_that_are_not_json_objects_are_refused():
    for payload in (b"\xff\xfe", b"[]", b"not json", b'"x"'):
        with pytest.raises(EnvelopeError):
            parse_envelope(payload)


def test_received_carries_no_legal_basis_and_no_personal_part_by_default():
    data = Received(
        referral_id="r",
        sender_agency="a",
        receiver_agency="b",
        service_id="s",
        priority="routine",
        occurred_at=datetime.now(UTC),
    )
    assert "sealed" not in json.loads(Envelope.build(source_agency="b", sequence=1, data=data).to_json())["data"]


def test_a_notice_round_trips_and_a_mismatched_one_is_refused():
    from crocevia_contracts.notices import NoticeKind, notice_subject, parse_notice

    raw = {
        "specversion": "1.0",
        "id": "n-1",
        "source": "/services/notifications",
        "type": NoticeKind.REMINDER.event_type,
        "time": "2026-11-01T10:00:00Z",
        "subject": "r-1",
        "sequence": 1,
        "data": {
            "notice": "reminder",
            "stage": "requested",
            "agency": "cpia2",
            "referral_id": "r-1",
            "sender_agency": "pioltello-casa",
            "receiver_agency": "cpia2",
            "service_id": "italiano-a1",
            "priority": "routine",
            "status": "requested",
            "due_at": "2026-11-02T10:00:00Z",
            "target_hours": 24,
            "notified": 2,
        },
    }
    assert parse_notice(json.dumps(raw)).data.agency == "cpia2"
    assert notice_subject("cpia2", "reminder") == "notice.v1.cpia2.reminder"
    raw["type"] = NoticeKind.ESCALATION.event_type
    with pytest.raises(EnvelopeError, match="does not match"):
        parse_notice(json.dumps(raw))
    raw["source"] = "/agencies/cpia2"
    with pytest.raises(EnvelopeError):
        parse_notice(json.dumps(raw))
