"""C2SP signed notes with Ed25519 keys (c2sp.org/signed-note), and verifier key strings.

A note is a text ending in a newline, a blank line, then signature lines
``— <key name> <base64(4-byte key id || signature)>``. A key is identified by its name
and its key id together; signatures from keys the verifier does not know are ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

ED25519_TYPE = b"\x01"
SIGNATURE_PREFIX = "— "  # U+2014 EM DASH, then a space
MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16
_KEY_ID_SIZE = 4
_ED25519_SIGNATURE_SIZE = 64
_PUBLIC_KEY_SIZE = 32


class NoteError(ValueError):
    """A note or key string was malformed or not validly signed; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def key_id(name: str, public_key: bytes) -> bytes:
    """The Ed25519 key id: ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + public_key).digest()[:4]


def check_key_name(name: str) -> None:
    """Raise :class:`NoteError` unless ``name`` is a valid key name (non-empty, no spaces or '+')."""
    if not name or any(char.isspace() or char == "+" for char in name):
        raise NoteError(f"key name {name!r} must be non-empty without spaces or '+'")


def _check_public_key(public_key: bytes) -> None:
    if len(public_key) != _PUBLIC_KEY_SIZE:
        raise NoteError(f"an Ed25519 public key is 32 bytes, not {len(public_key)}")


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A named Ed25519 public key a verifier trusts."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _check_public_key(self.public_key)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def __str__(self) -> str:
        return verifier_key(self.name, self.public_key)


def verifier_key(name: str, public_key: bytes) -> str:
    """The C2SP/sumdb verifier key string ``<name>+<hex key id>+<base64(0x01 || key)>``."""
    check_key_name(name)
    _check_public_key(public_key)
    encoded = base64.b64encode(ED25519_TYPE + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse a verifier key string; raise :class:`NoteError` unless it is a well-formed
    Ed25519 key whose key id matches its name and key."""
    parts = text.strip().split("+", 2)  # the base64 key itself may contain '+'
    if len(parts) != 3:
        raise NoteError("a verifier key has the form <name>+<key id>+<key>")
    name, id_hex, encoded = parts
    key_data = decode_base64(encoded, "verifier key")
    if len(id_hex) != 2 * _KEY_ID_SIZE or not key_data.startswith(ED25519_TYPE):
        raise NoteError("only Ed25519 verifier keys with an 8-digit key id are supported")
    public_key = key_data[1:]
    check_key_name(name)
    _check_public_key(public_key)
    if key_id(name, public_key).hex() != id_hex.lower():
        raise NoteError("the key id does not match the name and key")
    return VerifierKey(name, public_key)


def decode_base64(text: str, what: str) -> bytes:
    """``text`` decoded from canonical standard base64; :class:`NoteError` naming ``what`` else."""
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise NoteError(f"{what} is not standard base64") from error
    # Only the canonical encoding is accepted, so one value has one spelling.
    if base64.b64encode(decoded).decode() != text:
        raise NoteError(f"{what} is not canonical base64")
    return decoded


def sign_note(text: str, name: str, signing_key: SigningKey) -> str:
    """The signed note: ``text``, a blank line, and one Ed25519 signature line by ``name``."""
    check_key_name(name)
    _check_text(text)
    public_key = bytes(signing_key.verify_key)
    signature = signing_key.sign(text.encode()).signature
    encoded = base64.b64encode(key_id(name, public_key) + signature).decode()
    return f"{text}\n{SIGNATURE_PREFIX}{name} {encoded}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(ord(char) < 0x20 and char != "\n" for char in text):
        raise NoteError("note contains a control character other than newline")


def _trusted_keys(
    verifiers: Mapping[str, bytes] | Iterable[VerifierKey],
) -> dict[tuple[str, bytes], VerifyKey]:
    keys = (
        [VerifierKey(name, key) for name, key in verifiers.items()]
        if isinstance(verifiers, Mapping)
        else list(verifiers)
    )
    return {(key.name, key.key_id): VerifyKey(key.public_key) for key in keys}


@dataclass(frozen=True, slots=True)
class SignatureLine:
    """One signature line of a note: the key name and the decoded ``key id || signature``."""

    name: str
    signature: bytes

    @property
    def key_id(self) -> bytes:
        return self.signature[:_KEY_ID_SIZE]

    def __str__(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(self.signature).decode()}"

    @classmethod
    def parse(cls, line: str) -> SignatureLine:
        """The signature line ``line`` (without its newline); :class:`NoteError` if malformed."""
        return cls(*_parse_signature_line(line))


def split_note(note: str | bytes) -> tuple[str, list[SignatureLine]]:
    """The text of ``note`` and its signature lines, unverified; a note that is not shaped
    as the spec says (UTF-8, no control characters, a blank line, at least one well-formed
    signature line, at most :data:`MAX_SIGNATURES`) raises :class:`NoteError`."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as error:
            raise NoteError("note is not valid UTF-8") from error
    _check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, signature_block = note[: split + 1], note[split + 2 :]
    signature_lines = signature_block.split("\n")[:-1]  # the block ends with a newline
    if not signature_lines:
        raise NoteError("note has no signature lines")
    if len(signature_lines) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
    return text, [SignatureLine.parse(line) for line in signature_lines]


def open_note(note: str | bytes, verifiers: Mapping[str, bytes] | Iterable[VerifierKey]) -> str:
    """The text of ``note`` once a trusted key's signature over it verifies.

    ``verifiers`` maps key names to Ed25519 public keys (or lists :class:`VerifierKey`).
    Signatures by unknown keys (name and key id together) are ignored; a signature by a
    known key that fails rejects the whole note; a note with no verified signature, or a
    malformed one, is rejected. Every rejection is a :class:`NoteError`.
    """
    text, lines = split_note(note)
    return verify_note_text(text, lines, verifiers)


def verify_note_text(
    text: str, lines: Iterable[SignatureLine], verifiers: Mapping[str, bytes] | Iterable[VerifierKey]
) -> str:
    """``text`` once one of ``lines`` by a trusted key verifies over it, as :func:`open_note`
    decides (for a note already split by :func:`split_note`)."""
    trusted = _trusted_keys(verifiers)
    verified = 0
    for line in lines:
        verify_key = trusted.get((line.name, line.key_id))
        if verify_key is None:
            continue
        if len(line.signature) != _KEY_ID_SIZE + _ED25519_SIGNATURE_SIZE:
            raise NoteError(f"signature by {line.name} is not an Ed25519 signature")
        try:
            verify_key.verify(text.encode(), line.signature[_KEY_ID_SIZE:])
        except BadSignatureError as error:
            raise NoteError(f"signature by known key {line.name} does not verify") from error
        verified += 1
    if verified == 0:
        raise NoteError("note has no valid signature from a known key")
    return text


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError("a signature line must start with an em dash and a space")
    fields = line[len(SIGNATURE_PREFIX) :].split(" ")
    if len(fields) != 2:
        raise NoteError("a signature line has a key name and a signature, space-separated")
    name, encoded = fields
    check_key_name(name)
    signature = decode_base64(encoded, f"signature by {name}")
    if len(signature) <= _KEY_ID_SIZE:
        raise NoteError(f"signature by {name} is too short")
    return name, signature
