"""The trail's writer, on SQLite and PostgreSQL: order, hashing, nodes, duplicates, gaps."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from crocevia_audit.adapters.tables import anomalies, sequence_gaps, trail_entries, tree_nodes
from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.domain.entries import sealed_digest
from crocevia_audit.handlers.append import Outcome, TrailWriter
from crocevia_common.messaging.intake import Delivery, Unprocessable, parse
from crocevia_common.tlog.merkle import leaf_hash, root_from_leaf_hashes
from tests.integration.audit.events import SECRET, Network, checked, sealed


async def rows_of(db, table, *order):
    async with db.connect() as session:
        return list((await session.execute(select(table).order_by(*order))).mappings())


async def test_entries_take_consecutive_positions_in_delivery_order(trail_db):
    net = Network()
    writer = TrailWriter(unit_of_work(trail_db))
    deliveries = [net.event("requested", f"ref-{i}") for i in range(5)]
    results = await writer.append(checked(deliveries[:2])) + await writer.append(checked(deliveries[2:]))
    assert [r.outcome for r in results] == [Outcome.APPENDED] * 5
    assert [r.position for r in results] == [0, 1, 2, 3, 4]
    rows = await rows_of(trail_db, trail_entries, trail_entries.c.position)
    assert [r["referral_id"] for r in rows] == [f"ref-{i}" for i in range(5)]
    assert [json.loads(r["entry"])["index"] for r in rows] == [0, 1, 2, 3, 4]


async def test_each_leaf_hash_is_rfc9162_and_the_stored_nodes_give_the_root(trail_db):
    net = Network()
    writer = TrailWriter(unit_of_work(trail_db))
    await writer.append(checked([net.event("requested", f"ref-{i}") for i in range(13)]))
    rows = await rows_of(trail_db, trail_entries, trail_entries.c.position)
    assert all(r["leaf_hash"] == leaf_hash(r["entry"]) for r in rows)
    size, root = await writer.head()
    assert size == 13
    assert root == root_from_leaf_hashes([r["leaf_hash"] for r in rows])
    nodes = await rows_of(trail_db, tree_nodes, tree_nodes.c.level, tree_nodes.c.index)
    # Every perfect subtree of 13 leaves: 13 leaves, 6 pairs, 3 quads, 1 octet.
    assert [sum(1 for n in nodes if n["level"] == level) for level in range(4)] == [13, 6, 3, 1]


async def test_the_sealed_part_is_replaced_by_its_sha256_and_never_stored(trail_db):
    net = Network()
    await TrailWriter(unit_of_work(trail_db)).append(checked([net.event("requested", "ref-1")]))
    [row] = await rows_of(trail_db, trail_entries)
    data = json.loads(row["entry"])["event"]["data"]
    assert "sealed" not in data
    assert data["sealed_sha256"] == sealed_digest(sealed().model_dump())
    assert sealed().ciphertext.encode() not in row["entry"]
    assert SECRET.encode() not in row["entry"]


async def test_a_duplicate_event_id_is_appended_once_and_recorded_as_a_duplicate(trail_db):
    net = Network()
    writer = TrailWriter(unit_of_work(trail_db))
    first = net.event("requested", "ref-1")
    replay = Delivery(first.subject, first.payload, stream_sequence=99)
    results = await writer.append(checked([first, replay]))
    results += await writer.append(checked([replay]))
    assert [r.outcome for r in results] == [Outcome.APPENDED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert len(await rows_of(trail_db, trail_entries)) == 1
    recorded = await rows_of(trail_db, anomalies, anomalies.c.id)
    assert [(a["kind"], a["stream_sequence"]) for a in recorded] == [("duplicate", 99), ("duplicate", 99)]
    assert writer.counts == {"appended": 1, "duplicate": 2}


async def test_a_redelivery_of_the_same_stream_message_is_ignored_quietly(trail_db):
    net = Network()
    writer = TrailWriter(unit_of_work(trail_db))
    first = net.event("requested", "ref-1")
    assert [r.outcome for r in await writer.append(checked([first]))] == [Outcome.APPENDED]
    assert [r.outcome for r in await writer.append(checked([first]))] == [Outcome.REDELIVERED]
    assert await rows_of(trail_db, anomalies) == []


def test_what_is_not_a_valid_event_never_reaches_the_trail():
    """The shared intake refuses it before the writer sees it; the consumer dead-letters it."""
    net = Network()
    good = net.event("requested", "ref-1")
    other = net.event("requested", "ref-2")
    unknown_type = json.dumps({**json.loads(good.payload), "type": "org.x.v9"}).encode()
    refused = {
        "payload is not JSON": Delivery(good.subject, b"{not json", 48),
        "not a referral.v1 subject": Delivery("elsewhere.v1", good.payload, 49),
        "source names another agency than the subject's publisher": Delivery(
            "referral.v1.csl-lavoro.cpia2.requested", other.payload, 50
        ),
        "type is not a v1 referral event type": Delivery(good.subject, unknown_type, 51),
    }
    for reason, delivery in refused.items():
        with pytest.raises(Unprocessable, match=reason):
            parse(delivery, notices=True)
    assert parse(good, notices=True).id == json.loads(good.payload)["id"]


async def test_a_skipped_sequence_opens_a_gap_that_a_late_arrival_closes(trail_db):
    net = Network()
    writer = TrailWriter(unit_of_work(trail_db))
    one, two, three, four, five = (net.event("requested", f"ref-{i}") for i in range(1, 6))
    await writer.append(checked([one, four]))  # 2 and 3 are missing
    [gap] = await rows_of(trail_db, sequence_gaps)
    assert (gap["source"], gap["first_missing"], gap["last_missing"], gap["closed_at"]) == (
        "/agencies/pioltello-casa",
        2,
        3,
        None,
    )
    await writer.append(checked([three]))  # 3 arrives late: the gap closes, 2 stays missing
    gaps = await rows_of(trail_db, sequence_gaps, sequence_gaps.c.id)
    assert [(g["first_missing"], g["last_missing"], g["closed_at"] is None) for g in gaps] == [
        (2, 3, False),
        (2, 2, True),
    ]
    assert gaps[0]["closed_by_event_id"] == json.loads(three.payload)["id"]
    await writer.append(checked([two, five]))
    gaps = await rows_of(trail_db, sequence_gaps, sequence_gaps.c.id)
    assert [g["closed_at"] is None for g in gaps] == [False, False]


async def test_a_sequence_number_used_twice_is_refused_and_the_first_event_kept(trail_db):
    net = Network()
    writer = TrailWriter(unit_of_work(trail_db))
    results = await writer.append(
        checked([net.event("requested", "ref-1", sequence=1), net.event("requested", "ref-2", sequence=1)])
    )
    assert [r.outcome for r in results] == [Outcome.APPENDED, Outcome.REJECTED]
    assert results[1].reason == "sequence 1 of /agencies/pioltello-casa belongs to another event"
    assert [row["referral_id"] for row in await rows_of(trail_db, trail_entries)] == ["ref-1"]


async def test_a_second_writer_continues_the_tree_where_the_first_left_it(trail_db):
    net = Network()
    await TrailWriter(unit_of_work(trail_db)).append(checked([net.event("requested", f"ref-{i}") for i in range(7)]))
    later = TrailWriter(unit_of_work(trail_db))
    await later.append(checked([net.event("requested", f"ref-{i}") for i in range(7, 12)]))
    rows = await rows_of(trail_db, trail_entries, trail_entries.c.position)
    size, root = await later.head()
    assert (size, root) == (12, root_from_leaf_hashes([r["leaf_hash"] for r in rows]))
    async with trail_db.connect() as session:
        assert (await session.execute(select(func.count()).select_from(tree_nodes))).scalar() == 12 + 6 + 3 + 1
