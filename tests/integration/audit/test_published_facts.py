"""`/verify` holds the database to what the audit already published on its stream AUDIT:
checkpoints, raised gaps and anomalies that the database lost or contradicts are named,
even when the stored trail is consistent with itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from nacl.signing import SigningKey
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import create_async_engine

from crocevia_audit.adapters.keys import DEFAULT_KEY_FILE, read_key_file
from crocevia_audit.adapters.queries import IntegrityQueries
from crocevia_audit.adapters.tables import (
    anomalies,
    checkpoints,
    messaging,
    sequence_gaps,
    trail_entries,
    tree_nodes,
)
from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.domain.announcements import Announcement
from crocevia_audit.domain.frontier import InMemoryNodes, root_from_nodes
from crocevia_audit.domain.nodes import StoredNode
from crocevia_audit.handlers.append import TrailWriter
from crocevia_audit.handlers.gaps import GapWatch
from crocevia_audit.handlers.published import compare_published
from crocevia_common.tlog.checkpoint import Checkpoint, sign_checkpoint
from crocevia_common.tlog.merkle import leaf_hash
from crocevia_common.tlog.note import VerifierKey
from tests.integration.audit.events import Network, checked
from tests.integration.audit.wire import jetstream, publish, stored
from tests.kit.services import eventually

ORIGIN = "crocevia.test/trail"
# A checkpoint after every batch that appends, none on a timer: the test decides when.
SETTINGS = {"checkpoint_every_entries": 1, "checkpoint_every_seconds": 3600, "gap_grace_seconds": 0}


async def published_sizes(js) -> list[int]:
    return [int(body.decode().split("\n")[1]) for body, _ in await stored(js, "AUDIT", "audit.v1.checkpoint")]


async def a_published_history(js) -> tuple[list[int], dict, dict]:
    """Seven entries (one skipping sequence numbers 7 to 19 of its source), a duplicate;
    wait until their checkpoints, the raised gap and the anomaly are all published."""
    net = Network()
    events = [net.event("requested", f"ref-{i}") for i in range(6)]
    await publish(js, [*events, net.event("requested", "ref-ahead", sequence=20)])
    await publish(js, [events[0]], dedupe=False)  # the same event in a second message

    async def everything_published():
        sizes = await published_sizes(js)
        gaps = await stored(js, "AUDIT", "audit.v1.gap")
        found = await stored(js, "AUDIT", "audit.v1.anomaly")
        return sizes and sizes[-1] == 7 and gaps and found and (sizes, gaps, found)

    sizes, [(gap, _)], [(anomaly, _)] = await eventually(everything_published)
    return sizes, json.loads(gap), json.loads(anomaly)


async def verify(audit, tokens) -> dict:
    answer = await audit.get("/verify", headers=tokens.bearer("x", "auditor"))
    assert answer.status_code == 200
    return answer.json()


async def in_database(database_url: str, *statements) -> None:
    """Edit the audit's database behind its back, as anyone with access to it could."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(statement)
    finally:
        await engine.dispose()


