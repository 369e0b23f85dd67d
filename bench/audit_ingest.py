"""The audit's whole ingest in one process, against the raw pipeline on the same messages: a
real ``nats-server`` holds signed referral events (each referral requested, then received),
the audit service (its consumer, intake, trail writer and checkpoints, on SQLite) drains them,
and the raw pipeline of ``bench network`` (nats-py fetch, Ed25519 verification, sqlite3
hash-chained append) consumes a copy, in alternated runs. Less noise than the network's
drain, where nine nodes and notifications share the cores; the same path.

    uv run python -m bench audit_ingest [--referrals N] [--runs N] [--profile FILE]

CPU is this process's, from the first batch applied to the last (the audit's start apart).
``--profile`` writes a cProfile of one more audit run to FILE (pstats), for
``python -m pstats``. Each run adds its section to ``bench/results/audit_ingest.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import statistics
import tempfile
import time
from pathlib import Path

import nats
from nacl.signing import VerifyKey
from nats.js.errors import NotFoundError

from bench import add_section
from bench.net import raw
from bench.net.bus import Bus
from crocevia_audit.bootstrap import CONSUMER, create_app
from crocevia_audit.settings import AuditSettings
from crocevia_common.messaging.streams import provision
from crocevia_contracts.sealing import key_id
from crocevia_contracts.stream import REFERRAL_EVENTS
from tests.integration.audit.events import Network
from tests.integration.audit.wire import publish, signers
from tests.kit.nats import NatsProcess
from tests.kit.services import Tokens, eventually, serve

AGENCIES = ("pioltello-casa", "cpia2", "csl-lavoro", "coop-abitare", "pioltello-scuola")


async def publish_events(url: str, referrals: int) -> tuple[dict[str, VerifyKey], list[str]]:
    """Each referral requested, then received, over every pair of ``AGENCIES``, signed by
    its publisher; their verifier keys by key id, and the events' ids."""
    net = Network()
    pairs = [(a, b) for a in AGENCIES for b in AGENCIES if a != b]
    chosen = [pairs[i % len(pairs)] for i in range(referrals)]
    events = [net.event("requested", f"ref-{i}", sender=s, receiver=r) for i, (s, r) in enumerate(chosen)]
    events += [net.event("received", f"ref-{i}", sender=s, receiver=r) for i, (s, r) in enumerate(chosen)]
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await provision(js)
        await publish(js, events)
        keys = (await signers(js)).keys.values()
        ids = [json.loads(event.payload)["id"] for event in events]
        return {key_id(bytes(k.signing.verify_key)): k.signing.verify_key for k in keys}, ids
    finally:
        await nc.close()


async def audit_run(
    url: str, workdir: Path, events: int, profile: cProfile.Profile | None = None
) -> tuple[float, float]:
    """Wall seconds and CPU seconds for the audit to apply ``events`` after its first batch,
    from a durable of its own (made anew: the stream is read from the start)."""
    nc = await nats.connect(url)
    try:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_consumer(REFERRAL_EVENTS.name, CONSUMER)
    finally:
        await nc.close()
    tokens = Tokens(workdir / "dev.key")
    settings = AuditSettings(
        nats_url=url,
        database_url=f"sqlite+aiosqlite:///{workdir / 'audit.db'}",
        data_dir=workdir / "audit-data",
        auth_dev_key_file=tokens.key_file,
        origin="crocevia.bench/trail",
    )
    app = create_app(settings)
    async with serve(app):
        consumer = app.state.consumer

        async def applied(count: int) -> bool:
            return consumer.applied >= count

        await eventually(lambda: applied(1), timeout=60, interval=0.001)
        first = consumer.applied
        began, cpu = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        await eventually(lambda: applied(events), timeout=600, interval=0.002)
        if profile is not None:
            profile.disable()
        wall, spent = time.perf_counter() - began, time.process_time() - cpu
        assert consumer.applied == events and consumer.dead_lettered == 0, (consumer.applied, consumer.dead_lettered)
        assert app.state.audit.writer.counts["appended"] == events, app.state.audit.writer.counts
    return wall / (events - first), spent / (events - first)


async def measure(referrals: int, runs: int, profile_to: Path | None) -> str:
    events = 2 * referrals
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = NatsProcess(workdir / "nats").start()
        try:
            keys, _ = await publish_events(server.url, referrals)
            bus = Bus(await nats.connect(server.url))
            try:
                copied = await bus.copy_to_raw(1, events)
                assert copied == events, copied
                figures: dict[str, list[tuple[float, float]]] = {"audit": [], "raw": [], "signed": []}
                for run in range(runs):
                    figures["audit"].append(await audit_run(server.url, workdir / f"audit-{run}", events))
                    for name, verify in (("raw", None), ("signed", keys)):
                        await _drop_raw_durables(bus)
                        seconds, cpu = await raw.ingest(bus, events, workdir / f"{name}-{run}.db", verify)
                        figures[name].append((seconds / events, cpu / events))
                if profile_to is not None:
                    profile = cProfile.Profile()
                    await audit_run(server.url, workdir / "audit-profiled", events, profile)
                    profile.dump_stats(profile_to)
            finally:
                await bus.nc.close()
        finally:
            server.stop()
    return report(referrals, runs, figures, profile_to)


async def _drop_raw_durables(bus: Bus) -> None:
    for durable in ("bench-raw", "bench-raw-signed"):
        with contextlib.suppress(NotFoundError):
            await bus.js.delete_consumer(raw.RAW_STREAM, durable)


def report(referrals: int, runs: int, figures: dict[str, list[tuple[float, float]]], profile_to: Path | None) -> str:
    def median(name: str, which: int) -> float:
        return statistics.median(f[which] for f in figures[name])

    audit_cpu, audit_wall = median("audit", 1), median("audit", 0)
    lines = [
        f"events: {2 * referrals} ({referrals} referrals requested and received, signed), {runs} alternated runs",
        "medians per event      wall ms    CPU ms   events/s  audit vs it (by CPU)",
    ]
    for name, label in (("audit", "audit"), ("raw", "raw pipeline"), ("signed", "raw, signatures verified")):
        wall, cpu = median(name, 0), median(name, 1)
        ratio = "" if name == "audit" else f"{cpu / audit_cpu:.2f}x"
        lines.append(f"{label:<22} {1000 * wall:8.3f} {1000 * cpu:9.3f} {1 / wall:10,.0f}  {ratio}")
    runs_line = ", ".join(f"{1000 * cpu:.3f}" for _, cpu in figures["audit"])
    lines.append(f"audit CPU ms per event, each run: {runs_line}; wall {1000 * audit_wall:.3f} ms")
    if profile_to is not None:
        lines.append(f"cProfile of one more audit run: {profile_to}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench audit_ingest")
    parser.add_argument("--referrals", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args(argv)
    text = asyncio.run(measure(args.referrals, args.runs, args.profile))
    add_section("audit_ingest", text)
    print(text)
