"""Editing one stored row behind the log's back is found, and named by its index."""

from __future__ import annotations

from nacl.signing import SigningKey
from sqlalchemy import select, update

from crocevia_audit.adapters.queries import IntegrityQueries
from crocevia_audit.adapters.tables import checkpoints, trail_entries, tree_nodes
from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.handlers.append import TrailWriter
from crocevia_audit.handlers.checkpoints import Checkpointer
from crocevia_audit.handlers.verify import verify_trail
from crocevia_common.tlog.merkle import leaf_hash
from tests.integration.audit.events import Network, checked

ORIGIN = "crocevia.test/trail"


async def signed_trail(db, count: int = 16):
    net = Network()
    writer = TrailWriter(unit_of_work(db))
    signer = Checkpointer(writer.uow, writer, SigningKey(b"s" * 32), ORIGIN, every_entries=5, every_seconds=60)
    for start in range(0, count, 4):
        await writer.append(checked([net.event("requested", f"ref-{i}") for i in range(start, min(start + 4, count))]))
        await signer.sign_if_due()
    await signer.sign_if_due(on_time=True)
    return signer


async def edit(db, table, where, **values):
    async with db.transaction() as session:
        await session.execute(update(table).where(*where).values(**values))


async def entry_at(db, position: int) -> bytes:
    async with db.connect() as session:
        return (
            await session.execute(select(trail_entries.c.entry).where(trail_entries.c.position == position))
        ).scalar_one()


async def test_an_untouched_trail_verifies_against_every_checkpoint(trail_db, database_url):
    signer = await signed_trail(trail_db)
    report = (await verify_trail(IntegrityQueries(trail_db), signer.verifier, page_size=5)).as_dict()
    assert report == {
        "ok": True,
        "entries": 16,
        "checkpoints_checked": 3,
        "latest_checkpoint_size": 16,
        "bad_checkpoints": [],
        "first_mismatch": None,
        "key": str(signer.verifier),
        "earlier_keys": [],
        "published": None,  # not compared: no stream given
    }


async def test_an_edited_entry_is_named_by_its_index(trail_db):
    signer = await signed_trail(trail_db)
    forged = (await entry_at(trail_db, 7)).replace(b'"routine"', b'"urgent"')
    await edit(trail_db, trail_entries, [trail_entries.c.position == 7], entry=forged)
    found = (await verify_trail(IntegrityQueries(trail_db), signer.verifier, page_size=5)).as_dict()["first_mismatch"]
    assert (found["kind"], found["index"], found["end"]) == ("altered-entry", 7, 8)


async def test_an_edited_column_is_named_by_its_index(trail_db):
    signer = await signed_trail(trail_db)
    await edit(trail_db, trail_entries, [trail_entries.c.position == 5], receiver_agency="csl-lavoro")
    report = await verify_trail(IntegrityQueries(trail_db), signer.verifier)
    assert not report.ok
    assert report.mismatch is not None and report.mismatch.index == 5
    assert "receiver_agency" in report.mismatch.detail


async def test_an_entry_rewritten_with_its_leaf_hash_is_named_by_its_index(trail_db):
    signer = await signed_trail(trail_db)
    forged = (await entry_at(trail_db, 9)).replace(b'"routine"', b'"urgent"')
    await edit(
        trail_db,
        trail_entries,
        [trail_entries.c.position == 9],
        entry=forged,
        leaf_hash=leaf_hash(forged),
        priority="urgent",
    )
    found = (await verify_trail(IntegrityQueries(trail_db), signer.verifier)).mismatch
    assert found is not None and (found.index, found.end) == (9, 10)


async def test_an_edited_tree_node_names_the_entries_under_it(trail_db):
    signer = await signed_trail(trail_db)
    await edit(trail_db, tree_nodes, [tree_nodes.c.level == 2, tree_nodes.c.index == 1], digest=b"\x00" * 32)
    found = (await verify_trail(IntegrityQueries(trail_db), signer.verifier)).mismatch
    assert found is not None and (found.kind.value, found.index, found.end) == ("altered-node", 4, 8)


async def test_a_checkpoint_row_that_no_longer_matches_its_signature_is_reported(trail_db):
    signer = await signed_trail(trail_db)
    async with trail_db.connect() as session:
        note = (await session.execute(select(checkpoints.c.note).where(checkpoints.c.size == 12))).scalar_one()
    await edit(trail_db, checkpoints, [checkpoints.c.size == 12], note=note.replace("\n12\n", "\n11\n"))
    report = await verify_trail(IntegrityQueries(trail_db), signer.verifier)
    assert report.bad_checkpoints == [
        "checkpoint of size 12: signature by known key crocevia.test/trail does not verify"
    ]
    assert report.mismatch is None and report.checkpoints == 2
