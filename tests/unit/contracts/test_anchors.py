"""An anchor of an access log is taken only from the agency it anchors, about itself, and
holds nothing but counts and a hash; the shared intake takes it where notices go."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crocevia_common.messaging.intake import Delivery, Unprocessable, parse
from crocevia_contracts import EnvelopeError
from crocevia_contracts.anchors import AccessLogAnchored, AnchorEnvelope, anchor_subject, read_anchor

HEAD = "ab" * 32


def anchor(agency: str = "cpia2", about: str | None = None, **data: object) -> AnchorEnvelope:
    fact = AccessLogAnchored(agency=about or agency, entries=3, head_sha256=HEAD).model_copy(update=data)
    envelope = AnchorEnvelope.build(data=fact, sequence=4, time=datetime(2026, 11, 20, tzinfo=UTC))
    return envelope.model_copy(update={"source": f"/agencies/{agency}"})


def test_an_anchor_reads_back_from_its_subject():
    sent = anchor()
    assert anchor_subject("cpia2") == "notice.v1.cpia2.access-log-anchored"
    got = read_anchor("notice.v1.cpia2.access-log-anchored", sent.to_json())
    assert got == sent and got.source_agency == "cpia2"


@pytest.mark.parametrize(
    "subject, envelope, reason",
    [
        ("notice.v1.pioltello-casa.access-log-anchored", anchor("cpia2"), "another agency"),
        ("notice.v1.cpia2.access-log-anchored", anchor("cpia2", about="pioltello-casa"), "another agency"),
        ("notice.v1.cpia2.reminder", anchor(), "not a notice.v1"),
        ("notice.v1.CPIA2.access-log-anchored", anchor(), "not an agency id"),
    ],
)
def test_an_anchor_from_or_about_another_agency_is_refused(subject, envelope, reason):
    with pytest.raises(EnvelopeError, match=reason):
        read_anchor(subject, envelope.to_json())


@pytest.mark.parametrize(
    "change",
    [
        lambda d: {**d, "data": {**d["data"], "head_sha256": "Amina K."}},
        lambda d: {**d, "data": {**d["data"], "staff": "op-anna"}},
        lambda d: {**d, "data": {**d["data"], "entries": -1}},
        lambda d: {**d, "type": "org.crocevia.referral.requested.v1"},
    ],
)
def test_an_anchor_with_anything_but_counts_and_a_hash_is_refused(change):
    raw = change(anchor().model_dump(mode="json"))
    with pytest.raises(EnvelopeError) as refused:
        read_anchor(anchor_subject("cpia2"), json.dumps(raw))
    assert "Amina" not in str(refused.value) and "op-anna" not in str(refused.value)


def test_the_intake_takes_anchors_where_notices_go_and_refuses_a_forged_publisher():
    sent = anchor()
    verified = parse(Delivery(anchor_subject("cpia2"), sent.to_json()), notices=True)
    assert verified.publisher == "cpia2" and verified.referral_id == "" and verified.envelope is None
    with pytest.raises(Unprocessable, match="another agency"):
        parse(Delivery(anchor_subject("pioltello-casa"), sent.to_json()), notices=True)
    with pytest.raises(Unprocessable):  # a node's consumer takes no anchor
        parse(Delivery(anchor_subject("cpia2"), sent.to_json()), addressed_to="cpia2")
