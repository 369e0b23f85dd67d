"""Witness cosignatures (c2sp.org/tlog-cosignature, cosignature/v1 with Ed25519): the line a
witness adds to a checkpoint, and how a verifier that pinned the witness's key checks it."""

from __future__ import annotations

import base64

import pytest
from nacl.signing import SigningKey

from crocevia_common.tlog.cosignature import (
    CosignerKey,
    cosign,
    cosignature_time,
    cosignatures,
    cosigned_message,
    cosigner_key_id,
    parse_cosigner_key,
)
from crocevia_common.tlog.note import NoteError, SignatureLine, split_note, verifier_key
from tests.kit.trail_log import TrailLog

WITNESS = SigningKey(bytes(range(32)))
NAME = "prefettura.test/witness"
KEY = CosignerKey(NAME, bytes(WITNESS.verify_key))
# The checkpoint of the spec's example.
SPEC_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def _flip(line: SignatureLine, at: int) -> SignatureLine:
    raw = bytearray(line.signature)
    raw[at] ^= 0x01
    return SignatureLine(line.name, bytes(raw))


def test_the_signed_message_is_the_spec_example_byte_for_byte() -> None:
    assert cosigned_message(SPEC_TEXT, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n"
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_the_key_id_of_a_witness_in_service_matches_its_published_verifier_key() -> None:
    # The cosignature/v1 key of the remora witness, as transparency-dev/formats tests it.
    key = parse_cosigner_key("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
    assert key.key_id.hex() == "da77ade7" == cosigner_key_id(key.name, key.public_key).hex()
    assert str(key) == "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"


def test_the_spec_example_cosignature_carries_its_timestamp_after_the_key_id() -> None:
    raw = base64.b64decode(
        "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
    )
    line = cosign(SPEC_TEXT, NAME, WITNESS, 1679315147)
    assert len(line.signature) == len(raw) == 4 + 8 + 64
    assert line.signature[4:12] == raw[4:12] == (1679315147).to_bytes(8, "big")


def test_a_cosignature_verifies_with_the_witness_key_and_gives_its_time() -> None:
    text = "crocevia.test/trail\n5\n" + base64.b64encode(bytes(32)).decode() + "\n"
    line = cosign(text, NAME, WITNESS, 1_800_000_000)
    assert str(line).startswith(f"— {NAME} ")
    assert cosignature_time(text, line, KEY) == 1_800_000_000


@pytest.mark.parametrize("byte", [0, 4, 11, 12, 75], ids=["key id", "time", "time end", "signature", "last"])
def test_a_cosignature_with_one_byte_changed_is_refused(byte: int) -> None:
    text = TrailLog().grow(3).checkpoint().split("\n\n")[0] + "\n"
    line = _flip(cosign(text, NAME, WITNESS, 1_800_000_000), byte)
    with pytest.raises(NoteError):
        cosignature_time(text, line, KEY)


def test_a_cosignature_does_not_carry_over_to_another_checkpoint() -> None:
    log = TrailLog().grow(3)
    first, _ = split_note(log.checkpoint())
    line = cosign(first, NAME, WITNESS, 1_800_000_000)
    second, _ = split_note(log.grow(1).checkpoint())
    with pytest.raises(NoteError, match="does not verify"):
        cosignature_time(second, line, KEY)


def test_cosignatures_by_unknown_keys_are_ignored_and_a_failing_known_one_rejects_the_note() -> None:
    text = TrailLog().grow(2).checkpoint().split("\n\n")[0] + "\n"
    stranger = cosign(text, "stranger.test/w", SigningKey.generate(), 1_800_000_000)
    same_name_other_key = cosign(text, NAME, SigningKey.generate(), 1_800_000_000)
    ours = cosign(text, NAME, WITNESS, 1_800_000_001)
    assert cosignatures(text, [stranger, same_name_other_key, ours], [KEY]) == {KEY: 1_800_000_001}
    assert cosignatures(text, [stranger], [KEY]) == {}
    with pytest.raises(NoteError):
        cosignatures(text, [ours, _flip(ours, 40)], [KEY])


def test_a_log_signature_is_not_a_cosignature_even_from_the_same_key() -> None:
    # The key ids differ by the signature type byte (0x01 for notes, 0x04 for cosignatures).
    text = "crocevia.test/trail\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    note_key_id = bytes.fromhex(verifier_key(NAME, KEY.public_key).split("+")[1])
    assert note_key_id != KEY.key_id
    line = SignatureLine(NAME, note_key_id + WITNESS.sign(text.encode()).signature)
    assert cosignatures(text, [line], [KEY]) == {}


@pytest.mark.parametrize(
    "text",
    [
        "prefettura.test/witness+00000000+BCfU6ZaLRelO5WxCbtpae7bfLBw7QcS4SfCJQgnSnYMB",  # wrong key id
        verifier_key(NAME, bytes(WITNESS.verify_key)),  # a note key (type 0x01), not a witness key
        "prefettura.test/witness+05a2182f",  # no key
        "prefettura.test/witness+05a2182f+not base64!",
        "has space+05a2182f+BCfU6ZaLRelO5WxCbtpae7bfLBw7QcS4SfCJQgnSnYMB",
    ],
)
def test_a_malformed_witness_key_is_refused(text: str) -> None:
    with pytest.raises(NoteError):
        parse_cosigner_key(text)


def test_a_witness_key_string_round_trips() -> None:
    assert parse_cosigner_key(str(KEY)) == KEY
    assert str(KEY).startswith(f"{NAME}+{KEY.key_id.hex()}+BA")  # base64 of 0x04 || key


def test_a_timestamp_beyond_what_the_format_holds_is_refused() -> None:
    with pytest.raises(NoteError):
        cosign(SPEC_TEXT, NAME, WITNESS, 2**63)
