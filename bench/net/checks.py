"""What the end of a run must show, so that no figure was bought by losing or repeating
something: every referral in the same status at both nodes, every event of the streams in
the trail exactly once, ``/verify`` ok, no dead letter, no anomaly."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.net.bus import REFERRALS
from bench.net.load import RECEIVED, Context
from crocevia_contracts.stream import NOTICES


async def run(ctx: Context, exported_ids: list[str], verify_ok: bool) -> dict[str, Any]:
    """Every check, with the counts it compared; ``ok`` only when all hold."""
    views: dict[str, dict[str, dict[str, Any]]] = {}
    for agency in ctx.client.nodes:
        views[agency] = {r["id"]: r for r in await ctx.client.referrals(agency)}
    not_same = [
        s.id
        for s in ctx.sent
        if views[s.sender].get(s.id, {}).get("status") != views[s.receiver].get(s.id, {}).get("status")
    ]
    not_received = [s.id for s in ctx.sent if views[s.sender].get(s.id, {}).get("status") != RECEIVED]
    held = sum(len(v) for v in views.values())

    streamed = await ctx.bus.event_ids(REFERRALS) + await ctx.bus.event_ids(NOTICES.name)
    in_trail = Counter(exported_ids)
    twice = sum(1 for n in in_trail.values() if n > 1)
    missing = len(set(streamed) - in_trail.keys())
    unknown = len(in_trail.keys() - set(streamed))
    dead = await ctx.bus.dead_letters()
    anomalies = await ctx.client.http.get(f"{ctx.client.audit}/anomalies", headers=ctx.client.auditor())
    anomalies.raise_for_status()
    anomaly_count = len(anomalies.json()["anomalies"])

    checks = {
        "referrals_created": len(ctx.sent),
        "referral_rows_at_nodes": held,
        "both_nodes_hold_each_referral": held == 2 * len(ctx.sent),
        "status_differs_between_nodes": len(not_same),
        "not_received_at_sender": len(not_received),
        "events_in_streams": len(streamed),
        "trail_entries": len(exported_ids),
        "events_missing_from_trail": missing,
        "trail_entries_twice": twice,
        "trail_entries_not_in_streams": unknown,
        "verify_ok": verify_ok,
        "dead_letters": dead,
        "anomalies": anomaly_count,
    }
    checks["ok"] = (
        checks["both_nodes_hold_each_referral"]
        and not not_same
        and not not_received
        and missing == twice == unknown == 0
        and len(exported_ids) == len(streamed)
        and verify_ok
        and dead == 0
        and anomaly_count == 0
    )
    return checks
