"""Which keys a party's messages are verified with.

Every consumer pins a party's keys the first time it sees them in the directory, and takes
new ones only when the pinned signing key endorsed them (a rotation), or when the network's
operator confirmed them (``crocevia keys confirm``: the party lost its old key). Anything
else the directory says about a party's keys is refused, so whoever can write to the
directory cannot make a consumer trust a key of their own.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from crocevia_contracts.directory import KeyConfirmation, KeyEndorsement, PublicKeys
from crocevia_contracts.sealing import key_id

_ENDORSEMENT = b"crocevia-key-endorsement-v1\n"
_CONFIRMATION = b"crocevia-key-confirmation-v1\n"


def _statement(prefix: bytes, party: str, keys: PublicKeys) -> bytes:
    return prefix + b"\n".join((party.encode(), keys.box.encode(), keys.signing.encode()))


def signing_key_id(keys: PublicKeys) -> str:
    return key_id(base64.b64decode(keys.signing))


def _verifies(public_key: bytes, message: bytes, signature: str) -> bool:
    try:
        VerifyKey(public_key).verify(message, base64.b64decode(signature, validate=True))
    except (BadSignatureError, ValueError):
        return False
    return True


def endorse(previous: SigningKey, party: str, keys: PublicKeys) -> KeyEndorsement:
    """``party``'s new ``keys``, signed by the signing key they replace."""
    signature = previous.sign(_statement(_ENDORSEMENT, party, keys)).signature
    return KeyEndorsement(
        keys=keys,
        previous_signing_key_id=key_id(bytes(previous.verify_key)),
        signature=base64.b64encode(signature).decode(),
    )


def confirm(operator: SigningKey, party: str, keys: PublicKeys, at: datetime | None = None) -> KeyConfirmation:
    """The operator's confirmation that ``keys`` are ``party``'s."""
    signature = operator.sign(_statement(_CONFIRMATION, party, keys)).signature
    return KeyConfirmation(
        party=party, keys=keys, confirmed_at=at or datetime.now(UTC), signature=base64.b64encode(signature).decode()
    )


class PinChange(StrEnum):
    FIRST_SEEN = "first-seen"
    ROTATED = "rotated"  # endorsed by the pinned key, directly or through earlier rotations
    CONFIRMED = "confirmed"  # by the network's operator


@dataclass(frozen=True, slots=True)
class Pin:
    """The keys to verify a party with; ``change`` says why they are new (None: as pinned),
    ``refused`` why the keys the directory publishes were not taken."""

    keys: PublicKeys
    change: PinChange | None = None
    refused: str | None = None


def _endorsed(party: str, pinned: PublicKeys, published: PublicKeys, history: Sequence[KeyEndorsement]) -> bool:
    current = pinned
    for _ in range(len(history)):
        current_id = signing_key_id(current)
        step = next(
            (
                e
                for e in history
                if e.previous_signing_key_id == current_id
                and _verifies(base64.b64decode(current.signing), _statement(_ENDORSEMENT, party, e.keys), e.signature)
            ),
            None,
        )
        if step is None:
            return False
        current = step.keys
        if current == published:
            return True
    return False


def _confirmed(party: str, published: PublicKeys, confirmation: KeyConfirmation | None, operator: bytes | None) -> bool:
    if confirmation is None or operator is None or confirmation.party != party or confirmation.keys != published:
        return False
    return _verifies(operator, _statement(_CONFIRMATION, party, published), confirmation.signature)


def next_pin(
    party: str,
    pinned: PublicKeys | None,
    published: PublicKeys | None,
    history: Sequence[KeyEndorsement] = (),
    confirmation: KeyConfirmation | None = None,
    operator_key: bytes | None = None,
) -> Pin | None:
    """The keys to verify ``party`` with, given what is pinned and what the directory
    publishes; None when there are none yet."""
    if published is None or published == pinned:
        return None if pinned is None else Pin(pinned)
    if pinned is None:
        return Pin(published, PinChange.FIRST_SEEN)
    if _endorsed(party, pinned, published, history):
        return Pin(published, PinChange.ROTATED)
    if _confirmed(party, published, confirmation, operator_key):
        return Pin(published, PinChange.CONFIRMED)
    return Pin(
        pinned,
        refused="the directory publishes keys that the pinned key did not endorse and the operator did not confirm",
    )
