"""Checkpoints (c2sp.org/tlog-checkpoint): the trail's signed tree heads."""

from __future__ import annotations

import base64

import pytest
from nacl.signing import SigningKey

from crocevia_common.tlog.checkpoint import (
    Checkpoint,
    CheckpointError,
    open_checkpoint,
    open_log_checkpoint,
    sign_checkpoint,
)
from crocevia_common.tlog.merkle import EMPTY_ROOT, root_from_leaf_hashes
from crocevia_common.tlog.note import VerifierKey, key_id, parse_verifier_key, verifier_key
from tests.unit.audit.trees import leaf_hashes

ORIGIN = "crocevia.example/pioltello-trail"
LOG_KEY = SigningKey(b"\x07" * 32)
WITNESS_KEY = SigningKey(b"\x09" * 32)
TRUSTED = {ORIGIN: bytes(LOG_KEY.verify_key)}
ROOT = root_from_leaf_hashes(leaf_hashes(5))
CHECKPOINT = Checkpoint(ORIGIN, 5, ROOT)


def test_body_is_origin_size_and_base64_root_each_on_its_own_line() -> None:
    assert CHECKPOINT.body() == f"{ORIGIN}\n5\n{base64.b64encode(ROOT).decode()}\n"


def test_empty_tree_checkpoint_has_size_zero() -> None:
    assert Checkpoint(ORIGIN, 0, EMPTY_ROOT).body() == f"{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"


def test_signed_checkpoint_is_the_body_a_blank_line_and_an_em_dash_signature_line() -> None:
    note = sign_checkpoint(CHECKPOINT, ORIGIN, LOG_KEY)
    body, signature_line = note.split("\n\n")
    assert body + "\n" == CHECKPOINT.body()
    assert signature_line.startswith(f"\u2014 {ORIGIN} ")
    assert signature_line.endswith("\n")
    blob = base64.b64decode(signature_line.split(" ")[2])
    assert blob[:4] == key_id(ORIGIN, bytes(LOG_KEY.verify_key))
    assert len(blob) == 4 + 64
    LOG_KEY.verify_key.verify(CHECKPOINT.body().encode(), blob[4:])


def test_a_signed_checkpoint_opens_to_the_same_checkpoint() -> None:
    note = sign_checkpoint(CHECKPOINT, ORIGIN, LOG_KEY)
    assert open_checkpoint(note, TRUSTED) == CHECKPOINT
    assert open_checkpoint(note, TRUSTED, origin=ORIGIN) == CHECKPOINT


def test_a_checkpoint_opens_with_a_key_given_as_a_verifier_key_string() -> None:
    note = sign_checkpoint(CHECKPOINT, ORIGIN, LOG_KEY)
    key = parse_verifier_key(verifier_key(ORIGIN, bytes(LOG_KEY.verify_key)))
    assert open_checkpoint(note, [key]) == CHECKPOINT


def test_a_witness_cosignature_from_an_unknown_key_is_ignored() -> None:
    note = sign_checkpoint(CHECKPOINT, ORIGIN, LOG_KEY)
    cosignature = sign_checkpoint(CHECKPOINT, "witness.example", WITNESS_KEY).split("\n\n")[1]
    assert open_checkpoint(note + cosignature, TRUSTED) == CHECKPOINT
    both = [
        VerifierKey(ORIGIN, bytes(LOG_KEY.verify_key)),
        VerifierKey("witness.example", bytes(WITNESS_KEY.verify_key)),
    ]
    assert open_checkpoint(note + cosignature, both) == CHECKPOINT


def test_a_checkpoint_signed_only_by_an_unknown_key_is_rejected() -> None:
    note = sign_checkpoint(CHECKPOINT, "witness.example", WITNESS_KEY)
    with pytest.raises(CheckpointError) as raised:
        open_checkpoint(note, TRUSTED)
    assert raised.value.reason == "note has no valid signature from a known key"


