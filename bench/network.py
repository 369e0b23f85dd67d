"""The real network under load: started as ``make up`` starts it (a process per service,
NATS with its users, the demo agencies), on SQLite and then on PostgreSQL, driven from
outside over HTTP and NATS, measured against raw references taken in the same run.

    uv run python -m bench network                  # the whole benchmark (under 15 minutes)
    uv run python -m bench network --quick          # seconds: the CI guard's size
    uv run python -m bench network --databases sqlite --flow 2000

Phases, each on a network that has applied everything before it:

1. idle: memory and CPU of every service at rest;
2. flow: referrals over every agency pair, 32 requests at a time, until every one is
   received back at its sender; the CPU of every service until the audit and
   notifications have applied them too, and how busy the machine's cores were (NATS and
   this bench's client share them); measured after a first flow of as many referrals right
   after the start (reported too: a network's first requests compile statements and fetch
   directory entries and keys once); then as many between two agencies only, on the
   same network (with more than two agencies): each node's share of the events, and so
   its batches, grow with the load it gets, the CPU per referral falls;
3. steady: referrals at 10/s and at 50/s (open loop): create → received at the sender,
   event → the receiver's inbox item;
4. backlog: the audit and notifications paused (SIGSTOP) while referrals are sent (the
   nodes profiled with py-spy meanwhile), then each resumed alone and timed until its
   durable has nothing pending (profiled too); the same messages copied to a stream of
   their own and consumed by the raw pipeline (nats-py fetch + sqlite3 hash chain), and
   again verifying each signature; on SQLite, the audit's own writes done again by sqlite3
   alone into an empty database of its schema;
5. queries at the trail size reached: inclusion proofs, filtered trail pages, indicators,
   ``/verify``, and the offline verification of an export against a raw SHA-256 chain;
6. checks: every referral in the same status at both nodes, every streamed event in the
   trail exactly once, ``/verify`` ok, no dead letter, no anomaly.

Results: ``bench/results/network.txt`` and ``.json`` (``network-quick`` with ``--quick``),
or ``--output PATH`` (without suffix)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nacl.signing import VerifyKey

from bench.net import checks, launch, load, queries, raw, report
from bench.net.bus import REFERRALS, Bus
from bench.net.client import Client
from bench.net.procs import PeakMemory, cpu_of, machine, memory_of, versions
from bench.net.profile import Profiler, merged
from crocevia_audit.settings import AuditSettings
from crocevia_contracts.stream import NOTICES

RESULTS = Path(__file__).parent / "results"
QUICK_AGENCIES = ["cpia2", "pioltello-casa"]


@dataclass(frozen=True)
class Params:
    databases: list[str] = field(default_factory=lambda: ["sqlite", "postgresql"])
    agencies: list[str] | None = None  # None: every demo agency
    flow: int = 300
    # Referrals of a first flow, right after the start (the measured flow follows it: a
    # network runs for months, and its first requests compile statements, fetch directory
    # entries and keys, and warm caches once).
    first_flow: int = 300
    concurrency: int = 32
    rates: list[float] = field(default_factory=lambda: [10.0, 50.0])
    steady_seconds: float = 5.0
    backlog: int = 800
    notifications_backlog: int = 300  # events of the backlog notifications is timed over
    samples: int = 100
    settle_seconds: float = 5.0
    profile: bool = True
    timeout: float = 600.0
    postgres_url: str = launch.DEFAULT_POSTGRES
    profiles_dir: Path | None = None  # where py-spy's raw samples are kept (else dropped)


QUICK = Params(
    databases=["sqlite"],
    agencies=QUICK_AGENCIES,
    flow=20,
    first_flow=0,
    rates=[10.0],
    steady_seconds=1.0,
    backlog=60,
    notifications_backlog=40,
    samples=10,
    settle_seconds=0.5,
    profile=False,
    timeout=120.0,
)


def progress(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line.strip()}", file=sys.stderr, flush=True)


async def measure(run: launch.Running, params: Params, workdir: Path) -> dict[str, Any]:
    """Every phase on a running network; what each measured."""
    everything = run.network.pids()
    services = {name: pid for name, pid in everything.items() if name != "nats"}
    client, bus = Client(run.urls, run.key_file), await Bus.connect(run.urls)
    samples_dir = params.profiles_dir / run.database if params.profiles_dir else workdir / "profiles"
    profiler = Profiler(samples_dir) if params.profile else None
    ctx = load.Context(client, bus, services, profiler, nats_pid=everything.get("nats"))
    if run.postgres is not None:
        await run.postgres.watch()
        ctx.database_pids = run.postgres.backends
    try:
        start_cpu = cpu_of(services)
        await client.learn_services()
        await asyncio.sleep(params.settle_seconds)
        idle_before, began = cpu_of(services), time.perf_counter()
        await asyncio.sleep(params.settle_seconds)
        idle_cpu = sum(load.cpu_spent(idle_before, cpu_of(services)).values()) / (time.perf_counter() - began)
        idle_memory = memory_of(everything)
        async with PeakMemory(everything) as peak:
            first_flow: dict[str, Any] | None = None
            if params.first_flow:
                progress(f"first flow after the start: {params.first_flow} referrals, {params.concurrency} at a time")
                first_flow = await load.flow(ctx, params.first_flow, params.concurrency, params.timeout)
            progress(f"flow: {params.flow} referrals, {params.concurrency} at a time")
            flow = await load.flow(ctx, params.flow, params.concurrency, params.timeout)
            one_pair: dict[str, Any] | None = None
            if len(run.agencies) > 2:
                pair, pairs = client.one_pair()
                progress(f"flow over one pair: {params.flow} referrals between {pair[0]} and {pair[1]}")
                one_pair = await load.flow(ctx, params.flow, params.concurrency, params.timeout, pairs)
                one_pair["pair"] = list(pair)
            steady = []
            for rate in params.rates:
                progress(f"steady: {rate:g} referrals/s for {params.steady_seconds:g} s")
                steady.append(await load.steady(ctx, rate, params.steady_seconds, params.timeout))
            progress(f"backlog: {params.backlog} referrals with the audit and notifications paused")
            backlog = await load.backlog(
                ctx, params.backlog, params.concurrency, params.notifications_backlog, params.timeout
            )
        progress("raw reference: the backlog's messages consumed by nats-py + sqlite3")
        audit_db = workdir / "data" / "audit.db" if run.database == "sqlite" else None
        raw_ingest = await raw_reference(bus, backlog, workdir, await client.signing_keys(), audit_db)
        trail_size = await bus.count(REFERRALS) + await bus.count(NOTICES.name)
        progress(f"queries at {trail_size} entries")
        answers = await queries.run(ctx, workdir, trail_size, params.samples, params.timeout)
        progress("checks")
        verdict = await checks.run(ctx, answers.pop("exported_ids"), answers["verify_ok"])
        return {
            "database_version": run.database_version,
            "agencies": run.agencies,
            "start_seconds": round(run.start_seconds, 1),
            "start_cpu_seconds": {k: round(v, 2) for k, v in start_cpu.items()},
            "idle_cpu_percent": round(100 * idle_cpu, 1),
            "memory_idle_mib": {k: round(v, 1) for k, v in idle_memory.items()},
            "memory_peak_mib": {k: round(v, 1) for k, v in peak.peak.items()},
            "flow": flow,
            "first_flow": first_flow,
            "flow_one_pair": one_pair,
            "steady": steady,
            "backlog": backlog,
            "raw_ingest": raw_ingest,
            "queries": answers,
            "checks": verdict,
            "profiles": profiles(ctx),
        }
    finally:
        for name in list(ctx.paused):
            load.resume(ctx, name)
        if run.postgres is not None:
            await run.postgres.unwatch()
        await client.close()
        await bus.close()


async def raw_reference(
    bus: Bus, backlog: dict[str, Any], workdir: Path, keys: Mapping[str, VerifyKey], audit_db: Path | None = None
) -> dict[str, Any]:
    """The backlog's messages consumed by the raw pipeline, and again with each signature
    verified; on SQLite, the audit's own writes done again by sqlite3 alone."""
    copied = await bus.copy_to_raw(backlog["first_sequence"], backlog["last_sequence"])
    try:
        seconds, cpu = await raw.ingest(bus, copied, workdir / "raw-trail.db")
        signed_seconds, signed_cpu = await raw.ingest(bus, copied, workdir / "raw-signed-trail.db", keys)
    finally:
        await bus.drop_raw()
    replayed: dict[str, Any] | None = None
    if audit_db is not None:
        replay_cpu, entries = raw.replay_writes(audit_db, workdir, AuditSettings.model_fields["batch_size"].default)
        replayed = {"entries": entries, "cpu_ms_per_entry": round(1000 * replay_cpu / entries, 4)}
    return {
        "events": copied,
        "seconds": round(seconds, 3),
        "events_per_second": round(copied / seconds, 1),
        "cpu_seconds": round(cpu, 3),
        "cpu_ms_per_event": round(1000 * cpu / copied, 4),
        "signed": {
            "seconds": round(signed_seconds, 3),
            "events_per_second": round(copied / signed_seconds, 1),
            "cpu_ms_per_event": round(1000 * signed_cpu / copied, 4),
        },
        "replayed_writes": replayed,
    }


