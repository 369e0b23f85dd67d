"""How far the network has come: each durable consumer of REFERRALS caught up with the
stream, the audit's trail verified, the duplicates it recorded."""

from __future__ import annotations

import asyncio
import json
import time

import nats.errors
from nats.js import JetStreamContext

from bench.net.bus import AUDIT_CONSUMER, NOTIFICATIONS_CONSUMER, REFERRALS, Bus
from bench.net.load import Context


def durables(ctx: Context) -> list[str]:
    """Every durable consumer of REFERRALS: the audit's, notifications', each node's."""
    return [AUDIT_CONSUMER, NOTIFICATIONS_CONSUMER, *(f"referrals-{a}" for a in ctx.client.nodes)]


async def all_caught_up(ctx: Context) -> int:
    """Wait until every durable has applied the stream as it is now; its last sequence."""
    upto = await ctx.bus.last_sequence()
    for durable in durables(ctx):
        await caught_up(ctx, durable, upto)
    return upto


def impatient(bus: Bus) -> JetStreamContext:
    """JetStream requests that give up after 2 s, to be asked again: one sent to a NATS server
    as it is killed, or to a stream or consumer electing its leader, is not answered."""
    return bus.nc.jetstream(timeout=2)


async def caught_up(ctx: Context, durable: str, upto: int, timeout: float = 120.0) -> None:
    """Wait until ``durable`` has acknowledged everything up to stream sequence ``upto``
    (or holds nothing and has nothing pending: a filtered consumer may see nothing more)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            info = await impatient(ctx.bus).consumer_info(REFERRALS, durable)
        except nats.errors.TimeoutError:  # a consumer electing its leader answers nothing
            if time.monotonic() > deadline:
                raise
            continue
        if int(info.ack_floor.stream_seq or 0) >= upto or not (info.num_pending or info.num_ack_pending):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"consumer {durable} not caught up to {upto} within {timeout:.0f} s: {info}")
        await asyncio.sleep(0.05)


async def verify_ok(ctx: Context, wait_unreadable: float = 30.0) -> tuple[bool, str]:
    """Whether the audit's ``/verify`` recomputes its trail to every signed checkpoint and
    holds it to what the audit published; and, when not, what it said was wrong. An answer
    that could not read the stream AUDIT back (a server of the cluster just restarted) is
    asked again for up to ``wait_unreadable`` seconds, and the first such answer is told."""
    deadline, first = time.monotonic() + wait_unreadable, ""
    while True:
        ok, said, unreadable = await _verify_once(ctx)
        if ok or not unreadable or time.monotonic() > deadline:
            return ok, said if not first else f"{said} (asked again: at first {first})"
        first = first or said
        await asyncio.sleep(1.0)


async def _verify_once(ctx: Context) -> tuple[bool, str, bool]:
    answer = await ctx.client.http.get(f"{ctx.client.audit}/verify", headers=ctx.client.auditor())
    if answer.status_code != 200:
        return False, f"/verify answered {answer.status_code}", False
    report = answer.json()
    if report.get("ok"):
        return True, "ok", False
    published = report.get("published") or {}
    said = {
        "first mismatch": report.get("first_mismatch"),
        "bad checkpoints": report.get("bad_checkpoints"),
        "published": {k: published.get(k) for k in ("ok", "read", "error", "counts", "disagreements")},
    }
    unreadable = published.get("read") is False and not report.get("first_mismatch")
    return False, json.dumps(said, default=str)[:1000], unreadable


async def duplicates_at_audit(ctx: Context) -> int:
    answer = await ctx.client.http.get(
        f"{ctx.client.audit}/anomalies", params={"kind": "duplicate", "limit": 1000}, headers=ctx.client.auditor()
    )
    answer.raise_for_status()
    return len(answer.json()["anomalies"])
