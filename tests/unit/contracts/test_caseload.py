"""A caseload notice is taken only from the agency whose assignment it states, about the
referral its subject names, and holds a referral id and a staff id only; the shared intake
takes it on the caseload consumer alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crocevia_common.messaging.intake import Delivery, Unprocessable, parse
from crocevia_contracts import EnvelopeError
from crocevia_contracts.caseload import CaseloadEnvelope, ReferralAssigned, caseload_subject, read_caseload

REFERRAL = "0193a6f0-0000-7000-8000-000000000001"


def assigned(agency: str = "cpia2", *, source: str | None = None, about: str | None = None) -> CaseloadEnvelope:
    data = ReferralAssigned(agency=about or agency, referral_id=REFERRAL, assignee="op-anna")
    envelope = CaseloadEnvelope.build(data=data, sequence=2, time=datetime(2026, 11, 30, tzinfo=UTC))
    return envelope.model_copy(update={"source": source or f"/agencies/{agency}/caseload"})


def test_a_caseload_notice_reads_back_from_its_subject_in_a_sequence_of_its_own():
    sent = assigned()
    assert caseload_subject("cpia2") == "caseload.v1.cpia2.referral-assigned"
    got = read_caseload(caseload_subject("cpia2"), sent.to_json())
    # not the node's events' source: the trail's sequence of cpia2 keeps no gap for it
    assert got == sent and got.source == "/agencies/cpia2/caseload" and got.source_agency == "cpia2"


@pytest.mark.parametrize(
    "subject, envelope, reason",
    [
        ("caseload.v1.pioltello-casa.referral-assigned", assigned("cpia2"), "another agency"),
        ("caseload.v1.cpia2.referral-assigned", assigned("cpia2", about="pioltello-casa"), "another agency"),
        ("caseload.v1.cpia2.referral-assigned", assigned(source="/agencies/cpia2"), "source"),
        ("caseload.v1.cpia2.reminder", assigned(), "not a caseload.v1"),
        ("caseload.v1.CPIA2.referral-assigned", assigned(), "not an agency id"),
    ],
)
def test_a_caseload_notice_from_or_about_another_agency_is_refused(subject, envelope, reason):
    with pytest.raises(EnvelopeError, match=reason):
        read_caseload(subject, envelope.to_json())


@pytest.mark.parametrize(
    "change",
    [
        lambda d: {**d, "data": {**d["data"], "person": "Amina K."}},
        lambda d: {**d, "subject": "0193a6f0-0000-7000-8000-000000000002"},
        lambda d: {**d, "data": {**d["data"], "assignee": "Amina K. <amina@example.org>"}},
        lambda d: {**d, "type": "org.crocevia.referral.requested.v1"},
    ],
)
def test_a_caseload_notice_with_anything_but_the_referral_and_a_staff_id_is_refused(change):
    raw = change(assigned().model_dump(mode="json"))
    with pytest.raises(EnvelopeError) as refused:
        read_caseload(caseload_subject("cpia2"), json.dumps(raw))
    assert "Amina" not in str(refused.value)


def test_only_the_caseload_intake_takes_it():
    sent = assigned()
    verified = parse(Delivery(caseload_subject("cpia2"), sent.to_json()), caseload=True)
    assert verified.publisher == "cpia2" and verified.caseload == sent and verified.envelope is None
    for elsewhere in ({"notices": True}, {"addressed_to": "cpia2"}):  # the audit's, a node's
        with pytest.raises(Unprocessable):
            parse(Delivery(caseload_subject("cpia2"), sent.to_json()), **elsewhere)
    with pytest.raises(Unprocessable):  # and it takes nothing else
        parse(Delivery("referral.v1.pioltello-casa.cpia2.requested", b"{}"), caseload=True)
