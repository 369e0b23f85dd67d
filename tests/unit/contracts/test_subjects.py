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
