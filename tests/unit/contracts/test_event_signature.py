"""An event's ``Crocevia-Signature`` against its publisher's pinned key: the verifier of each
pinned key is made once, and a key pinned later is the one events are checked against."""

from __future__ import annotations

import base64

import pytest

from crocevia_contracts.directory import PublicKeys
from crocevia_contracts.sealing import PartyKeys, SealError, key_id, sign_event, verify_event

PAYLOAD = b'{"id": "e-1", "type": "requested"}'


def test_an_event_verifies_against_the_key_pinned_now_and_not_against_the_one_before():
    before, after = PartyKeys.generate(), PartyKeys.generate()
    old_header, new_header = sign_event(before, PAYLOAD), sign_event(after, PAYLOAD)
    verify_event(old_header, before.public(), PAYLOAD)
    verify_event(new_header, after.public(), PAYLOAD)
    with pytest.raises(SealError, match="another key than the publisher's pinned key"):
        verify_event(old_header, after.public(), PAYLOAD)  # the old verifier, made first, is not reused
    with pytest.raises(SealError, match="another key than the publisher's pinned key"):
        verify_event(new_header, before.public(), PAYLOAD)


@pytest.mark.parametrize("tamper", [lambda p: p + b" ", lambda p: p.replace(b"e-1", b"e-2")])
def test_a_changed_payload_does_not_verify(tamper):
    keys = PartyKeys.generate()
    header = sign_event(keys, PAYLOAD)
    verify_event(header, keys.public(), PAYLOAD)
    with pytest.raises(SealError, match="does not verify"):
        verify_event(header, keys.public(), tamper(PAYLOAD))


def test_a_pinned_value_that_is_no_point_of_the_curve_verifies_nothing():
    keys = PartyKeys.generate()
    nothing = base64.b64encode(bytes(32)).decode()
    pinned = PublicKeys(box=keys.public().box, signing=nothing)
    forged = f"{key_id(bytes(32))}:{sign_event(keys, PAYLOAD).split(':', 1)[1]}"
    for _ in range(2):  # the second time with the verifier made the first
        with pytest.raises(SealError, match="does not verify"):
            verify_event(forged, pinned, PAYLOAD)


@pytest.mark.parametrize("header", [None, "", "no-colon"])
def test_an_unsigned_event_is_refused(header):
    with pytest.raises(SealError, match="not signed"):
        verify_event(header, PartyKeys.generate().public(), PAYLOAD)
