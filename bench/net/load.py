"""The phases that put load on the network through the nodes' HTTP API, and what each
measures: the flow of referrals over every pair, latency at a steady rate, and the audit
and notifications catching up on a backlog.

"Received at the sender" is when the sender's node recorded the ``received`` event: the
``updated_at`` of the referral it lists (its own clock, the machine's), so the moment is
exact without polling each referral; polling (a one-row list per node) only tells when
to look."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.net.bus import AUDIT_CONSUMER, NOTIFICATIONS_CONSUMER, Bus
from bench.net.client import Client, Sent, when
from bench.net.procs import busy_cores, cpu_of, cpu_seconds, machine_ticks, own_cpu_seconds
from bench.net.profile import Profiler, Summary

RECEIVED = "received"


@dataclass
class Context:
    client: Client
    bus: Bus
    pids: dict[str, int]  # every service process (not NATS)
    profiler: Profiler | None
    sent: list[Sent] = field(default_factory=list)  # every referral of the run
    profiles: dict[str, Summary] = field(default_factory=dict)
    paused: set[str] = field(default_factory=set)  # services stopped with SIGSTOP
    nats_pid: int | None = None
    # The database server's processes working for the services (PostgreSQL on this machine).
    database_pids: Callable[[], Awaitable[list[int]]] | None = None

    @property
    def nodes(self) -> dict[str, int]:
        return {name: pid for name, pid in self.pids.items() if name.startswith("referrals-")}


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by the nearest-rank method."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def spread(values: list[float], scale: float = 1000.0) -> dict[str, float]:
    """Median, p95, p99 and max of ``values`` (seconds), in milliseconds by default."""
    return {
        "n": len(values),
        "p50": round(statistics.median(values) * scale, 1) if values else float("nan"),
        "p95": round(percentile(values, 0.95) * scale, 1),
        "p99": round(percentile(values, 0.99) * scale, 1),
        "max": round(max(values) * scale, 1) if values else float("nan"),
    }


async def send(ctx: Context, count: int, concurrency: int, pairs: Iterator[tuple[str, str]]) -> list[Sent]:
    """``count`` referrals over ``pairs``, ``concurrency`` requests at a time."""
    sent: list[Sent] = []

    async def worker() -> None:
        while len(sent) + busy[0] < count:
            busy[0] += 1
            sender, receiver = next(pairs)
            try:
                sent.append(await ctx.client.create(sender, receiver))
            finally:
                busy[0] -= 1

    busy = [0]
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    ctx.sent += sent
    return sent


async def all_received(ctx: Context, sent: list[Sent], timeout: float) -> None:
    """Wait until every sender has received back all its referrals (a one-row list per
    sender, polled)."""
    senders = sorted({s.sender for s in sent})
    deadline = time.monotonic() + timeout
    while senders:
        waiting = await asyncio.gather(*(ctx.client.waiting_at(a) for a in senders))
        senders = [a for a, w in zip(senders, waiting, strict=True) if w]
        if senders and time.monotonic() > deadline:
            raise TimeoutError(f"referrals still not received back at {', '.join(senders)} after {timeout:.0f} s")
        if senders:
            await asyncio.sleep(0.25)


async def listed_at_senders(ctx: Context, sent: list[Sent]) -> dict[str, dict[str, Any]]:
    """Each referral of ``sent`` as its sender lists it, once all are received back. The
    lists are the bench's reading, not the load: a phase takes its CPU figures before."""
    wanted = {s.id for s in sent}
    listed: dict[str, dict[str, Any]] = {}
    for sender in sorted({s.sender for s in sent}):
        for item in await ctx.client.pages(
            f"{ctx.client.nodes[sender]}/referrals", ctx.client.operator(sender), {"direction": "outgoing"}
        ):
            if item["id"] in wanted:
                listed[item["id"]] = item
    missing = [s.id for s in sent if listed.get(s.id, {}).get("status") != RECEIVED]
    if missing:
        raise RuntimeError(f"{len(missing)} referrals not received back at their sender")
    return listed