def profiles(ctx: load.Context) -> dict[str, Any]:
    nodes = [s for name, s in ctx.profiles.items() if name.startswith("referrals-")]
    out = {f"referrals nodes ({len(nodes)}, while sending the backlog)": merged(nodes).as_json()} if nodes else {}
    for name in ("audit", "notifications"):
        if name in ctx.profiles:
            out[f"{name} (draining the backlog)"] = ctx.profiles[name].as_json()
    return out


def run_all(params: Params, output: Path) -> dict[str, Any]:
    """Every database's run; the results written after each (a run that fails is recorded
    with its error, and the next one goes on)."""
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "parameters": {k: v for k, v in asdict(params).items() if k not in ("postgres_url", "profiles_dir")},
        "runs": {},
    }
    began = time.perf_counter()
    for database in params.databases:
        with tempfile.TemporaryDirectory(prefix=f"crocevia-bench-{database}-") as tmp:
            progress(f"== {database}: starting the network")
            try:
                with launch.running(database, Path(tmp), params.agencies, params.postgres_url, progress) as run:
                    results["runs"][database] = asyncio.run(measure(run, params, Path(tmp)))
            except Exception as exc:
                progress(f"== {database}: failed: {type(exc).__name__}: {exc}")
                results["runs"][database] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
            progress(f"== {database}: stopped")
        results["seconds"] = round(time.perf_counter() - began, 1)
        results["machine"]["load_average_at_end"] = machine()["load_average"]
        report.write(results, output, describe)
    return results