def test_a_checkpoint_with_an_altered_size_fails_its_signature() -> None:
    note = sign_checkpoint(CHECKPOINT, ORIGIN, LOG_KEY).replace("\n5\n", "\n6\n", 1)
    with pytest.raises(CheckpointError, match="does not verify"):
        open_checkpoint(note, TRUSTED)


def test_a_checkpoint_of_another_log_is_rejected_when_the_origin_is_expected() -> None:
    other = Checkpoint("crocevia.example/other-trail", 5, ROOT)
    note = sign_checkpoint(other, ORIGIN, LOG_KEY)
    with pytest.raises(CheckpointError) as raised:
        open_checkpoint(note, TRUSTED, origin=ORIGIN)
    assert raised.value.reason == f"checkpoint is for 'crocevia.example/other-trail', not {ORIGIN!r}"


def test_extension_lines_are_signed_and_kept() -> None:
    extended = Checkpoint(ORIGIN, 5, ROOT, ("timestamp 1700000000",))
    note = sign_checkpoint(extended, ORIGIN, LOG_KEY)
    assert open_checkpoint(note, TRUSTED) == extended


def _signed_body(body: str) -> str:
    signature = LOG_KEY.sign(body.encode()).signature
    blob = base64.b64encode(key_id(ORIGIN, bytes(LOG_KEY.verify_key)) + signature).decode()
    return f"{body}\n\u2014 {ORIGIN} {blob}\n"


ROOT_B64 = base64.b64encode(ROOT).decode()
URL_SAFE_ROOT = base64.urlsafe_b64encode(bytes([0xFF] * 32)).decode()


@pytest.mark.parametrize(
    "body",
    [
        f"{ORIGIN}\n5\n",  # no root line
        f"\n5\n{ROOT_B64}\n",  # empty origin
        f"{ORIGIN}\n05\n{ROOT_B64}\n",  # leading zero
        f"{ORIGIN}\n-5\n{ROOT_B64}\n",  # negative
        f"{ORIGIN}\n٥\n{ROOT_B64}\n",  # not ASCII digits
        f"{ORIGIN}\n5\n{ROOT_B64.rstrip('=')}\n",  # unpadded base64
        f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n",  # not a SHA-256 root
        f"{ORIGIN}\n5\n{URL_SAFE_ROOT}\n",  # URL-safe alphabet
        f"{ORIGIN}\n5\n{ROOT_B64}\n\nextension after an empty line\n",
    ],
)
def test_a_validly_signed_but_malformed_body_is_rejected(body: str) -> None:
    with pytest.raises(CheckpointError):
        open_checkpoint(_signed_body(body), TRUSTED)


@pytest.mark.parametrize(
    ("origin", "size", "root"),
    [("", 1, ROOT), ("two\nlines", 1, ROOT), (ORIGIN, -1, ROOT), (ORIGIN, 1, b"short")],
)
def test_an_impossible_checkpoint_cannot_be_made(origin: str, size: int, root: bytes) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(origin, size, root)


def test_a_signer_name_with_a_space_is_refused() -> None:
    with pytest.raises(CheckpointError):
        sign_checkpoint(CHECKPOINT, "two words", LOG_KEY)


def test_a_log_checkpoint_says_which_of_the_logs_keys_signed_it() -> None:
    key, earlier = (VerifierKey(ORIGIN, bytes(k.verify_key)) for k in (LOG_KEY, WITNESS_KEY))
    by_log = sign_checkpoint(CHECKPOINT, ORIGIN, LOG_KEY)
    by_earlier = sign_checkpoint(CHECKPOINT, ORIGIN, WITNESS_KEY)
    assert open_log_checkpoint(by_log, key, [earlier]) == (CHECKPOINT, key)
    assert open_log_checkpoint(by_earlier, key, [earlier]) == (CHECKPOINT, earlier)
    with pytest.raises(CheckpointError, match="no valid signature from a known key"):
        open_log_checkpoint(by_earlier, key)
