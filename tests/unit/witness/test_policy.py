"""A checkpoint is trusted once its log signed it and k of the n pinned witnesses cosigned
it; anything less, or anything forged, is refused with the reason."""

from __future__ import annotations

import pytest
from nacl.signing import SigningKey

from crocevia_common.tlog.checkpoint import CheckpointError
from crocevia_common.tlog.cosignature import CosignerKey, cosign
from crocevia_common.tlog.note import SignatureLine, parse_verifier_key, split_note
from crocevia_common.tlog.policy import NotWitnessed, WitnessPolicy, open_witnessed_checkpoint, with_cosignatures
from tests.kit.trail_log import TrailLog

NOW = 1_800_000_000
WITNESS_KEYS = {name: SigningKey.generate() for name in ("prefettura.test/w", "comune.test/w", "partner.test/w")}
WITNESSES = tuple(CosignerKey(name, bytes(key.verify_key)) for name, key in WITNESS_KEYS.items())


def cosigned_by(note: str, *names: str) -> str:
    text, _ = split_note(note)
    return with_cosignatures(note, [cosign(text, name, WITNESS_KEYS[name], NOW) for name in names])


@pytest.fixture
def log() -> TrailLog:
    return TrailLog().grow(6)


def test_two_of_three_witnesses_meet_a_two_of_three_policy(log: TrailLog) -> None:
    note = cosigned_by(log.checkpoint(), "prefettura.test/w", "partner.test/w")
    witnessed = open_witnessed_checkpoint(note, [parse_verifier_key(log.vkey)], WitnessPolicy(WITNESSES, 2))
    assert witnessed.checkpoint.size == 6
    assert witnessed.checkpoint.root == log.root()
    assert {key.name for key in witnessed.cosigned} == {"prefettura.test/w", "partner.test/w"}
    assert set(witnessed.cosigned.values()) == {NOW}


def test_one_cosignature_does_not_meet_a_two_of_three_policy(log: TrailLog) -> None:
    note = cosigned_by(log.checkpoint(), "comune.test/w")
    with pytest.raises(NotWitnessed, match="cosigned by 1 of the 3 witnesses the policy names; 2 are required"):
        open_witnessed_checkpoint(note, [parse_verifier_key(log.vkey)], WitnessPolicy(WITNESSES, 2))


def test_the_same_witness_twice_counts_once(log: TrailLog) -> None:
    note = log.checkpoint()
    text, _ = split_note(note)
    twice = with_cosignatures(
        note, [cosign(text, "comune.test/w", WITNESS_KEYS["comune.test/w"], t) for t in (NOW, NOW + 1)]
    )
    with pytest.raises(NotWitnessed):
        open_witnessed_checkpoint(twice, [parse_verifier_key(log.vkey)], WitnessPolicy(WITNESSES, 2))


def test_a_checkpoint_without_cosignatures_meets_only_a_policy_of_none(log: TrailLog) -> None:
    keys = [parse_verifier_key(log.vkey)]
    assert open_witnessed_checkpoint(log.checkpoint(), keys, WitnessPolicy(WITNESSES, 0)).cosigned == {}
    with pytest.raises(NotWitnessed):
        open_witnessed_checkpoint(log.checkpoint(), keys, WitnessPolicy(WITNESSES, 1))


def test_cosignatures_moved_onto_a_rewritten_trail_do_not_count(log: TrailLog) -> None:
    honest = cosigned_by(log.checkpoint(), *WITNESS_KEYS)
    forged_note = log.rewritten(keep=2).checkpoint()  # signed by the log's own key
    _, witness_lines = split_note(honest)
    moved = with_cosignatures(forged_note, witness_lines[1:])
    with pytest.raises(CheckpointError, match="does not verify"):
        open_witnessed_checkpoint(moved, [parse_verifier_key(log.vkey)], WitnessPolicy(WITNESSES, 1))


def test_a_forged_cosignature_rejects_the_checkpoint_whatever_the_others(log: TrailLog) -> None:
    note = cosigned_by(log.checkpoint(), *WITNESS_KEYS)
    text, lines = split_note(note)
    raw = bytearray(lines[-1].signature)
    raw[-1] ^= 0x01
    forged = text + "\n" + "".join(f"{line}\n" for line in [*lines[:-1], SignatureLine(lines[-1].name, bytes(raw))])
    with pytest.raises(CheckpointError, match="does not verify"):
        open_witnessed_checkpoint(forged, [parse_verifier_key(log.vkey)], WitnessPolicy(WITNESSES, 1))


def test_a_checkpoint_cosigned_but_not_signed_by_the_log_is_refused(log: TrailLog) -> None:
    impostor = log.checkpoint(key=SigningKey.generate())
    note = cosigned_by(impostor, *WITNESS_KEYS)
    with pytest.raises(CheckpointError, match="no valid signature from a known key"):
        open_witnessed_checkpoint(note, [parse_verifier_key(log.vkey)], WitnessPolicy(WITNESSES, 3))


def test_a_checkpoint_of_another_log_is_refused(log: TrailLog) -> None:
    note = cosigned_by(log.checkpoint(), *WITNESS_KEYS)
    with pytest.raises(CheckpointError, match=r"not 'crocevia\.test/other'"):
        open_witnessed_checkpoint(
            note, [parse_verifier_key(log.vkey)], WitnessPolicy(WITNESSES, 1), origin="crocevia.test/other"
        )


@pytest.mark.parametrize("quorum", [-1, 4])
def test_a_quorum_that_cannot_be_met_is_not_a_policy(quorum: int) -> None:
    with pytest.raises(ValueError, match="cannot be met"):
        WitnessPolicy(WITNESSES, quorum)


def test_a_witness_named_twice_is_not_a_policy() -> None:
    with pytest.raises(ValueError, match="named once"):
        WitnessPolicy((WITNESSES[0], CosignerKey(WITNESSES[0].name, bytes(SigningKey.generate().verify_key))), 1)


def test_a_policy_reads_the_witnesses_verifier_keys() -> None:
    policy = WitnessPolicy.from_keys([str(key) for key in WITNESSES], 2)
    assert policy == WitnessPolicy(WITNESSES, 2)


def test_adding_cosignatures_keeps_the_log_signature_and_never_repeats_a_line(log: TrailLog) -> None:
    note = log.checkpoint()
    text, (log_line,) = split_note(note)
    line = cosign(text, "comune.test/w", WITNESS_KEYS["comune.test/w"], NOW)
    once = with_cosignatures(note, [line, line])
    assert with_cosignatures(once, [line]) == once == f"{text}\n{log_line}\n{line}\n"
