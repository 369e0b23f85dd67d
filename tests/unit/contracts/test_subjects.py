import pytest

from crocevia_contracts import EventName, SubjectError, inbound_filter, parse_referral_subject, referral_subject


def test_subject_names_both_parties_and_the_event():
    subject = referral_subject("pioltello-casa", "cpia2", EventName.REQUESTED)
    assert subject == "referral.v1.pioltello-casa.cpia2.requested"
    parsed = parse_referral_subject(subject)
    assert (parsed.from_agency, parsed.to_agency, parsed.event) == ("pioltello-casa", "cpia2", EventName.REQUESTED)


@pytest.mark.parametrize("event", list(EventName))
def test_every_event_round_trips_through_its_subject(event):
    assert parse_referral_subject(referral_subject("a1", "b-2", event)).event is event


@pytest.mark.parametrize(
    "bad",
    [
        "referral.v1.a.b",
        "referral.v2.a.b.requested",
        "referral.v1.a.b.exploded",
        "referral.v1.A.b.requested",
        "other.v1.a.b.requested",
        "referral.v1.a.b.c.requested",
    ],
)
def test_malformed_subjects_are_refused(bad):
    with pytest.raises(SubjectError):
        parse_referral_subject(bad)


def test_agency_ids_with_dots_or_wildcards_cannot_build_a_subject():
    for bad in ("a.b", "*", ">", "", "-a"):
        with pytest.raises(SubjectError):
            referral_subject(bad, "cpia2", "requested")


def test_a_node_listens_to_what_is_addressed_to_it():
    assert inbound_filter("cpia2") == "referral.v1.*.cpia2.>"


def _event(name: str, publisher: str) -> tuple[str, bytes]:
    from datetime import UTC, datetime

    from crocevia_contracts import EVENT_MODELS, Envelope, LegalBasis

    extra = {
        "requested": {"legal_basis": LegalBasis(basis="public-task")},
        "rejected": {"reason_code": "no-capacity"},
        "cancelled": {"reason_code": "sent-in-error"},
        "completed": {"outcome": "got-help"},
        "failed": {"reason_code": "no-show"},
        "personal-data-erased": {"reason": "consent-withdrawn"},
    }.get(name, {})
    data = EVENT_MODELS[EventName(name)](
        referral_id="r-1",
        sender_agency="pioltello-casa",
        receiver_agency="cpia2",
        service_id="italiano-a1",
        priority="routine",
        occurred_at=datetime(2026, 11, 2, tzinfo=UTC),
        **extra,
    )
    other = "cpia2" if publisher == "pioltello-casa" else "pioltello-casa"
    envelope = Envelope.build(source_agency=publisher, sequence=1, data=data)
    return referral_subject(publisher, other, name), envelope.to_json()


@pytest.mark.parametrize(
    ("event", "sender_may", "receiver_may"),
    [
        ("requested", True, False),
        ("received", False, True),
        ("accepted", False, True),
        ("rejected", False, True),
        ("completed", False, True),
        ("cancelled", True, False),
        ("consent-withdrawn", True, False),
        ("personal-data-erased", True, True),
        ("info-requested", True, True),
        ("info-provided", True, True),
    ],
)
def test_each_event_is_published_only_by_the_side_the_lifecycle_gives_it(event, sender_may, receiver_may):
    from crocevia_contracts import EnvelopeError, read_event

    for publisher, may in (("pioltello-casa", sender_may), ("cpia2", receiver_may)):
        subject, payload = _event(event, publisher)
        if may:
            assert read_event(subject, payload)[1].source_agency == publisher
        else:
            with pytest.raises(EnvelopeError, match=f"does not publish {event}"):
                read_event(subject, payload)
