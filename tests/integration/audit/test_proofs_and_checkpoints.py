"""Proofs from the stored tree and signed checkpoints, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import math

import pytest
from nacl.signing import SigningKey
from sqlalchemy import event, select, update

from crocevia_audit.adapters.queries import IntegrityQueries
from crocevia_audit.adapters.tables import checkpoints, messaging, tree_nodes
from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.handlers import proofs
from crocevia_audit.handlers.append import TrailWriter
from crocevia_audit.handlers.checkpoints import Checkpointer, TrailCorrupted
from crocevia_audit.handlers.proofs import ProofRefused
from crocevia_common.tlog.checkpoint import open_checkpoint
from crocevia_common.tlog.note import parse_verifier_key
from crocevia_common.tlog.verification import check_consistency, check_inclusion
from tests.integration.audit.events import Network, checked

ORIGIN = "crocevia.test/trail"


def unb64(values):
    return [base64.b64decode(v) for v in values]


async def filled(db, count: int) -> tuple[TrailWriter, Network]:
    net = Network()
    writer = TrailWriter(unit_of_work(db))
    deliveries = [net.event("requested", f"ref-{i}") for i in range(count)]
    for start in range(0, count, 10):
        await writer.append(checked(deliveries[start : start + 10]))
    return writer, net


def event_id_of(delivery) -> str:
    import json

    return json.loads(delivery.payload)["id"]


async def test_every_inclusion_proof_of_a_21_entry_trail_verifies_against_its_root(trail_db):
    net = Network()
    writer = TrailWriter(unit_of_work(trail_db))
    deliveries = [net.event("requested", f"ref-{i}") for i in range(21)]
    await writer.append(checked(deliveries))
    reads = IntegrityQueries(trail_db)
    for size in (1, 8, 13, 21):
        for index in range(size):
            answer = await proofs.inclusion(reads, event_id_of(deliveries[index]), size, party=None)
            assert answer["leaf_index"] == index
            check_inclusion(
                base64.b64decode(answer["leaf_hash"]),
                index,
                size,
                unb64(answer["proof"]),
                base64.b64decode(answer["root"]),
            )


async def test_every_consistency_proof_of_a_21_entry_trail_verifies(trail_db):
    await filled(trail_db, 21)
    for old in range(1, 22):
        for new in range(old, 22):
            answer = await proofs.consistency(IntegrityQueries(trail_db), old, new)
            check_consistency(
                old,
                new,
                base64.b64decode(answer["from_root"]),
                base64.b64decode(answer["to_root"]),
                unb64(answer["proof"]),
            )


class CountingReads(IntegrityQueries):
    """The real queries, counting the nodes each read of the tree asks for."""

    def __init__(self, db) -> None:
        super().__init__(db)
        self.asked: list[int] = []

    async def nodes(self, names):
        names = list(names)
        self.asked.append(len(names))
        return await super().nodes(names)


async def test_a_proof_reads_a_logarithmic_number_of_nodes(trail_db):
    await filled(trail_db, 100)
    reads = CountingReads(trail_db)
    await proofs.consistency(reads, 37, 100)
    await proofs.inclusion(reads, (await _event_at(trail_db, 77)), 100, party=None)
    bound = 3 * math.ceil(math.log2(100)) + 3
    assert len(reads.asked) == 2 and all(n <= bound for n in reads.asked), reads.asked


async def test_the_nodes_of_a_proof_are_one_query_each_found_by_its_key(trail_db):
    await filled(trail_db, 100)
    statements: list[tuple[str, object]] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        if "tree_nodes" in statement:
            statements.append((statement, parameters))

    engine = trail_db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        await proofs.inclusion(IntegrityQueries(trail_db), (await _event_at(trail_db, 77)), 100, party=None)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(statements) == 1, statements
    if engine.dialect.name == "sqlite":  # a row-value IN (VALUES ...) made SQLite scan every node
        statement, parameters = statements[0]
        async with trail_db.engine.connect() as connection:
            plan = (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all()
        details = [row[-1] for row in plan]
        assert not any(d.startswith("SCAN tree_nodes") for d in details), details
        assert any(d.startswith("SEARCH tree_nodes USING") for d in details), details


async def _event_at(db, position: int) -> str:
    from crocevia_audit.adapters.tables import trail_entries

    async with db.connect() as session:
        return (
            await session.execute(select(trail_entries.c.event_id).where(trail_entries.c.position == position))
        ).scalar_one()


async def test_proofs_that_cannot_exist_are_refused_with_a_reason(trail_db):
    await filled(trail_db, 5)
    for old, new, slug in ((0, 3, "invalid-tree-size"), (4, 3, "invalid-tree-size"), (2, 9, "tree-too-large")):
        with pytest.raises(ProofRefused) as refused:
            await proofs.consistency(IntegrityQueries(trail_db), old, new)
        assert refused.value.slug == slug
    with pytest.raises(ProofRefused) as refused:
        await proofs.inclusion(IntegrityQueries(trail_db), "0190c3a0-0000-7000-8000-000000000000", 5, party=None)
    assert refused.value.status == 404


async def test_staff_get_inclusion_proofs_only_for_entries_of_their_agency(trail_db):
    net = Network()
    delivery = net.event("requested", "ref-1")
    await TrailWriter(unit_of_work(trail_db)).append(checked([delivery]))
    reads = IntegrityQueries(trail_db)
    assert (await proofs.inclusion(reads, event_id_of(delivery), 1, party="cpia2"))["leaf_index"] == 0
    with pytest.raises(ProofRefused):
        await proofs.inclusion(reads, event_id_of(delivery), 1, party="csl-lavoro")


def checkpointer_for(writer, every_entries=10) -> Checkpointer:
    return Checkpointer(
        writer.uow, writer, SigningKey(b"k" * 32), ORIGIN, every_entries=every_entries, every_seconds=60
    )


async def test_a_checkpoint_is_signed_every_n_entries_and_queued_for_publication(trail_db):
    net = Network()
    writer = TrailWriter(unit_of_work(trail_db))
    signer = checkpointer_for(writer, every_entries=10)
    assert (await signer.sign_if_due()).size == 0  # the empty tree, on first start
    sizes = []
    for _ in range(25):
        await writer.append(checked([net.event("requested", f"ref-{_}")]))
        signed = await signer.sign_if_due()
        if signed:
            sizes.append(signed.size)
    assert sizes == [10, 20]
    assert (await signer.sign_if_due(on_time=True)).size == 25
    assert await signer.sign_if_due(on_time=True) is None  # nothing new waits
    async with trail_db.connect() as session:
        notes = list((await session.execute(select(checkpoints).order_by(checkpoints.c.size))).mappings())
        queued = list(
            await session.execute(
                select(messaging.outbox.c.event_id, messaging.outbox.c.subject).order_by(messaging.outbox.c.position)
            )
        )
    key = parse_verifier_key(signer.vkey)
    size, root = await writer.head()
    latest = open_checkpoint(notes[-1]["note"], [key], origin=ORIGIN)
    assert (latest.size, latest.root) == (size, root) == (25, root)
    assert [n["size"] for n in notes] == [0, 10, 20, 25]
    assert [tuple(q) for q in queued] == [(f"checkpoint-{s}", "audit.v1.checkpoint") for s in (0, 10, 20, 25)]


async def test_the_log_refuses_to_sign_a_tree_that_does_not_extend_its_last_checkpoint(trail_db):
    writer, net = await filled(trail_db, 12)
    signer = checkpointer_for(writer)
    assert (await signer.sign_if_due()).size == 12
    async with trail_db.transaction() as session:  # someone rewrites history behind the log's back
        await session.execute(
            update(tree_nodes).where(tree_nodes.c.level == 3, tree_nodes.c.index == 0).values(digest=b"\x07" * 32)
        )
    await writer.append(checked([net.event("requested", "ref-new")]))
    with pytest.raises(TrailCorrupted):
        await signer.sign_if_due(on_time=True)
    async with trail_db.connect() as session:
        assert list((await session.execute(select(checkpoints.c.size))).scalars()) == [12]
