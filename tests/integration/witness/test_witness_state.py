"""What a witness holds lives in its database: a restart keeps it (and its key), and two
witness processes on one database never both cosign from the same size, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from crocevia_common.tlog.cosignature import CosignerKey, parse_cosigner_key
from crocevia_common.tlog.note import parse_verifier_key
from crocevia_common.tlog.policy import WitnessPolicy, open_witnessed_checkpoint
from crocevia_common.tlog.witness_protocol import origin_hash
from tests.kit.trail_log import TrailLog
from tests.kit.witness import WitnessProcess

ROUNDS = 8


async def key_of(witness: WitnessProcess, client: httpx.AsyncClient) -> CosignerKey:
    return parse_cosigner_key((await client.get(f"{witness.url}/key")).text)


async def held_size(witness: WitnessProcess, trail: TrailLog, client: httpx.AsyncClient) -> int:
    note = (await client.get(f"{witness.url}/{origin_hash(trail.origin)}/checkpoint")).text
    policy = WitnessPolicy((await key_of(witness, client),), 1)
    return open_witnessed_checkpoint(note, [parse_verifier_key(trail.vkey)], policy).checkpoint.size


async def test_a_restarted_witness_keeps_its_key_and_what_it_cosigned(tmp_path: Path, database_url: str) -> None:
    trail = TrailLog().grow(5)
    witness = WitnessProcess(tmp_path / "witness", database_url, [trail.vkey]).start()
    try:
        async with httpx.AsyncClient() as client:
            key = await key_of(witness, client)
            first = await client.post(f"{witness.url}/add-checkpoint", content=trail.add_checkpoint(old=0))
            assert first.status_code == 200

            witness.restart()

            assert await key_of(witness, client) == key
            trail.grow(3)
            stale = await client.post(f"{witness.url}/add-checkpoint", content=trail.add_checkpoint(old=0))
            assert (stale.status_code, stale.text) == (409, "5\n")
            newer = await client.post(f"{witness.url}/add-checkpoint", content=trail.add_checkpoint(old=5))
            assert newer.status_code == 200
            assert await held_size(witness, trail, client) == 8
    finally:
        witness.stop()


async def test_two_witness_processes_on_one_database_never_both_cosign_from_the_same_size(
    tmp_path: Path, database_url: str
) -> None:
    trail = TrailLog().grow(5)
    key_file = tmp_path / "witness.key"
    replicas = [WitnessProcess(tmp_path / name, database_url, [trail.vkey], key_path=key_file) for name in ("a", "b")]
    try:
        for replica in replicas:
            replica.start()  # one after the other: the first migrates the database
        async with httpx.AsyncClient(timeout=30) as client:
            assert (await client.post(f"{replicas[0].url}/add-checkpoint", content=trail.add_checkpoint(0))).is_success
            held = 5
            for _ in range(ROUNDS):
                trail.grow(max(0, held + 2 - trail.size))
                # The same old size, two newer checkpoints, one to each replica at once.
                answers = await asyncio.gather(
                    *(
                        client.post(f"{replica.url}/add-checkpoint", content=trail.add_checkpoint(held, held + step))
                        for step, replica in zip((1, 2), replicas, strict=True)
                    )
                )
                assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
                held = held + (1 if answers[0].status_code == 200 else 2)
                (refused,) = [a for a in answers if a.status_code == 409]
                assert refused.text == f"{held}\n"  # the winner's size, never rolled back
            for replica in replicas:
                assert await held_size(replica, trail, client) == held
    finally:
        for replica in replicas:
            replica.stop()
