"""The witness's one use case, with an in-memory store: it cosigns a checkpoint only when a
key of its log signed it and it extends the checkpoint cosigned before, proven; every
refusal carries the status c2sp.org/tlog-witness gives it and changes nothing."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from nacl.signing import SigningKey

from crocevia_common.tlog.checkpoint import Checkpoint, sign_checkpoint
from crocevia_common.tlog.cosignature import cosign, cosignature_time
from crocevia_common.tlog.note import SignatureLine, parse_verifier_key, split_note
from crocevia_common.tlog.policy import WitnessPolicy, open_witnessed_checkpoint, with_cosignatures
from crocevia_witness.domain.witnessing import (
    Malformed,
    NotConsistent,
    NotSignedByLog,
    Refusal,
    SizeMismatch,
    TreeHead,
    UnknownLog,
    WitnessedLog,
)
from crocevia_witness.handlers.add_checkpoint import Witness, add_checkpoint
from tests.kit.trail_log import TrailLog

NOW = datetime(2027, 1, 15, 9, 30, tzinfo=UTC)


class FakeCheckpoints:
    def __init__(self, heads: dict[str, TreeHead], notes: dict[str, str]) -> None:
        self.heads = dict(heads)
        self.notes = dict(notes)

    async def held(self, origin: str) -> TreeHead | None:
        return self.heads.get(origin)

    async def record(self, origin: str, head: TreeHead, note: str, at: datetime) -> None:
        self.heads[origin] = head
        self.notes[origin] = note


class FakeStore:
    """What is committed; a transaction works on a copy, kept only when it ends normally."""

    def __init__(self) -> None:
        self.heads: dict[str, TreeHead] = {}
        self.notes: dict[str, str] = {}

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeCheckpoints]:
        working = FakeCheckpoints(self.heads, self.notes)
        yield working
        self.heads, self.notes = working.heads, working.notes


class Scene:
    def __init__(self, log: TrailLog, initial: TreeHead | None = None) -> None:
        self.log = log
        self.store = FakeStore()
        witnessed = WitnessedLog(log.origin, (parse_verifier_key(log.vkey),), initial)
        self.witness = Witness("prefettura.test/witness", SigningKey.generate(), {log.origin: witnessed}, lambda: NOW)

    async def submit(self, body: bytes) -> SignatureLine:
        return await add_checkpoint(self.witness, self.store.transaction, body)

    async def refused(self, body: bytes, refusal: type[Refusal]) -> Refusal:
        before = (dict(self.store.heads), dict(self.store.notes))
        with pytest.raises(refusal) as caught:
            await self.submit(body)
        assert (self.store.heads, self.store.notes) == before, "a refusal changed the witness's state"
        return caught.value

    @property
    def held(self) -> TreeHead | None:
        return self.store.heads.get(self.log.origin)


@pytest.fixture
def scene() -> Scene:
    return Scene(TrailLog().grow(6))


async def test_the_first_checkpoint_of_a_log_is_cosigned_on_trust(scene: Scene) -> None:
    cosignature = await scene.submit(scene.log.add_checkpoint(old=0))
    text, _ = split_note(scene.log.checkpoint())
    assert cosignature_time(text, cosignature, scene.witness.cosigner) == int(NOW.timestamp())
    assert scene.held == TreeHead(6, scene.log.root())


async def test_the_note_it_keeps_holds_the_log_signature_and_its_cosignature(scene: Scene) -> None:
    await scene.submit(scene.log.add_checkpoint(old=0))
    kept = scene.store.notes[scene.log.origin]
    policy = WitnessPolicy((scene.witness.cosigner,), 1)
    witnessed = open_witnessed_checkpoint(kept, [parse_verifier_key(scene.log.vkey)], policy)
    assert (witnessed.checkpoint.size, witnessed.checkpoint.root) == (6, scene.log.root())


async def test_a_checkpoint_that_extends_the_one_it_cosigned_is_cosigned(scene: Scene) -> None:
    await scene.submit(scene.log.add_checkpoint(old=0))
    scene.log.grow(11)
    await scene.submit(scene.log.add_checkpoint(old=6))
    assert scene.held == TreeHead(17, scene.log.root())


async def test_the_same_checkpoint_again_is_cosigned_again(scene: Scene) -> None:
    await scene.submit(scene.log.add_checkpoint(old=0))
    await scene.submit(scene.log.add_checkpoint(old=6))
    assert scene.held == TreeHead(6, scene.log.root())


async def test_a_trail_rewritten_and_signed_with_the_log_key_is_not_cosigned(scene: Scene) -> None:
    await scene.submit(scene.log.add_checkpoint(old=0))
    forged = scene.log.rewritten(keep=2).grow(4)  # history from entry 2 on replaced, then grown
    refusal = await scene.refused(forged.add_checkpoint(old=6), NotConsistent)
    assert refusal.status == 422


async def test_the_same_size_with_another_root_is_not_cosigned(scene: Scene) -> None:
    await scene.submit(scene.log.add_checkpoint(old=0))
    refusal = await scene.refused(scene.log.rewritten(keep=5).add_checkpoint(old=6), NotConsistent)
    assert "different roots" in refusal.detail


async def test_a_proof_with_one_byte_changed_is_not_accepted(scene: Scene) -> None:
    await scene.submit(scene.log.add_checkpoint(old=0))
    scene.log.grow(3)
    body = scene.log.add_checkpoint(old=6)
    old_line, first_hash, rest = body.split(b"\n", 2)
    raw = bytearray(base64.b64decode(first_hash))
    raw[0] ^= 0x01
    await scene.refused(b"\n".join([old_line, base64.b64encode(raw), rest]), NotConsistent)


async def test_a_stale_old_size_is_answered_with_the_size_it_holds(scene: Scene) -> None:
    await scene.submit(scene.log.add_checkpoint(old=0))
    scene.log.grow(2)
    refusal = await scene.refused(scene.log.add_checkpoint(old=3), SizeMismatch)
    assert (refusal.status, refusal.held_size) == (409, 6)


async def test_an_older_checkpoint_than_the_one_it_holds_is_not_cosigned(scene: Scene) -> None:
    await scene.submit(scene.log.add_checkpoint(old=0))
    # Sent as the log would have before: from the empty tree (409), or from the size held (400).
    assert (await scene.refused(scene.log.add_checkpoint(old=0, size=4), SizeMismatch)).held_size == 6
    body = b"old 6\n\n" + scene.log.checkpoint(size=4).encode()
    assert (await scene.refused(body, Malformed)).status == 400


async def test_a_checkpoint_with_a_forged_log_signature_is_refused(scene: Scene) -> None:
    note = scene.log.checkpoint()
    text, (line,) = split_note(note)
    raw = bytearray(line.signature)
    raw[-1] ^= 0x01
    forged = f"{text}\n{SignatureLine(line.name, bytes(raw))}\n"
    refusal = await scene.refused(b"old 0\n\n" + forged.encode(), NotSignedByLog)
    assert (refusal.status, refusal.detail) == (403, f"signature by known key {scene.log.origin} does not verify")


async def test_a_checkpoint_signed_by_another_key_in_the_log_s_name_is_refused(scene: Scene) -> None:
    impostor = scene.log.checkpoint(key=SigningKey.generate())
    refusal = await scene.refused(b"old 0\n\n" + impostor.encode(), NotSignedByLog)
    assert refusal.detail == "note has no valid signature from a known key"


async def test_a_checkpoint_of_a_log_it_does_not_witness_is_refused(scene: Scene) -> None:
    other = TrailLog(origin="elsewhere.test/log").grow(3)
    assert (await scene.refused(other.add_checkpoint(old=0), UnknownLog)).status == 404


async def test_an_empty_tree_must_have_the_empty_root(scene: Scene) -> None:
    note = sign_checkpoint(Checkpoint(scene.log.origin, 0, bytes(32)), scene.log.origin, scene.log.key)
    await scene.refused(b"old 0\n\n" + note.encode(), NotConsistent)
    empty = sign_checkpoint(
        Checkpoint(scene.log.origin, 0, TrailLog().root(0)), scene.log.origin, scene.log.key
    )  # the hash of nothing
    await scene.submit(b"old 0\n\n" + empty.encode())
    assert scene.held is not None and scene.held.size == 0


async def test_a_proof_from_the_empty_tree_must_be_empty(scene: Scene) -> None:
    proof_line = base64.b64encode(scene.log.root(3)).decode()
    body = f"old 0\n{proof_line}\n\n{scene.log.checkpoint()}".encode()
    refusal = await scene.refused(body, NotConsistent)
    assert "must be empty" in refusal.detail


@pytest.mark.parametrize(
    "body",
    [b"", b"old 0\n", b"old x\n\nnote", b"old 0\n\nnot a note\n", b"old 0\n\nlog\n1\nroot\n\n\xe2\x80\x94 log AAAA\n"],
    ids=["empty", "no checkpoint", "bad size", "unsigned text", "bad checkpoint body"],
)
async def test_a_malformed_request_is_refused(scene: Scene, body: bytes) -> None:
    assert (await scene.refused(body, Malformed)).status == 400


async def test_a_log_with_an_initial_tree_head_is_held_there_before_its_first_cosignature() -> None:
    log = TrailLog().grow(4)
    scene = Scene(log, initial=TreeHead(4, log.root()))
    log.grow(5)
    assert (await scene.refused(log.add_checkpoint(old=0), SizeMismatch)).held_size == 4
    await scene.refused(log.rewritten(keep=1).add_checkpoint(old=4), NotConsistent)
    await scene.submit(log.add_checkpoint(old=4))
    assert scene.held == TreeHead(9, log.root())


async def test_cosignatures_of_other_witnesses_on_the_checkpoint_are_ignored_and_not_kept(scene: Scene) -> None:
    note = scene.log.checkpoint()
    text, _ = split_note(note)
    other = cosign(text, "partner.test/witness", SigningKey.generate(), 1_800_000_000)
    await scene.submit(b"old 0\n\n" + with_cosignatures(note, [other]).encode())
    kept = scene.store.notes[scene.log.origin]
    assert str(other) not in kept
    assert [line.name for line in split_note(kept)[1]] == [scene.log.origin, scene.witness.name]
