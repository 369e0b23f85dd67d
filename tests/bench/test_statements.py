"""The SQL statements a referral costs its two nodes, from sent until received back at the
sender, held to a bound: counts do not vary with the machine's load, so a change that adds
a statement per event or per request to the node's path shows here. Today about 15 (with the
sender's polling); 28 before the consumer read ahead and claimed per batch."""

from __future__ import annotations

import pytest

from bench.referrals_flow import measure

# Bound with room for smaller batches on a faster machine (one event each: a claim and a read
# per event again).
STATEMENTS_PER_REFERRAL = 21

pytestmark = pytest.mark.timeout(180)


async def test_a_referral_costs_its_two_nodes_a_bounded_number_of_sql_statements() -> None:
    flow = await measure(60, concurrency=8, poll_seconds=0.25)
    assert len(flow.round_trips) == 60
    assert flow.per_referral() <= STATEMENTS_PER_REFERRAL, flow.report()
    # A referral's own writes, once each at each node: its row, its sequence number, its event.
    for kind in ("INSERT referrals", "INSERT event_sequences", "INSERT outbox"):
        assert flow.statements[kind] == 2 * 60, flow.report()