def describe(results: dict[str, Any]) -> list[str]:
    m, p = results["machine"], results["parameters"]
    agencies = "every demo agency" if p["agencies"] is None else ", ".join(p["agencies"])
    return [
        f"# The network under load (bench/network.py), {results['started']}",
        "",
        f"machine: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), {m['memory_gib']} GiB, "
        f"Linux {m['kernel']}; load average {m['load_average']} at the start, {m['load_average_at_end']} at the end",
        "The machine is shared: other engineers' test runs use the same cores, so absolute times vary between",
        "runs; the ratios against a raw reference measured in the same run are what to compare.",
        "versions: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()),
        f"parameters: agencies: {agencies}; flow {p['flow']} referrals, {p['concurrency']} at a time, after a "
        f"first flow of {p.get('first_flow', 0)}; steady "
        f"{', '.join(f'{r:g}' for r in p['rates'])}/s for {p['steady_seconds']:g} s each; backlog {p['backlog']} "
        f"referrals; {p['samples']} samples per query kind; py-spy profiles: {p['profile']}",
        f"whole run: {results['seconds']:.0f} s",
        "",
        "A referral is received back at the sender when its node records the `received` event (the",
        "`updated_at` it lists). CPU is user + system time from /proc/<pid>/stat of every service process.",
        "",
    ]


def parse(argv: list[str]) -> tuple[Params, Path, bool]:
    parser = argparse.ArgumentParser(prog="python -m bench network", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two agencies, SQLite, small counts: seconds")
    parser.add_argument("--databases", help="comma-separated: sqlite,postgresql")
    parser.add_argument("--flow", type=int)
    parser.add_argument("--first-flow", type=int, help="referrals of the flow right after the start (0: none)")
    parser.add_argument("--backlog", type=int)
    parser.add_argument("--notifications-backlog", type=int, help="events of the backlog notifications is timed over")
    parser.add_argument("--steady-seconds", type=float)
    parser.add_argument("--rates", help="comma-separated referrals per second, e.g. 10,50")
    parser.add_argument("--samples", type=int)
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, help="py-spy profiles (not with --quick)")
    parser.add_argument("--keep-profiles", type=Path, help="a folder to keep py-spy's raw samples in")
    parser.add_argument("--postgres-url", help=f"the server to make databases on (default {launch.DEFAULT_POSTGRES})")
    parser.add_argument("--output", type=Path, help="results path without suffix (default bench/results/network)")
    parser.add_argument("--rewrite", action="store_true", help="write the text again from the JSON of the output")
    args = parser.parse_args(argv)
    params = QUICK if args.quick else Params()
    changes: dict[str, Any] = {
        "databases": args.databases.split(",") if args.databases else None,
        "flow": args.flow,
        "first_flow": args.first_flow,
        "backlog": args.backlog,
        "notifications_backlog": args.notifications_backlog,
        "steady_seconds": args.steady_seconds,
        "rates": [float(r) for r in args.rates.split(",")] if args.rates else None,
        "samples": args.samples,
        "profile": args.profile,
        "postgres_url": args.postgres_url,
        "profiles_dir": args.keep_profiles,
    }
    params = replace(params, **{k: v for k, v in changes.items() if v is not None})
    unknown = set(params.databases) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown database {', '.join(sorted(unknown))}: sqlite or postgresql")
    output = args.output or RESULTS / ("network-quick" if args.quick else "network")
    return params, output, args.rewrite


def main(argv: list[str]) -> None:
    params, output, rewrite = parse(argv)
    if rewrite:
        print(report.write(json.loads(output.with_suffix(".json").read_text()), output, describe))
        return
    results = run_all(params, output)
    print(report.write(results, output, describe))
    if any("error" in run for run in results["runs"].values()):
        sys.exit("some runs failed: see their error in the results")


if __name__ == "__main__":
    main(sys.argv[1:])
