"""A witness run as its own process, fed checkpoints the audit's code signs over trees its
Merkle code builds: it cosigns what extends what it cosigned, and refuses the rest with the
status c2sp.org/tlog-witness gives (a trail rewritten and re-signed with the log's own key
included)."""

from __future__ import annotations

import base64
import stat

import httpx
import pytest

from crocevia_common.tlog.checkpoint import CheckpointError
from crocevia_common.tlog.cosignature import CosignerKey, cosignature_time, parse_cosigner_key
from crocevia_common.tlog.note import SignatureLine, parse_verifier_key, split_note
from crocevia_common.tlog.policy import NotWitnessed, WitnessPolicy, open_witnessed_checkpoint, with_cosignatures
from crocevia_common.tlog.witness_client import WitnessRefused, WitnessSizeMismatch, request_cosignature
from crocevia_common.tlog.witness_protocol import origin_hash
from tests.kit.trail_log import TrailLog
from tests.kit.witness import WitnessProcess

PROBLEM = "application/problem+json"


async def witness_key(witness: WitnessProcess) -> CosignerKey:
    async with httpx.AsyncClient(base_url=witness.url) as client:
        return parse_cosigner_key((await client.get("/key")).text)


async def cosign(witness: WitnessProcess, trail: TrailLog, old: int) -> tuple[str, SignatureLine]:
    """Ask ``witness`` to cosign the trail's checkpoint as the audit would; the note and the line."""
    note = trail.checkpoint()
    async with httpx.AsyncClient() as client:
        line = await request_cosignature(client, witness.url, await witness_key(witness), note, old, trail.proof(old))
    return note, line


async def post(witness: WitnessProcess, body: bytes) -> httpx.Response:
    async with httpx.AsyncClient(base_url=witness.url) as client:
        return await client.post("/add-checkpoint", content=body)


async def test_it_cosigns_the_first_checkpoint_and_each_newer_one_that_extends_it(
    witness: WitnessProcess, trail: TrailLog
) -> None:
    key = await witness_key(witness)
    note, line = await cosign(witness, trail, old=0)
    trail.grow(8)
    newer, newer_line = await cosign(witness, trail, old=5)
    policy = WitnessPolicy((key,), 1)
    for signed, cosignature, size in ((note, line, 5), (newer, newer_line, 13)):
        witnessed = open_witnessed_checkpoint(
            with_cosignatures(signed, [cosignature]), [parse_verifier_key(trail.vkey)], policy
        )
        assert witnessed.checkpoint.size == size


async def test_the_cosignature_verifies_with_the_published_key_and_not_with_one_byte_changed(
    witness: WitnessProcess, trail: TrailLog
) -> None:
    answer = await post(witness, trail.add_checkpoint(old=0))
    assert answer.status_code == 200
    text, _ = split_note(trail.checkpoint())
    (line,) = split_note(f"{text}\n{answer.text}")[1]
    printed = witness.run("key")
    assert printed.returncode == 0, printed.stderr
    key = parse_cosigner_key(printed.stdout)
    assert str(key) == str(await witness_key(witness))
    assert cosignature_time(text, line, key) > 0
    for position in range(len(line.signature)):
        raw = bytearray(line.signature)
        raw[position] ^= 0x01
        with pytest.raises(CheckpointError):
            open_witnessed_checkpoint(
                with_cosignatures(trail.checkpoint(), [SignatureLine(line.name, bytes(raw))]),
                [parse_verifier_key(trail.vkey)],
                WitnessPolicy((key,), 1),
            )


async def test_a_trail_rewritten_and_re_signed_with_the_log_key_is_refused_and_detected(
    witness: WitnessProcess, trail: TrailLog
) -> None:
    key = await witness_key(witness)
    honest, line = await cosign(witness, trail, old=0)
    forged = trail.rewritten(keep=2).grow(3)  # a consistent-looking trail of 8, signed by the log

    answer = await post(witness, forged.add_checkpoint(old=5))

    assert (answer.status_code, answer.headers["content-type"]) == (422, PROBLEM)
    assert answer.json()["type"] == "/problems/not-consistent"
    async with httpx.AsyncClient(base_url=witness.url) as client:
        kept = await client.get(f"/{origin_hash(trail.origin)}/checkpoint")
    assert kept.text == with_cosignatures(honest, [line])  # it still holds the honest checkpoint
    with pytest.raises(NotWitnessed):  # and a verifier that asks for the witness refuses the forgery
        open_witnessed_checkpoint(forged.checkpoint(), [parse_verifier_key(trail.vkey)], WitnessPolicy((key,), 1))


