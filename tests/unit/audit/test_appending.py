"""Appending a batch to the trail, on in-memory stores: positions, the tree's nodes, what is
refused or recorded as an anomaly, gaps, and a batch that fails leaving nothing behind."""

from __future__ import annotations

import json

import pytest

from crocevia_audit.domain.frontier import Frontier
from crocevia_audit.handlers.append import Outcome, TrailWriter
from crocevia_common.messaging.intake import Delivery
from crocevia_common.tlog.merkle import root_from_leaf_hashes
from tests.integration.audit.events import Network, checked
from tests.unit.audit.fakes import FakeTrail


def event_id(delivery: Delivery) -> str:
    return str(json.loads(delivery.payload)["id"])


@pytest.fixture
def trail() -> FakeTrail:
    return FakeTrail()


async def test_entries_take_consecutive_positions_and_their_nodes_give_the_root(trail: FakeTrail) -> None:
    net = Network()
    writer = TrailWriter(trail.uow)
    batches = [[net.event("requested", f"ref-{i}") for i in range(start, start + 4)] for start in (0, 4, 8)]
    results = [r for batch in batches for r in await writer.append(checked(batch))]
    assert [r.position for r in results] == list(range(12))
    assert [e.fields.referral_id for e in trail.state.entries] == [f"ref-{i}" for i in range(12)]
    leaves = [e.leaf_hash for e in trail.state.entries]
    assert await writer.head() == (12, root_from_leaf_hashes(leaves))
    # Every perfect subtree of 12 leaves is stored: 12 leaves, 6 pairs, 3 quads, 1 octet.
    assert len(trail.state.nodes) == 12 + 6 + 3 + 1
    assert Frontier.read(12, await trail.nodes(trail.state.nodes)).root() == root_from_leaf_hashes(leaves)


async def test_a_second_writer_reads_the_border_where_the_first_left_it(trail: FakeTrail) -> None:
    net = Network()
    await TrailWriter(trail.uow).append(checked([net.event("requested", f"ref-{i}") for i in range(7)]))
    later = TrailWriter(trail.uow)
    await later.append(checked([net.event("requested", f"ref-{i}") for i in range(7, 12)]))
    assert await later.head() == (12, root_from_leaf_hashes([e.leaf_hash for e in trail.state.entries]))


async def test_a_duplicate_event_id_is_appended_once_recorded_and_announced(trail: FakeTrail) -> None:
    net = Network()
    writer = TrailWriter(trail.uow)
    first = net.event("requested", "ref-1")
    replay = Delivery(first.subject, first.payload, stream_sequence=99)
    results = await writer.append(checked([first, replay]))
    assert [r.outcome for r in results] == [Outcome.APPENDED, Outcome.DUPLICATE]
    assert len(trail.state.entries) == 1
    [anomaly] = trail.state.anomalies
    assert (anomaly.kind, anomaly.event_id, anomaly.stream_sequence) == ("duplicate", event_id(first), 99)
    [announced] = trail.published("audit.v1.anomaly")
    assert json.loads(announced.payload) == {
        "kind": "duplicate",
        "event_id": event_id(first),
        "source": "/agencies/pioltello-casa",
        "sequence": 1,
        "stream_sequence": 99,
        "detected_at": anomaly.detected_at.isoformat(),
    }


async def test_a_redelivery_of_the_same_stream_message_is_ignored_quietly(trail: FakeTrail) -> None:
    net = Network()
    writer = TrailWriter(trail.uow)
    first = net.event("requested", "ref-1")
    await writer.append(checked([first]))
    assert [r.outcome for r in await writer.append(checked([first]))] == [Outcome.REDELIVERED]
    assert (len(trail.state.entries), trail.state.anomalies, trail.published()) == (1, [], [])


async def test_a_sequence_number_used_twice_is_refused_with_its_reason(trail: FakeTrail) -> None:
    net = Network()
    results = await TrailWriter(trail.uow).append(
        checked([net.event("requested", "ref-1", sequence=1), net.event("requested", "ref-2", sequence=1)])
    )
    assert [r.outcome for r in results] == [Outcome.APPENDED, Outcome.REJECTED]
    assert results[1].reason == "sequence 1 of /agencies/pioltello-casa belongs to another event"


async def test_an_event_whose_parties_are_not_the_referral_s_is_refused(trail: FakeTrail) -> None:
    net = Network()
    writer = TrailWriter(trail.uow)
    await writer.append(checked([net.event("requested", "ref-1")]))
    [result] = await writer.append(checked([net.event("received", "ref-1", receiver="csl-lavoro")]))
    assert result.outcome is Outcome.REJECTED and result.reason is not None
    assert len(trail.state.entries) == 1


async def test_a_skipped_sequence_opens_a_gap_that_a_late_arrival_closes(trail: FakeTrail) -> None:
    net = Network()
    writer = TrailWriter(trail.uow)
    one, two, three, four = (net.event("requested", f"ref-{i}") for i in range(1, 5))
    await writer.append(checked([one, four]))
    [gap] = trail.state.gaps
    assert (gap.source, gap.range.first, gap.range.last, gap.closed_at) == ("/agencies/pioltello-casa", 2, 3, None)
    await writer.append(checked([three]))
    assert [(g.range.first, g.range.last, g.closed_by_event_id) for g in trail.state.gaps] == [
        (2, 3, event_id(three)),
        (2, 2, None),
    ]
    assert trail.published("audit.v1.gap-closed") == []  # it was never raised: nothing to take back
    await writer.append(checked([two]))
    assert all(g.closed_at is not None for g in trail.state.gaps)


async def test_a_batch_that_fails_leaves_nothing_and_the_next_one_starts_where_the_trail_is(
    trail: FakeTrail,
) -> None:
    net = Network()
    writer = TrailWriter(trail.uow)
    await writer.append(checked([net.event("requested", "ref-1")]))
    trail.fail_on = "entries"
    with pytest.raises(ConnectionError):
        await writer.append(checked([net.event("requested", "ref-2"), net.event("requested", "ref-3")]))
    assert (len(trail.state.entries), len(trail.state.nodes), trail.state.highest) == (
        1,
        1,
        {"/agencies/pioltello-casa": 1},
    )
    assert writer.known_size == 1
    retried = await writer.append(checked([net.event("requested", "ref-2", sequence=2)]))
    assert [r.position for r in retried] == [1]
