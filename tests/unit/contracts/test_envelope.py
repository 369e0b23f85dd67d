"""The CloudEvents envelope: what a valid event looks like, and what is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from crocevia_contracts import Envelope, EnvelopeError, LegalBasis, Priority, parse_envelope
from crocevia_contracts.envelope import MAX_EVENT_BYTES, check_raw
from crocevia_contracts.events import Received, Rejected, Requested, SealedPart


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
        sealed=SealedPart(ciphertext="AA==", signature="AA==", signer_key_id="a" * 16, recipient_key_id="b" * 16),
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
    ids = [Envelope.build(source_agency="pioltello-casa", sequence=1, data=requested()).id for _ in range(50)]
    assert len(set(ids)) == 50
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update(type="org.crocevia.referral.exploded.v1"), "type is not a v1 referral event type"),
        (lambda e: e.update(type="org.crocevia.referral.received.v1"), "does not match"),
        (lambda e: e.update(subject="another"), "subject must be the referral id"),
        (lambda e: e.update(sequence=0), "at sequence: greater_than_equal"),
        (lambda e: e.update(id="not-a-uuid"), "at id: string_pattern_mismatch"),
        (lambda e: e["data"].update(priority="whenever"), "priority: enum"),
        (lambda e: e["data"].update(unexpected="x"), "data.requested.unexpected: extra_forbidden"),
        (lambda e: e.pop("source"), "source: missing"),
        (lambda e: e["data"].update(receiver_agency="pioltello-casa"), "must differ"),
        (lambda e: e["data"].update(reason_code="x"), "extra_forbidden"),
    ],
)
def test_invalid_envelopes_are_refused_with_the_reason(mutate, reason):
    raw = json.loads(Envelope.build(source_agency="pioltello-casa", sequence=1, data=requested()).to_json())
    mutate(raw)
    with pytest.raises(EnvelopeError, match=reason):
        parse_envelope(json.dumps(raw))


# Values a person's details could be: none may reach a reason (it goes to dead letters, logs).
PERSONAL = "RSSMRA80A01F205X Mario Rossi +39 333 1234567"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e["data"].update(referral_id=PERSONAL),
        lambda e: e["data"]["legal_basis"].update(captured_by=PERSONAL),
        lambda e: e["data"]["legal_basis"].update(scope=PERSONAL),
        lambda e: e["data"].update(previous_referral_id=PERSONAL),
        lambda e: e["data"].update(requested_by=PERSONAL),
        lambda e: e["data"].update(domain=PERSONAL),
        lambda e: e.update(type=PERSONAL),
        lambda e: e.update(subject=PERSONAL),
        lambda e: e["data"]["sealed"].update(signer_key_id=PERSONAL),
    ],
)
def test_a_refusal_names_the_field_never_the_value(mutate):
    raw = json.loads(Envelope.build(source_agency="pioltello-casa", sequence=1, data=requested()).to_json())
    mutate(raw)
    with pytest.raises(EnvelopeError) as refused:
        parse_envelope(json.dumps(raw))
    for word in PERSONAL.split():
        assert word not in str(refused.value)


def test_free_text_cannot_travel_in_clear():
    """Every field outside ``sealed`` is an id, a code, a time or a number: a sentence about
    the person is refused wherever it is put."""
    sentence = "Mario Rossi, born 1980"
    for field in ("reason_code", "domain", "service_id", "referral_id", "previous_referral_id", "requested_by"):
        with pytest.raises(ValidationError):
            requested(**{field: sentence}) if field != "reason_code" else Rejected(
                **{k: v for k, v in requested().model_dump().items() if k in Rejected.model_fields and k != "event"},
                reason_code=sentence,
            )
    with pytest.raises(ValidationError):
        LegalBasis(basis="consent", captured_by=sentence)


def test_a_payload_too_large_or_too_deep_is_refused_before_it_is_parsed():
    deep = b'{"a":' * 3000 + b"1" + b"}" * 3000
    with pytest.raises(EnvelopeError, match="nested deeper than 8 levels"):
        parse_envelope(deep)
    with pytest.raises(EnvelopeError, match="over the limit"):
        parse_envelope(b'{"x": "' + b"a" * (MAX_EVENT_BYTES + 1) + b'"}')
    # brackets inside strings do not count
    check_raw(b'{"a": "' + b"[" * 100 + b'"}')
    # a valid event is far from both limits
    payload = Envelope.build(source_agency="pioltello-casa", sequence=1, data=requested()).to_json()
    check_raw(payload)


def test_payloads_that_are_not_json_objects_are_refused():
    for payload in (b"\xff\xfe", b"[]", b"not json", b'"x"'):
        with pytest.raises(EnvelopeError):
            parse_envelope(payload)


def test_received_carries_no_legal_basis_and_no_personal_part_by_default():
    data = Received(
        referral_id="r",
        sender_agency="aa",
        receiver_agency="bb",
        service_id="s",
        priority="routine",
        occurred_at=datetime.now(UTC),
    )
    assert "sealed" not in json.loads(Envelope.build(source_agency="bb", sequence=1, data=data).to_json())["data"]


def test_a_notice_round_trips_and_a_mismatched_one_is_refused():
    from crocevia_contracts.notices import NoticeKind, notice_subject, parse_notice

    raw = {
        "specversion": "1.0",
        "id": "0195e0a4-7b7e-7c4d-9f00-000000000001",
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


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_documents = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ab'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\k'), inner, max_size=3),
    max_leaves=12,
)


@given(document=_documents, depth=st.integers(0, 6))
def test_the_depth_read_from_the_raw_bytes_is_the_documents_own(document: object, depth: int) -> None:
    """With or without escaped quotes (a backslash makes the check find strings by pattern,
    without one by splitting at quotes), brackets in strings never count."""
    payload = json.dumps(document).encode()
    if _depth(document) > depth:
        with pytest.raises(EnvelopeError, match=f"nested deeper than {depth} levels"):
            check_raw(payload, depth=depth)
    else:
        check_raw(payload, depth=depth)
