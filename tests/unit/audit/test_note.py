"""Signed notes (c2sp.org/signed-note) and verifier keys, checked against Go's sumdb/note."""

from __future__ import annotations

import base64

import pytest
from nacl.signing import SigningKey

from crocevia_common.tlog.note import (
    NoteError,
    VerifierKey,
    key_id,
    open_note,
    parse_verifier_key,
    sign_note,
    verifier_key,
)

# The example of golang.org/x/mod/sumdb/note: its keys, text and (deterministic) note.
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = (
    GO_TEXT
    + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# Another key of the same tests, that never signed GO_NOTE.
ENOCH_KEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"


def _go_signing_key() -> SigningKey:
    encoded = GO_SIGNER_KEY.split("+", 4)[4]
    return SigningKey(base64.b64decode(encoded)[1:])  # after the 0x01 algorithm byte


PETER = parse_verifier_key(GO_VERIFIER_KEY)
OTHER = SigningKey(bytes(range(32)))


def test_signing_reproduces_the_go_reference_note_byte_for_byte() -> None:
    assert sign_note(GO_TEXT, "PeterNeumann", _go_signing_key()) == GO_NOTE


def test_the_go_reference_note_opens_with_its_verifier_key() -> None:
    assert open_note(GO_NOTE, [PETER]) == GO_TEXT
    assert open_note(GO_NOTE.encode(), {"PeterNeumann": PETER.public_key}) == GO_TEXT


def test_verifier_key_string_matches_the_go_format() -> None:
    public_key = bytes(_go_signing_key().verify_key)
    assert verifier_key("PeterNeumann", public_key) == GO_VERIFIER_KEY
    assert str(PETER) == GO_VERIFIER_KEY
    assert PETER.key_id == key_id("PeterNeumann", public_key) == bytes.fromhex("c74f20a3")


def test_a_verifier_key_whose_base64_contains_a_plus_parses() -> None:
    # A key of the transparency-dev/formats tests.
    key = parse_verifier_key("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
    assert key.name == "TEST"
    assert key.key_id.hex() == "7997405c"


def test_a_verifier_key_string_round_trips() -> None:
    public_key = bytes(OTHER.verify_key)
    assert parse_verifier_key(verifier_key("crocevia.example/trail", public_key)) == VerifierKey(
        "crocevia.example/trail", public_key
    )


@pytest.mark.parametrize(
    "text",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key id
        "PeterNeumanm+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong name
        "PeterNeumann+c74f20a3+AhpC2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # not Ed25519
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",  # short key
        "PeterNeumann+c74f20a3",
        "PeterNeumann c74f20a3 ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "",
    ],
)
def test_a_mangled_verifier_key_is_refused(text: str) -> None:
    with pytest.raises(NoteError):
        parse_verifier_key(text)


def test_signatures_from_unknown_keys_are_ignored() -> None:
    cosigned = GO_NOTE + sign_note(GO_TEXT, "witness.example", OTHER).removeprefix(GO_TEXT + "\n")
    assert open_note(cosigned, [PETER]) == GO_TEXT
    assert open_note(cosigned, {"witness.example": bytes(OTHER.verify_key)}) == GO_TEXT


def test_a_note_without_a_signature_from_a_known_key_is_rejected() -> None:
    with pytest.raises(NoteError) as raised:
        open_note(GO_NOTE, [parse_verifier_key(ENOCH_KEY)])
    assert raised.value.reason == "note has no valid signature from a known key"


def test_a_key_with_the_known_name_but_another_id_is_unknown() -> None:
    impostor = sign_note(GO_TEXT, "PeterNeumann", OTHER)
    with pytest.raises(NoteError, match="no valid signature"):
        open_note(impostor, [PETER])


def test_an_altered_text_fails_the_known_signature() -> None:
    with pytest.raises(NoteError, match="does not verify"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), [PETER])


def test_a_bad_known_signature_rejects_the_note_even_beside_a_good_one() -> None:
    forged = GO_NOTE + sign_note("other text\n", "PeterNeumann", _go_signing_key()).removeprefix("other text\n\n")
    with pytest.raises(NoteError, match="does not verify"):
        open_note(forged, [PETER])


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,  # no signatures
        GO_TEXT + "\n",  # blank line, still no signatures
        GO_NOTE.removesuffix("\n"),  # no final newline
        GO_NOTE.replace("— ", "-- "),  # not an em dash
        GO_NOTE.replace("— PeterNeumann ", "— PeterNeumann  "),  # two spaces
        GO_NOTE.replace("x08go", "x08go!"),  # not base64
        GO_NOTE.replace("AM=", "AN="),  # non-canonical base64
        GO_NOTE.replace("problem,", "problem,\r"),  # a control character
        GO_TEXT + "\n— PeterNeumann AAAA\n",  # shorter than a key id
    ],
)
def test_a_malformed_note_is_rejected(note: str) -> None:
    with pytest.raises(NoteError):
        open_note(note, [PETER])


def test_invalid_utf8_is_rejected() -> None:
    with pytest.raises(NoteError, match="UTF-8"):
        open_note(GO_NOTE.encode() + b"\xff", [PETER])


@pytest.mark.parametrize("name", ["", "has space", "has+plus"])
def test_key_names_must_be_non_empty_without_spaces_or_plus(name: str) -> None:
    with pytest.raises(NoteError):
        sign_note(GO_TEXT, name, OTHER)


def test_note_text_must_end_with_a_newline() -> None:
    with pytest.raises(NoteError):
        sign_note("no newline", "PeterNeumann", _go_signing_key())
