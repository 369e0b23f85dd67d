"""Sealing and signing: the personal part goes in a libsodium sealed box to the receiving
agency's X25519 key, signed by the sending agency's Ed25519 key over the referral id, the
event and the box; every event carries the publisher's signature of its exact bytes in the
``Crocevia-Signature`` header. Agency systems that publish events themselves use these."""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass

from nacl.encoding import RawEncoder
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import SigningKey, VerifyKey

from crocevia_contracts.directory import KeyEndorsement, PublicKeys
from crocevia_contracts.events import SealedPart


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class SealError(Exception):
    """A sealed part that cannot be trusted or opened; ``str()`` says why."""


@dataclass(frozen=True)
class PartyKeys:
    """A party's own key pairs: one to open boxes sealed to it, one to sign what it sends.
    After a rotation, ``earlier_boxes`` still open what was sealed to the keys before, and
    ``history`` holds the endorsements that let others follow to the current keys."""

    box: PrivateKey
    signing: SigningKey
    earlier_boxes: tuple[PrivateKey, ...] = ()
    history: tuple[KeyEndorsement, ...] = ()

    @classmethod
    def generate(cls) -> PartyKeys:
        return cls(box=PrivateKey.generate(), signing=SigningKey.generate())

    @classmethod
    def from_secrets(cls, box_secret: bytes, signing_seed: bytes) -> PartyKeys:
        return cls(box=PrivateKey(box_secret), signing=SigningKey(signing_seed))

    def public(self) -> PublicKeys:
        return PublicKeys(box=_b64(bytes(self.box.public_key)), signing=_b64(bytes(self.signing.verify_key)))

    def box_for(self, recipient_key_id: str) -> PrivateKey | None:
        """The box key a part sealed to ``recipient_key_id`` opens with, if this party has it."""
        return next(
            (k for k in (self.box, *self.earlier_boxes) if key_id(bytes(k.public_key)) == recipient_key_id), None
        )


def _signed_message(referral_id: str, event: str, ciphertext: bytes) -> bytes:
    return b"crocevia-sealed-v1\n" + referral_id.encode() + b"\n" + event.encode() + b"\n" + ciphertext


def seal_for(recipient: PublicKeys, sender: PartyKeys, referral_id: str, event: str, plaintext: bytes) -> SealedPart:
    """Encrypt ``plaintext`` so only ``recipient`` can read it, and sign it as ``sender``."""
    box_key = base64.b64decode(recipient.box)
    ciphertext = SealedBox(PublicKey(box_key)).encrypt(plaintext, encoder=RawEncoder)
    signature = sender.signing.sign(_signed_message(referral_id, event, ciphertext)).signature
    return SealedPart(
        ciphertext=_b64(ciphertext),
        signature=_b64(signature),
        signer_key_id=key_id(bytes(sender.signing.verify_key)),
        recipient_key_id=key_id(box_key),
    )


def open_sealed(sealed: SealedPart, sender: PublicKeys, recipient: PartyKeys, referral_id: str, event: str) -> bytes:
    """Verify the sender's signature, then open the box; raise SealError otherwise."""
    signing_key = base64.b64decode(sender.signing)
    if sealed.signer_key_id != key_id(signing_key):
        raise SealError("the sealed part is signed with another key than the sender's pinned key")
    box = recipient.box_for(sealed.recipient_key_id)
    if box is None:
        raise SealError("sealed to another key than this node's")
    try:
        ciphertext = base64.b64decode(sealed.ciphertext, validate=True)
        VerifyKey(signing_key).verify(
            _signed_message(referral_id, event, ciphertext), base64.b64decode(sealed.signature, validate=True)
        )
    except (BadSignatureError, ValueError):
        raise SealError("the signature does not verify") from None
    try:
        return SealedBox(box).decrypt(ciphertext)
    except CryptoError:
        raise SealError("the sealed box does not open with this node's key") from None


SIGNATURE_HEADER = "Crocevia-Signature"
SIGNED_CONTEXT = b"crocevia-event-v1\n"  # what an event's signature covers before its payload


def sign_event(sender: PartyKeys, payload: bytes) -> str:
    """The ``Crocevia-Signature`` header of an event: ``<key id>:<base64 Ed25519 signature>``
    over the exact payload bytes, so nobody can publish in another agency's name."""
    signature = sender.signing.sign(SIGNED_CONTEXT + payload).signature
    return f"{key_id(bytes(sender.signing.verify_key))}:{_b64(signature)}"


@functools.lru_cache(maxsize=1024)
def _verifier(signing: str) -> tuple[str, VerifyKey]:
    """A pinned signing key (base64, 32 bytes as ``PublicKeys`` holds it) as its key id and
    its verifier, made once per key rather than for each event it signed."""
    raw = base64.b64decode(signing)
    return key_id(raw), VerifyKey(raw)


def verify_event(header: str | None, sender: PublicKeys, payload: bytes) -> None:
    """Raise SealError unless ``header`` is the sender's valid signature of ``payload``."""
    if not header or ":" not in header:
        raise SealError("the event is not signed")
    signer, signature = header.split(":", 1)
    pinned, verifier = _verifier(sender.signing)
    if signer != pinned:
        raise SealError("the event is signed with another key than the publisher's pinned key")
    try:
        verifier.verify(SIGNED_CONTEXT + payload, base64.b64decode(signature, validate=True))
    except (BadSignatureError, ValueError):
        raise SealError("the event signature does not verify") from None
