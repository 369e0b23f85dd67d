"""Which keys a consumer verifies a party with: the first published, then only keys the
pinned key endorsed (however many rotations later) or the operator confirmed."""

from __future__ import annotations

from nacl.signing import SigningKey

from crocevia_contracts.sealing import PartyKeys
from crocevia_contracts.trust import PinChange, confirm, endorse, next_pin


def rotated(party: str, times: int) -> tuple[list[PartyKeys], list]:
    """A party's keys over ``times`` rotations, and the endorsements it publishes."""
    keys = [PartyKeys.generate()]
    history = []
    for _ in range(times):
        new = PartyKeys.generate()
        history.append(endorse(keys[-1].signing, party, new.public()))
        keys.append(new)
    return keys, history


def test_the_first_keys_published_are_pinned():
    keys = PartyKeys.generate().public()
    assert next_pin("cpia2", None, keys) == next_pin("cpia2", None, keys)
    pin = next_pin("cpia2", None, keys)
    assert pin is not None and (pin.keys, pin.change) == (keys, PinChange.FIRST_SEEN)
    assert next_pin("cpia2", None, None) is None


def test_unchanged_keys_stay_pinned():
    keys = PartyKeys.generate().public()
    pin = next_pin("cpia2", keys, keys)
    assert pin is not None and (pin.keys, pin.change, pin.refused) == (keys, None, None)


def test_keys_endorsed_by_the_pinned_key_are_taken_even_several_rotations_later():
    keys, history = rotated("cpia2", 3)
    pin = next_pin("cpia2", keys[0].public(), keys[3].public(), history)
    assert pin is not None and (pin.keys, pin.change) == (keys[3].public(), PinChange.ROTATED)


def test_keys_not_endorsed_by_the_pinned_key_are_refused():
    pinned, replaced = PartyKeys.generate(), PartyKeys.generate()
    pin = next_pin("cpia2", pinned.public(), replaced.public())
    assert pin is not None and pin.keys == pinned.public() and pin.change is None
    assert pin.refused and "did not endorse" in pin.refused


def test_an_endorsement_by_another_key_or_for_another_party_is_refused():
    keys, history = rotated("cpia2", 1)
    stranger = PartyKeys.generate()
    forged = endorse(stranger.signing, "cpia2", keys[1].public())
    forged = forged.model_copy(update={"previous_signing_key_id": history[0].previous_signing_key_id})
    assert next_pin("cpia2", keys[0].public(), keys[1].public(), [forged]).refused  # type: ignore[union-attr]
    # An endorsement made for one party does not move another's pin.
    assert next_pin("coop-abitare", keys[0].public(), keys[1].public(), history).refused  # type: ignore[union-attr]


def test_the_operator_confirms_exactly_the_keys_it_signed():
    operator = SigningKey.generate()
    pinned, lost_and_new = PartyKeys.generate(), PartyKeys.generate()
    confirmation = confirm(operator, "cpia2", lost_and_new.public())
    pin = next_pin("cpia2", pinned.public(), lost_and_new.public(), (), confirmation, bytes(operator.verify_key))
    assert pin is not None and (pin.keys, pin.change) == (lost_and_new.public(), PinChange.CONFIRMED)
    # Not without the operator's key, not by another operator, not for other keys.
    assert next_pin("cpia2", pinned.public(), lost_and_new.public(), (), confirmation, None).refused  # type: ignore[union-attr]
    other = bytes(SigningKey.generate().verify_key)
    assert next_pin("cpia2", pinned.public(), lost_and_new.public(), (), confirmation, other).refused  # type: ignore[union-attr]
    third = PartyKeys.generate().public()
    assert next_pin("cpia2", pinned.public(), third, (), confirmation, bytes(operator.verify_key)).refused  # type: ignore[union-attr]