async def wait_received(ctx: Context, sent: list[Sent], timeout: float) -> dict[str, dict[str, Any]]:
    """Wait until every sender has received back all its referrals; then each referral of
    ``sent`` as its sender lists it."""
    await all_received(ctx, sent, timeout)
    return await listed_at_senders(ctx, sent)


def cpu_spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {name: round(after[name] - before.get(name, 0.0), 3) for name in after}


async def cpu_now(ctx: Context) -> dict[str, float]:
    """CPU seconds of every service so far, and of the database server's backends working
    for them (a backend that was not there before counts from its start)."""
    cpu = cpu_of(ctx.pids)
    if ctx.nats_pid is not None:
        cpu["nats"] = cpu_seconds(ctx.nats_pid)
    if ctx.database_pids is not None:
        for pid in await ctx.database_pids():
            with contextlib.suppress(OSError):
                cpu[f"postgresql backend {pid}"] = cpu_seconds(pid)
    return cpu


def by_service(spent: Mapping[str, float]) -> dict[str, float]:
    """CPU per service, the database server's backends added up as one."""
    out: dict[str, float] = {}
    for name, seconds in spent.items():
        key = "postgresql (backends)" if name.startswith("postgresql backend") else name
        out[key] = round(out.get(key, 0.0) + max(seconds, 0.0), 3)
    return out


async def caught_up(ctx: Context, upto: int, timeout: float) -> dict[str, float]:
    """Wait until the audit and notifications have applied everything up to ``upto``; when
    each was seen so (perf_counter)."""
    return {
        durable: await ctx.bus.wait_caught_up(durable, upto, timeout)
        for durable in (AUDIT_CONSUMER, NOTIFICATIONS_CONSUMER)
    }


