"""The witness's unit of work on a real database (SQLite and PostgreSQL): many submissions
from the same size at once, over two connections pools, are cosigned once; a refusal
leaves what is held as it was."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from nacl.signing import SigningKey
from sqlalchemy import text

from crocevia_common.db import Database
from crocevia_common.tlog.checkpoint import Checkpoint
from crocevia_common.tlog.note import SignatureLine, parse_verifier_key, split_note
from crocevia_witness.adapters.checkpoints import cosigned_note, transactions
from crocevia_witness.bootstrap import MIGRATIONS
from crocevia_witness.domain.witnessing import NotConsistent, SizeMismatch, TreeHead, WitnessedLog
from crocevia_witness.handlers.add_checkpoint import Witness, add_checkpoint
from tests.kit.services import eventually
from tests.kit.trail_log import TrailLog

CONCURRENT = 8


@pytest.fixture
async def databases(database_url: str) -> AsyncIterator[list[Database]]:
    """Two engines on one database, as two witness processes would have."""
    pair = [Database(database_url), Database(database_url)]
    await pair[0].migrate(MIGRATIONS)
    try:
        yield pair
    finally:
        for db in pair:
            await db.dispose()


def witness_of(trail: TrailLog) -> Witness:
    log = WitnessedLog(trail.origin, (parse_verifier_key(trail.vkey),))
    return Witness("prefettura.test/witness", SigningKey.generate(), {trail.origin: log})


async def held_size(db: Database, trail: TrailLog) -> int | None:
    note = await cosigned_note(db, trail.origin)
    return None if note is None else Checkpoint.from_body(split_note(note)[0]).size


async def test_submissions_from_the_same_size_at_once_are_cosigned_once(databases: list[Database]) -> None:
    trail = TrailLog().grow(5)
    witness = witness_of(trail)
    await add_checkpoint(witness, transactions(databases[0]), trail.add_checkpoint(old=0))
    trail.grow(CONCURRENT)

    results = await asyncio.gather(
        *(
            add_checkpoint(witness, transactions(databases[i % 2]), trail.add_checkpoint(old=5, size=5 + i))
            for i in range(1, CONCURRENT + 1)
        ),
        return_exceptions=True,
    )

    won = [i + 1 for i, result in enumerate(results) if isinstance(result, SignatureLine)]
    assert len(won) == 1, results
    winner = 5 + won[0]
    assert [r.held_size for r in results if isinstance(r, SizeMismatch)] == [winner] * (CONCURRENT - 1)
    assert await held_size(databases[1], trail) == winner


async def waiting_on_a_lock(db: Database) -> bool:
    """Whether a session of ``db``'s PostgreSQL database waits on a lock (SQLite: a writer
    waits in BEGIN IMMEDIATE, which no other connection can see; then only True)."""
    if db.is_sqlite:
        return True
    async with db.engine.connect() as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        return bool((await conn.execute(text(query))).scalar_one())


async def test_a_submission_waits_for_the_one_in_progress_and_then_sees_its_size(databases: list[Database]) -> None:
    trail = TrailLog().grow(5)
    witness = witness_of(trail)
    await add_checkpoint(witness, transactions(databases[0]), trail.add_checkpoint(old=0))
    trail.grow(2)
    async with transactions(databases[0])() as first:
        assert await first.held(trail.origin) == TreeHead(5, trail.root(5))
        second = asyncio.create_task(
            add_checkpoint(witness, transactions(databases[1]), trail.add_checkpoint(old=5, size=7))
        )
        await eventually(lambda: waiting_on_a_lock(databases[1]))
        await first.record(trail.origin, TreeHead(6, trail.root(6)), "cosigned elsewhere", datetime.now(UTC))
    with pytest.raises(SizeMismatch) as refused:
        await second
    assert refused.value.held_size == 6


async def test_a_refused_checkpoint_leaves_what_is_held(databases: list[Database]) -> None:
    trail = TrailLog().grow(5)
    witness = witness_of(trail)
    with pytest.raises(SizeMismatch):
        await add_checkpoint(witness, transactions(databases[0]), trail.add_checkpoint(old=3, size=5))
    assert await held_size(databases[0], trail) is None

    await add_checkpoint(witness, transactions(databases[0]), trail.add_checkpoint(old=0))
    with pytest.raises(NotConsistent):
        await add_checkpoint(witness, transactions(databases[1]), trail.rewritten(keep=1).grow(2).add_checkpoint(5))
    assert await held_size(databases[1], trail) == 5
