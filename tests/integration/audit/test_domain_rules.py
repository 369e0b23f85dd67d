"""Pure rules of the audit service (no I/O): entries, gaps, percentiles.

They live beside the service's integration tests because ``tests/unit/audit`` belongs to
the Merkle domain's own suite; they run in milliseconds all the same.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crocevia_audit.domain.entries import canonical_json, entry_bytes, project, public_event, sealed_digest
from crocevia_audit.domain.gaps import Arrival, GapRange, observe
from crocevia_audit.domain.indicators import percentile, summary
from tests.integration.audit.events import Network, sealed


def test_an_entry_is_canonical_json_with_the_sealed_part_replaced_by_its_digest():
    raw = json.loads(Network().event("requested", "ref-1").payload)
    entry = entry_bytes(4, "referral.v1.pioltello-casa.cpia2.requested", raw)
    assert entry == canonical_json(json.loads(entry))
    assert entry.startswith(b'{"event":{') and b" " not in entry.replace(b"Main service", b"")
    assert json.loads(entry)["event"]["data"]["sealed_sha256"] == sealed_digest(sealed().model_dump())
    assert "sealed" not in public_event(raw)["data"] and "sealed" in raw["data"]


def test_the_queryable_fields_are_read_back_from_the_entry():
    raw = json.loads(Network().event("rejected", "ref-9", reason_code="no-capacity").payload)
    fields = project(entry_bytes(7, "referral.v1.cpia2.pioltello-casa.rejected", raw))
    assert (fields.position, fields.event, fields.from_agency, fields.to_agency, fields.reason_code) == (
        7,
        "rejected",
        "cpia2",
        "pioltello-casa",
        "no-capacity",
    )
    assert fields.occurred_at == datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("highest", "gaps", "sequence", "arrival", "opened", "remainders"),
    [
        (0, [], 1, Arrival.NEXT, None, ()),
        (4, [], 5, Arrival.NEXT, None, ()),
        (0, [], 3, Arrival.AHEAD, GapRange(1, 2), ()),
        (5, [], 1000, Arrival.AHEAD, GapRange(6, 999), ()),
        (9, [GapRange(3, 7)], 3, Arrival.LATE, None, (GapRange(4, 7),)),
        (9, [GapRange(3, 7)], 5, Arrival.LATE, None, (GapRange(3, 4), GapRange(6, 7))),
        (9, [GapRange(3, 3)], 3, Arrival.LATE, None, ()),
        (9, [GapRange(3, 7)], 8, Arrival.REPEATED, None, ()),
    ],
)
def test_each_arrival_opens_closes_or_flags_a_gap(highest, gaps, sequence, arrival, opened, remainders):
    seen = observe(highest, gaps, sequence)
    assert (seen.arrival, seen.opened, seen.remainders) == (arrival, opened, remainders)
    assert seen.highest == max(highest, sequence)


def test_sequence_numbers_start_at_one():
    with pytest.raises(ValueError):
        observe(0, [], 0)


def test_the_90th_percentile_is_the_nearest_rank_and_the_median_the_middle():
    assert percentile([5, 1, 3, 2, 4, 6, 7, 8, 9, 10], 0.9) == 9
    assert percentile([1, 2, 3], 0.9) == 3
    assert summary([1.0, 2.0, 3.0, 4.0]) == {"count": 4, "median_seconds": 2.5, "p90_seconds": 4.0}
    assert summary([]) == {"count": 0, "median_seconds": None, "p90_seconds": None}
