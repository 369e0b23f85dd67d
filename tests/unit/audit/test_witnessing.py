"""Asking witnesses to cosign, on in-memory stores and an in-memory witness that applies the
witness's own rules: the first checkpoint from size 0, each newer one with a proof from the
size the witness cosigned, a 409 answered by proving from the size it names, and nothing
kept when a witness refuses or cannot be reached."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
from nacl.signing import SigningKey

from crocevia_audit.domain.witnessing import Cosignature
from crocevia_audit.handlers.witnessing import Witness, Witnessing
from crocevia_common.tlog.cosignature import CosignerKey, cosign
from crocevia_common.tlog.merkle import EMPTY_ROOT
from crocevia_common.tlog.note import SignatureLine, parse_verifier_key, split_note
from crocevia_common.tlog.witness_client import WitnessRefused, WitnessSizeMismatch
from crocevia_witness.domain.witnessing import TreeHead, WitnessedLog, check_extends, signed_by_log
from tests.unit.audit.test_checkpointing import ORIGIN, Log


class MemoryWitness:
    """A witness in memory: the witness's own checks, its head, what it was asked."""

    def __init__(self, log: Log, name: str = "prefettura.test/witness") -> None:
        self.signing_key = SigningKey(name.encode().ljust(32, b"-")[:32])
        self.witness = Witness(f"http://{name}", CosignerKey(name, bytes(self.signing_key.verify_key)))
        self.logs = {ORIGIN: WitnessedLog(ORIGIN, (parse_verifier_key(log.signer.vkey),))}
        self.head = TreeHead(0, EMPTY_ROOT)
        self.asked: list[int] = []  # the old sizes it was sent
        self.down = False

    async def ask(self, witness: Witness, note: str, old: int, proof: Sequence[bytes]) -> SignatureLine:
        assert witness == self.witness
        self.asked.append(old)
        if self.down:
            raise httpx.ConnectError("connection refused")
        signed = signed_by_log(note, self.logs)
        if old != self.head.size:
            raise WitnessSizeMismatch(self.head.size)
        new = TreeHead(signed.checkpoint.size, signed.checkpoint.root)
        check_extends(self.head, old, proof, new)
        self.head = new
        text, _ = split_note(note)
        return cosign(text, witness.key.name, self.signing_key, 1_700_000_000)


def witnessing(log: Log, *witnesses: MemoryWitness) -> Witnessing:
    async def ask(witness: Witness, note: str, old: int, proof: Sequence[bytes]) -> SignatureLine:
        return await next(w for w in witnesses if w.witness == witness).ask(witness, note, old, proof)

    return Witnessing(log.trail.uow, log.trail, [w.witness for w in witnesses], ask, every_seconds=60)


def kept(log: Log) -> list[tuple[str, int]]:
    return sorted(log.trail.state.cosignatures)


async def signed_with(log: Log, entries: int) -> None:
    await log.append(entries)
    assert await log.signer.sign_if_due(on_time=True) is not None


async def test_each_new_checkpoint_is_cosigned_from_the_size_the_witness_cosigned_last() -> None:
    log = Log(every_entries=1000)
    witness = MemoryWitness(log)
    submitter = witnessing(log, witness)
    await signed_with(log, 5)

    first = await submitter.submit_latest()
    await signed_with(log, 8)
    second = await submitter.submit_latest()

    assert witness.asked == [0, 5]
    assert [state.cosigned for state in (*first.values(), *second.values())] == [True, True]
    assert kept(log) == [(witness.witness.name, 5), (witness.witness.name, 13)]
    assert [str(line) for line in await log.trail.cosignature_lines(13)] == [
        str(log.trail.state.cosignatures[(witness.witness.name, 13)].line)
    ]


async def test_a_witness_that_cosigned_the_latest_checkpoint_is_not_asked_again() -> None:
    log = Log()
    witness = MemoryWitness(log)
    submitter = witnessing(log, witness)
    await signed_with(log, 3)
    await submitter.submit_latest()

    assert await submitter.submit_latest() == {}
    assert witness.asked == [0]


async def test_a_409_is_answered_by_proving_from_the_size_the_witness_holds() -> None:
    log = Log()
    witness = MemoryWitness(log)
    submitter = witnessing(log, witness)
    await signed_with(log, 4)
    await submitter.submit_latest()
    log.trail.state.cosignatures.clear()  # the log lost what it kept; the witness did not
    await signed_with(log, 3)

    [state] = (await submitter.submit_latest()).values()

    assert state.cosigned and witness.asked == [0, 0, 4]
    assert kept(log) == [(witness.witness.name, 7)]


async def test_a_witness_holding_a_larger_tree_than_the_log_is_reported_and_nothing_is_kept() -> None:
    log = Log()
    witness = MemoryWitness(log)
    witness.head = TreeHead(50, b"\x07" * 32)
    await signed_with(log, 3)

    [state] = (await witnessing(log, witness).submit_latest()).values()

    assert not state.cosigned and "size 50, larger than this log's latest (3)" in state.detail
    assert kept(log) == []


async def test_a_refusing_or_unreachable_witness_keeps_nothing_and_the_others_still_cosign() -> None:
    log = Log()
    honest, refusing, down = MemoryWitness(log, "a.test/w"), MemoryWitness(log, "b.test/w"), MemoryWitness(log)
    down.down = True

    async def refuse(witness: Witness, note: str, old: int, proof: Sequence[bytes]) -> SignatureLine:
        raise WitnessRefused(422, "the consistency proof does not verify")

    refusing.ask = refuse  # type: ignore[method-assign]
    submitter = witnessing(log, honest, refusing, down)
    await signed_with(log, 2)

    states = await submitter.submit_latest()

    assert {name: state.cosigned for name, state in states.items()} == {
        honest.witness.name: True,
        refusing.witness.name: False,
        down.witness.name: False,
    }
    assert "422" in states[refusing.witness.name].detail
    assert "connection refused" in states[down.witness.name].detail
    assert kept(log) == [(honest.witness.name, 2)]
    assert submitter.states == states


async def test_a_cosignature_kept_already_is_not_kept_twice() -> None:
    log = Log()
    line = SignatureLine("w.test/w", b"\x00" * 76)
    async with log.trail.uow() as work:
        assert await work.cosignatures.add(Cosignature("w", 3, line, datetime.now(UTC)))
        assert not await work.cosignatures.add(Cosignature("w", 3, line, datetime.now(UTC)))