def kinds(report: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for disagreement in report["published"]["disagreements"]:
        found.setdefault(disagreement["kind"], []).append(disagreement)
    return found


async def test_an_untouched_trail_agrees_with_everything_it_published(audit_factory, nats_url, tokens, database_url):
    async with audit_factory(database_url, **SETTINGS) as audit, jetstream(nats_url) as js:
        sizes, _, _ = await a_published_history(js)
        report = await verify(audit, tokens)
    published = report["published"]
    assert report["ok"] is True and published["ok"] is True and published["read"] is True
    assert (published["checkpoints"], published["gaps"], published["anomalies"]) == (len(sizes), 1, 1)
    assert published["messages"] == len(sizes) + 2 and published["disagreements"] == []


async def test_deleting_every_checkpoint_row_is_found_and_each_published_checkpoint_named(
    audit_factory, nats_url, tokens, database_url
):
    async with audit_factory(database_url, **SETTINGS) as audit, jetstream(nats_url) as js:
        sizes, _, _ = await a_published_history(js)
        await in_database(database_url, delete(checkpoints))
        report = await verify(audit, tokens)
    assert report["ok"] is False
    # What the database alone says would have passed: nothing left to contradict the trail.
    assert report["bad_checkpoints"] == [] and report["first_mismatch"] is None
    assert set(kinds(report)) == {"checkpoint-missing"}
    assert sorted(d["size"] for d in kinds(report)["checkpoint-missing"]) == sorted(sizes)
    assert "the published checkpoint of size 7 is not in the database" in [
        d["detail"] for d in kinds(report)["checkpoint-missing"]
    ]


async def test_a_deleted_gap_row_and_a_deleted_anomaly_row_are_named(audit_factory, nats_url, tokens, database_url):
    async with audit_factory(database_url, **SETTINGS) as audit, jetstream(nats_url) as js:
        _, gap, anomaly = await a_published_history(js)
        await in_database(
            database_url,
            delete(sequence_gaps).where(sequence_gaps.c.id == gap["id"]),
            delete(anomalies).where(anomalies.c.event_id == anomaly["event_id"]),
        )
        report = await verify(audit, tokens)
    assert report["ok"] is False and set(kinds(report)) == {"gap-missing", "anomaly-missing"}
    [missing_gap] = kinds(report)["gap-missing"]
    [missing_anomaly] = kinds(report)["anomaly-missing"]
    assert (gap["source"], gap["first_missing"], gap["last_missing"]) == ("/agencies/pioltello-casa", 7, 19)
    assert missing_gap["detail"] == (
        f"the published gap {gap['id']} of /agencies/pioltello-casa (sequence 7 to 19) is not in the database"
    )
    assert anomaly["kind"] == "duplicate" and anomaly["event_id"] in missing_anomaly["detail"]
    assert set(anomaly) == {"kind", "event_id", "source", "sequence", "stream_sequence", "detected_at"}


async def test_an_edited_gap_row_is_named(audit_factory, nats_url, tokens, database_url):
    async with audit_factory(database_url, **SETTINGS) as audit, jetstream(nats_url) as js:
        _, gap, _ = await a_published_history(js)
        await in_database(
            database_url, update(sequence_gaps).where(sequence_gaps.c.id == gap["id"]).values(last_missing=8)
        )
        report = await verify(audit, tokens)
    assert report["ok"] is False and set(kinds(report)) == {"gap-changed"}
    assert str(gap["id"]) in kinds(report)["gap-changed"][0]["detail"]


async def test_a_rewritten_trail_re_signed_with_the_same_key_disagrees_with_the_published_checkpoints(
    audit_factory, nats_url, tokens, database_url, tmp_path: Path
):
    async with audit_factory(database_url, **SETTINGS) as audit, jetstream(nats_url) as js:
        sizes, _, _ = await a_published_history(js)
        key = read_key_file(tmp_path / "audit-data" / DEFAULT_KEY_FILE)
        assert key is not None
        await rewrite_and_re_sign(database_url, 3, key)
        report = await verify(audit, tokens)
    # The database is consistent with itself, and every checkpoint in it is validly signed.
    assert report["bad_checkpoints"] == [] and report["first_mismatch"] is None
    assert report["ok"] is False
    later = sorted(size for size in sizes if size > 3)
    assert sorted(d["size"] for d in kinds(report)["root-differs"]) == later
    assert sorted(d["size"] for d in kinds(report)["checkpoint-replaced"]) == later
    assert set(kinds(report)) == {"root-differs", "checkpoint-replaced"}


async def rewrite_and_re_sign(database_url: str, position: int, key: SigningKey) -> None:
    """Change one entry, rebuild every tree node and checkpoint to match, sign with ``key``."""
    engine = create_async_engine(database_url)
    c = trail_entries.c
    try:
        async with engine.begin() as conn:
            entries = [bytes(e) for (e,) in await conn.execute(select(c.entry).order_by(c.position))]
            entries[position] = entries[position].replace(b'"routine"', b'"urgent"')
            forged = entries[position]
            await conn.execute(
                update(trail_entries)
                .where(c.position == position)
                .values(entry=forged, leaf_hash=leaf_hash(forged), priority="urgent")
            )
            tree, nodes = InMemoryNodes(), list[StoredNode]()
            for entry in entries:
                nodes += tree.append(leaf_hash(entry))
            await conn.execute(delete(tree_nodes))
            await conn.execute(
                insert(tree_nodes), [{"level": n.level, "index": n.index, "digest": n.digest} for n in nodes]
            )
            for (size,) in await conn.execute(select(checkpoints.c.size)):
                root = root_from_nodes(size, tree)
                body = Checkpoint(ORIGIN, size, root, (f"time {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",))
                note = sign_checkpoint(body, ORIGIN, key)
                await conn.execute(update(checkpoints).where(checkpoints.c.size == size).values(root=root, note=note))
    finally:
        await engine.dispose()


async def test_a_stream_that_cannot_be_read_makes_the_answer_not_ok(audit_factory, nats_process, tokens):
    async with audit_factory(nats_url=nats_process.url, **SETTINGS) as audit:
        nats_process.stop()
        report = await verify(audit, tokens)
        nats_process.start()  # the service then stops as usual, connected

        async def reconnected():
            return (await audit.get("/readyz")).status_code == 200

        await eventually(reconnected, timeout=20)
    assert report["ok"] is False
    assert report["published"]["read"] is False and "AUDIT" in report["published"]["error"]


class OutboxAsStream:
    """What the relay will publish, read from the outbox in order: the stream to come."""

    def __init__(self, db) -> None:
        self.db = db

    async def each_batch(self, handle) -> None:
        o = messaging.outbox.c
        async with self.db.connect() as session:
            rows = list(await session.execute(select(o.position, o.subject, o.payload).order_by(o.position)))
        await handle([Announcement(int(p), subject, bytes(payload)) for p, subject, payload in rows])


async def test_a_raised_gap_filled_twice_in_one_batch_keeps_every_closing_it_announces(trail_db):
    net = Network()
    event = {n: net.event("requested", f"ref-{n}", sequence=n) for n in (1, 3, 4, 6)}
    writer = TrailWriter(unit_of_work(trail_db))
    await writer.append(checked([event[1], event[6]]))
    assert await GapWatch(writer.uow, grace_seconds=0, check_seconds=1).raise_overdue() == 1
    await writer.append(checked([event[3], event[4]]))  # 3 splits the gap, 4 fills part of what 3 left
    key = SigningKey(b"k" * 32)
    reads = IntegrityQueries(trail_db)
    comparison = await compare_published(reads, OutboxAsStream(trail_db), VerifierKey(ORIGIN, bytes(key.verify_key)))
    gaps = await reads.gaps(source="/agencies/pioltello-casa", status="all")
    assert comparison.ok, comparison.disagreements
    assert (comparison.gaps, comparison.gap_closings) == (1, 2)
    assert sorted((g.range.first, g.range.last, g.closed_at is not None) for g in gaps) == [
        (2, 2, False),
        (2, 5, True),
        (4, 5, True),
        (5, 5, False),
    ]


class Messages:
    """A stream of given messages, in one batch."""

    def __init__(self, *messages: tuple[str, bytes]) -> None:
        self.messages = [Announcement(i, subject, data) for i, (subject, data) in enumerate(messages, 1)]

    async def each_batch(self, handle) -> None:
        await handle(self.messages)


async def test_a_checkpoint_no_key_of_the_log_signed_and_an_unreadable_message_are_named(trail_db):
    log_key, stranger = SigningKey(b"k" * 32), SigningKey(b"x" * 32)
    forged = sign_checkpoint(Checkpoint(ORIGIN, 0, bytes(32)), ORIGIN, stranger)
    stream = Messages(("audit.v1.checkpoint", forged.encode()), ("audit.v1.gap", b'{"id": "one"}'))
    comparison = await compare_published(
        IntegrityQueries(trail_db), stream, VerifierKey(ORIGIN, bytes(log_key.verify_key))
    )
    assert not comparison.ok
    assert [(d.kind.value, d.stream_sequence) for d in comparison.disagreements] == [
        ("unknown-signer", 1),
        ("unreadable", 2),
    ]
    assert "field id" in comparison.disagreements[1].detail
