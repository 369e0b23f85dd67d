"""Timestamped Ed25519 checkpoint cosignatures (c2sp.org/tlog-cosignature, ``cosignature/v1``).

A witness (a cosigner) states with one that, as of its timestamp, this checkpoint is the
largest consistent tree head it has seen of the log. It is an ordinary note signature line
``— <witness name> base64(key id || u64 timestamp || Ed25519 signature)`` whose key id is
``SHA-256(name || 0x0A || 0x04 || public key)[:4]``; what is signed is
``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint's note text.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from crocevia_common.tlog.note import (
    NoteError,
    SignatureLine,
    check_key_name,
    decode_base64,
)

COSIGNATURE_TYPE = b"\x04"
MAX_TIMESTAMP = 2**63 - 1
_KEY_ID_SIZE = 4
_TIMESTAMP_SIZE = 8
_ED25519_SIGNATURE_SIZE = 64
_PUBLIC_KEY_SIZE = 32


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    """The cosignature/v1 key id: ``SHA-256(name || 0x0A || 0x04 || public key)[:4]``."""
    return hashlib.sha256(name.encode() + b"\n" + COSIGNATURE_TYPE + public_key).digest()[:4]


@dataclass(frozen=True, slots=True)
class CosignerKey:
    """A witness's name and Ed25519 public key, as a verifier pins them."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.public_key) != _PUBLIC_KEY_SIZE:
            raise NoteError(f"an Ed25519 public key is 32 bytes, not {len(self.public_key)}")

    @property
    def key_id(self) -> bytes:
        return cosigner_key_id(self.name, self.public_key)

    def __str__(self) -> str:
        """The verifier key string ``<name>+<hex key id>+<base64(0x04 || key)>``."""
        encoded = base64.b64encode(COSIGNATURE_TYPE + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"


def parse_cosigner_key(text: str) -> CosignerKey:
    """Parse a witness's verifier key string; raise :class:`NoteError` unless it is a
    well-formed cosignature/v1 (type 0x04) Ed25519 key whose key id matches."""
    parts = text.strip().split("+", 2)  # the base64 key itself may contain '+'
    if len(parts) != 3:
        raise NoteError("a verifier key has the form <name>+<key id>+<key>")
    name, id_hex, encoded = parts
    key_data = decode_base64(encoded, "verifier key")
    if len(id_hex) != 2 * _KEY_ID_SIZE or not key_data.startswith(COSIGNATURE_TYPE):
        raise NoteError("a witness key is a cosignature/v1 Ed25519 key (type 0x04) with an 8-digit key id")
    key = CosignerKey(name, key_data[1:])
    if key.key_id.hex() != id_hex.lower():
        raise NoteError("the key id does not match the name and key")
    return key


def cosigned_message(text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: the header, the time line, then the note text."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"a cosignature timestamp lies between 0 and 2^63 - 1, not {timestamp}")
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign(text: str, name: str, signing_key: SigningKey, timestamp: int) -> SignatureLine:
    """The cosignature line by witness ``name`` over the checkpoint text ``text``."""
    key = CosignerKey(name, bytes(signing_key.verify_key))
    signature = signing_key.sign(cosigned_message(text, timestamp)).signature
    return SignatureLine(name, key.key_id + timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature)


def cosignature_time(text: str, line: SignatureLine, witness: CosignerKey) -> int:
    """The timestamp of ``line`` once it verifies as ``witness``'s cosignature over ``text``;
    :class:`NoteError` otherwise (the line must be by that witness's name and key id)."""
    if (line.name, line.key_id) != (witness.name, witness.key_id):
        raise NoteError(f"the signature by {line.name} is not by the witness key {witness}")
    if len(line.signature) != _KEY_ID_SIZE + _TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE:
        raise NoteError(f"the signature by {line.name} is not a cosignature/v1")
    timestamp = int.from_bytes(line.signature[_KEY_ID_SIZE : _KEY_ID_SIZE + _TIMESTAMP_SIZE], "big")
    try:
        VerifyKey(witness.public_key).verify(
            cosigned_message(text, timestamp), line.signature[_KEY_ID_SIZE + _TIMESTAMP_SIZE :]
        )
    except BadSignatureError as error:
        raise NoteError(f"the cosignature by known witness {line.name} does not verify") from error
    return timestamp


def cosignatures(text: str, lines: Iterable[SignatureLine], witnesses: Iterable[CosignerKey]) -> dict[CosignerKey, int]:
    """Which of ``witnesses`` cosigned ``text`` among ``lines``, with their timestamps.

    Lines by other keys (name and key id together) are ignored, as the note spec says; a
    line by a known witness that fails to verify rejects the whole note (:class:`NoteError`).
    """
    known = {(witness.name, witness.key_id): witness for witness in witnesses}
    found: dict[CosignerKey, int] = {}
    for line in lines:
        witness = known.get((line.name, line.key_id))
        if witness is not None:
            found[witness] = max(found.get(witness, 0), cosignature_time(text, line, witness))
    return found