async def flow(
    ctx: Context, count: int, concurrency: int, timeout: float, pairs: Iterator[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """Referrals over every agency pair (or over ``pairs``), ``concurrency`` at a time, until
    every one is received back at its sender; the CPU every service spent until the audit and
    notifications had applied them too; how long notifications took to clear them."""
    first = await ctx.bus.last_sequence() + 1
    cpu_before, machine_before, client_before = await cpu_now(ctx), machine_ticks(), own_cpu_seconds()
    began_wall, began = time.time(), time.perf_counter()
    sent = await send(ctx, count, concurrency, pairs or ctx.client.pairs())
    posted = time.perf_counter() - began
    await all_received(ctx, sent, timeout)
    last = await ctx.bus.last_sequence()
    done = await caught_up(ctx, last, timeout)
    cpu = by_service(cpu_spent(cpu_before, await cpu_now(ctx)))
    machine, client = busy_cores(machine_before, machine_ticks()), own_cpu_seconds() - client_before
    listed = await listed_at_senders(ctx, sent)
    seconds = max(when(item["updated_at"]) for item in listed.values()) - began_wall
    cleared = done[NOTIFICATIONS_CONSUMER] - began
    return {
        "referrals": count,
        "concurrency": concurrency,
        "posted_seconds": round(posted, 2),
        "seconds": round(seconds, 2),
        "per_second": round(count / seconds, 1),
        "events": last - first + 1,
        "cpu_seconds": cpu,
        # The services' processes and their database server's; NATS apart.
        "cpu_ms_per_referral": round(1000 * sum(v for k, v in cpu.items() if k != "nats") / count, 1),
        # What shares the machine's cores with the services: NATS, and this bench's client.
        "nats_cpu_ms_per_referral": round(1000 * cpu.get("nats", 0.0) / count, 2),
        "client_cpu_ms_per_referral": round(1000 * client / count, 2),
        "busy_cores": round(machine, 2),
        "cores": os.cpu_count() or 1,
        "notifications_cleared_seconds": round(cleared, 2),
        "notifications_events_per_second": round((last - first + 1) / cleared, 1),
        "audit_cleared_seconds": round(done[AUDIT_CONSUMER] - began, 2),
    }


async def steady(ctx: Context, rate: float, seconds: float, timeout: float) -> dict[str, Any]:
    """Referrals created at ``rate`` per second for ``seconds`` (open loop: a slow answer
    does not slow the next request): create → received at the sender, and event → inbox
    item of the receiver's operator."""
    pairs = ctx.client.pairs()
    count = max(1, round(rate * seconds))
    began = time.perf_counter()
    tasks = []
    for i in range(count):
        await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(ctx.client.create(*next(pairs))))
    # The rate the requests went out at (this client falls behind on a busy machine).
    achieved = (count - 1) / (time.perf_counter() - began) if count > 1 else rate
    sent: list[Sent] = list(await asyncio.gather(*tasks))
    ctx.sent += sent
    listed = await wait_received(ctx, sent, timeout)
    latencies = [when(listed[s.id]["updated_at"]) - s.sent_at for s in sent]
    await caught_up(ctx, await ctx.bus.last_sequence(), timeout)
    inbox_latencies = await inbox_delays(ctx, sent, listed)
    return {
        "rate": rate,
        "achieved_rate": round(achieved, 1),
        "referrals": count,
        "received_at_sender_ms": spread(latencies),
        "inbox_item_ms": spread(inbox_latencies),
        **await hops(ctx, sent, listed, latencies),
    }


async def hops(
    ctx: Context, sent: list[Sent], listed: Mapping[str, Mapping[str, Any]], latencies: list[float]
) -> dict[str, Any]:
    """Where create -> received at the sender went, by the times the trail holds: from the
    request to the sender's ``requested`` event (HTTP and the sender's write), on to the
    receiver's ``received`` (the sender's outbox, NATS, the receiver's consumer and write),
    and back to the sender's record of it (the same way back). Each hop's spread, and the
    hops of the slowest referrals."""
    began = min(s.sent_at for s in sent)
    since = datetime.fromtimestamp(began - 1, UTC).isoformat()
    entries = await ctx.client.pages(f"{ctx.client.audit}/trail", ctx.client.auditor(), {"since": since})
    times: dict[tuple[str, str], float] = {}
    for entry in entries:
        times.setdefault((entry["referral_id"], entry["event"]), when(entry["time"]))
    split: dict[str, tuple[float, float, float]] = {}
    for s in sent:
        requested, received = times.get((s.id, "requested")), times.get((s.id, "received"))
        if requested is not None and received is not None:
            back = when(listed[s.id]["updated_at"]) - received
            split[s.id] = (requested - s.sent_at, received - requested, back)
    if len(split) < len(sent):
        raise RuntimeError(f"{len(sent) - len(split)} referrals lack their requested or received entry in the trail")
    names = ("create", "to_receiver", "back_to_sender")
    slowest = sorted(zip(latencies, sent, strict=True), key=lambda pair: -pair[0])[:5]
    return {
        "hops_ms": {name: spread([split[s.id][i] for s in sent]) for i, name in enumerate(names)},
        "slowest_hops_ms": [
            {
                "total": round(total * 1000, 1),
                **{n: round(v * 1000, 1) for n, v in zip(names, split[s.id], strict=True)},
                "sent_at_s": round(s.sent_at - began, 3),  # into the phase
                "pair": f"{s.sender} -> {s.receiver}",
            }
            for total, s in slowest
        ],
    }


async def inbox_delays(ctx: Context, sent: list[Sent], listed: Mapping[str, Mapping[str, Any]]) -> list[float]:
    """For each referral of ``sent``: from its ``requested`` event (its creation at the
    sender) to the inbox item of the receiver's operator."""
    ours = {s.id for s in sent}
    items: dict[str, float] = {}
    for receiver in sorted({s.receiver for s in sent}):
        for item in await ctx.client.inbox(receiver):
            if item["referral_id"] in ours and item["event"] == "requested":
                items[item["referral_id"]] = when(item["created_at"])
    missing = ours - items.keys()
    if missing:
        raise RuntimeError(f"{len(missing)} referrals have no inbox item at their receiver")
    return [items[i] - when(listed[i]["created_at"]) for i in ours]


def pause(ctx: Context, name: str) -> None:
    """Stop service ``name`` where it stands (SIGSTOP): it holds its connections and state."""
    os.kill(ctx.pids[name], signal.SIGSTOP)
    ctx.paused.add(name)


def resume(ctx: Context, name: str) -> None:
    os.kill(ctx.pids[name], signal.SIGCONT)
    ctx.paused.discard(name)


async def drain(ctx: Context, service: str, first: int, last: int, timeout: float) -> dict[str, float]:
    """Resume ``service`` (paused with a backlog) and time it until its durable has
    acknowledged stream message ``last``; the CPU it spent meanwhile."""
    _profile(ctx, {service: ctx.pids[service]}, rate=250)  # a short phase: sampled more often
    cpu = cpu_seconds(ctx.pids[service])
    resumed = time.perf_counter()
    resume(ctx, service)
    started, done = await ctx.bus.drain(service, first, last, timeout)
    spent = cpu_seconds(ctx.pids[service]) - cpu
    ctx.profiles.update(_profiled(ctx))
    events = last - first + 1
    return {
        "events": events,
        "seconds": round(done - resumed, 3),
        "first_fetch_seconds": round(started - resumed, 3),
        "events_per_second": round(events / (done - resumed), 1),
        "cpu_seconds": round(spent, 3),
        "cpu_ms_per_event": round(1000 * spent / events, 3),
    }


async def backlog(
    ctx: Context, count: int, concurrency: int, notifications_events: int, timeout: float
) -> dict[str, Any]:
    """With the audit and notifications paused (SIGSTOP), ``count`` referrals over every
    pair (the nodes profiled meanwhile). Then the audit resumed alone and timed until it has
    applied them all; then notifications alone, timed over the first
    ``notifications_events`` of them, and paused again (it is resumed at the end of the
    run), so that what follows runs on a quiet network. Gives the stream range of the
    backlog, for the raw reference to consume the same messages."""
    await caught_up(ctx, await ctx.bus.last_sequence(), timeout)
    first = await ctx.bus.last_sequence() + 1
    pause(ctx, AUDIT_CONSUMER)
    pause(ctx, NOTIFICATIONS_CONSUMER)
    _profile(ctx, ctx.nodes)
    cpu_before = cpu_of(ctx.nodes)
    began = time.perf_counter()
    sent = await send(ctx, count, concurrency, ctx.client.pairs())
    await all_received(ctx, sent, timeout)
    nodes_cpu = sum(cpu_spent(cpu_before, cpu_of(ctx.nodes)).values())
    produced = time.perf_counter() - began
    ctx.profiles.update(_profiled(ctx))
    await listed_at_senders(ctx, sent)
    last = await ctx.bus.last_sequence()
    audit = await drain(ctx, AUDIT_CONSUMER, first, last, timeout)
    upto = min(last, first + notifications_events - 1)
    notifications = await drain(ctx, NOTIFICATIONS_CONSUMER, first, upto, timeout)
    pause(ctx, NOTIFICATIONS_CONSUMER)
    return {
        "referrals": count,
        "sent_seconds": round(produced, 2),
        "nodes_cpu_ms_per_referral": round(1000 * nodes_cpu / count, 1),
        "first_sequence": first,
        "last_sequence": last,
        "events": last - first + 1,
        "audit": audit,
        "notifications": notifications,
    }


def _profile(ctx: Context, pids: Mapping[str, int], rate: int | None = None) -> None:
    if ctx.profiler is not None:
        for name, pid in pids.items():
            ctx.profiler.start(name, pid, rate)


def _profiled(ctx: Context) -> dict[str, Summary]:
    return ctx.profiler.stop() if ctx.profiler is not None else {}