async def test_a_forged_log_signature_is_refused(witness: WitnessProcess, trail: TrailLog) -> None:
    text, (line,) = split_note(trail.checkpoint())
    raw = bytearray(line.signature)
    raw[10] ^= 0x01
    forged = f"{text}\n{SignatureLine(line.name, bytes(raw))}\n"
    answer = await post(witness, b"old 0\n\n" + forged.encode())
    assert (answer.status_code, answer.json()["type"]) == (403, "/problems/log-signature-invalid")
    assert (await post(witness, trail.add_checkpoint(old=0))).status_code == 200  # nothing was held


async def test_a_checkpoint_of_a_log_it_does_not_witness_is_refused(witness: WitnessProcess) -> None:
    answer = await post(witness, TrailLog(origin="elsewhere.test/log").grow(2).add_checkpoint(old=0))
    assert (answer.status_code, answer.json()["type"]) == (404, "/problems/unknown-log")


async def test_a_stale_old_size_is_answered_409_with_its_size_and_the_log_catches_up(
    witness: WitnessProcess, trail: TrailLog
) -> None:
    await cosign(witness, trail, old=0)
    trail.grow(4)

    answer = await post(witness, trail.add_checkpoint(old=0))

    assert answer.status_code == 409
    assert answer.headers["content-type"] == "text/x.tlog.size"
    assert answer.text == "5\n"
    with pytest.raises(WitnessSizeMismatch) as mismatch:
        await cosign(witness, trail, old=2)
    _, line = await cosign(witness, trail, old=mismatch.value.size)  # the audit proves from there
    assert line.name == witness.name


async def test_a_checkpoint_older_than_the_one_it_holds_is_refused(witness: WitnessProcess, trail: TrailLog) -> None:
    await cosign(witness, trail, old=0)
    answer = await post(witness, b"old 5\n\n" + trail.checkpoint(size=3).encode())
    assert (answer.status_code, answer.json()["type"]) == (400, "/problems/malformed-submission")


@pytest.mark.parametrize("body", [b"", b"old 0", b"old 00\n\nx\n", "old 0\n\n\u00e8\n".encode("latin-1")])
async def test_a_malformed_request_is_refused_400(witness: WitnessProcess, body: bytes) -> None:
    answer = await post(witness, body)
    assert (answer.status_code, answer.headers["content-type"]) == (400, PROBLEM)


async def test_an_oversized_request_is_refused_413(witness: WitnessProcess) -> None:
    answer = await post(witness, b"old 0\n" + b"A" * (300 * 1024))
    assert answer.status_code == 413


async def test_monitors_read_the_checkpoint_it_cosigned_last(witness: WitnessProcess, trail: TrailLog) -> None:
    async with httpx.AsyncClient(base_url=witness.url) as client:
        before = await client.get(f"/{origin_hash(trail.origin)}/checkpoint")
        await cosign(witness, trail, old=0)
        after = await client.get(f"/{origin_hash(trail.origin)}/checkpoint")
        unknown = await client.get(f"/{origin_hash('elsewhere.test/log')}/checkpoint")
        malformed = await client.get("/not-a-hash/checkpoint")
    assert [r.status_code for r in (before, unknown, malformed)] == [404, 404, 404]
    witnessed = open_witnessed_checkpoint(
        after.text, [parse_verifier_key(trail.vkey)], WitnessPolicy((await witness_key(witness),), 1)
    )
    assert (witnessed.checkpoint.size, witnessed.checkpoint.root) == (5, trail.root())


async def test_its_key_is_made_readable_by_its_owner_only(witness: WitnessProcess) -> None:
    assert stat.S_IMODE(witness.key_file.stat().st_mode) == 0o600
    seed = base64.b64decode(witness.key_file.read_text())
    assert len(seed) == 32


async def test_an_answer_cosigned_by_another_witness_key_is_refused_by_the_log(
    witness: WitnessProcess, trail: TrailLog
) -> None:
    other = CosignerKey(witness.name, bytes(32 * [7]))  # the name pinned with a wrong key
    async with httpx.AsyncClient() as client:
        with pytest.raises(WitnessRefused, match="no cosignature by"):
            await request_cosignature(client, witness.url, other, trail.checkpoint(), 0, [])
