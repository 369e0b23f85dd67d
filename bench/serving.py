"""What serving the services on uvloop and httptools (``crocevia_common.serving``) saves,
against uvicorn's pure-Python defaults (asyncio's own event loop, h11), in one run:

- events: the audit draining signed referral events from a real ``nats-server`` in this
  process (as ``bench audit_ingest``), on each event loop in alternated runs: CPU per event;
- requests: the audit served by ``uvicorn`` in a process of its own, each way in turn, on
  the trail the events made: the server's CPU per request (from ``/proc``) and the
  latency this process sees, for inclusion proofs and for ``/healthz`` (no token, no read).

    uv run python -m bench serving [--referrals N] [--runs N] [--requests N]

Each run adds its section to ``bench/results/serving.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import nats
import uvloop

from bench import add_section
from bench.audit_ingest import audit_run, publish_events
from crocevia_audit.bootstrap import CONSUMER
from crocevia_common.serving import uvicorn_options
from crocevia_contracts.stream import REFERRAL_EVENTS
from tests.kit.nats import NatsProcess, free_port, wait_for_port
from tests.kit.services import Tokens

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.SelectorEventLoop,
    "uvloop": uvloop.new_event_loop,
}
SERVERS = {"asyncio, h11": ["--loop", "asyncio", "--http", "h11"], "uvloop, httptools": uvicorn_options()}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _caught_up(url: str, timeout: float = 300.0) -> None:
    """Until the audit's durable has nothing pending nor unacknowledged."""
    nc = await nats.connect(url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                info = await nc.jetstream().consumer_info(REFERRAL_EVENTS.name, CONSUMER)
                if info.num_pending == 0 and info.num_ack_pending == 0:
                    return
            except nats.js.errors.NotFoundError:
                pass
            await asyncio.sleep(0.1)
        raise TimeoutError("the audit did not catch up")
    finally:
        await nc.close()


async def _requests(
    base: str, pid: int, auditor: dict[str, str], ids: list[str], count: int
) -> dict[str, tuple[float, float]]:
    """Per kind (proofs of random events, /healthz), ``count`` requests one at a time: the
    median latency and the server's CPU per request, in seconds."""
    rng = random.Random(7)
    figures = {}
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=30) as client:
        for _ in range(20):  # the connection made, the first requests' imports done
            (await client.get("/proofs/inclusion", params={"event_id": ids[0]}, headers=auditor)).raise_for_status()
        for kind in ("proof", "healthz"):
            times, cpu = [], _cpu_seconds(pid)
            for _ in range(count):
                began = time.perf_counter()
                if kind == "proof":
                    answer = await client.get(
                        "/proofs/inclusion", params={"event_id": rng.choice(ids)}, headers=auditor
                    )
                else:
                    answer = await client.get("/healthz")
                times.append(time.perf_counter() - began)
                answer.raise_for_status()
            figures[kind] = (statistics.median(times), (_cpu_seconds(pid) - cpu) / count)
    return figures


def serve_requests(
    url: str, workdir: Path, trail: Path, ids: list[str], count: int, options: list[str]
) -> dict[str, tuple[float, float]]:
    """The audit behind uvicorn with ``options``, on a copy of ``trail``: per kind of
    request, median latency and server CPU per request (both in seconds)."""
    workdir.mkdir(parents=True)
    shutil.copy(trail, workdir / "audit.db")
    tokens = Tokens(workdir / "dev.key")
    port = free_port()
    env = {
        **os.environ,
        "CROCEVIA_NATS_URL": url,
        "CROCEVIA_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'audit.db'}",
        "CROCEVIA_DATA_DIR": str(workdir / "data"),
        "CROCEVIA_AUTH_DEV_KEY_FILE": str(tokens.key_file),
        "CROCEVIA_ORIGIN": "crocevia.bench/trail",
    }
    argv = [sys.executable, "-m", "uvicorn", "--factory", "crocevia_audit.bootstrap:create_app"]
    argv += ["--host", "127.0.0.1", "--port", str(port), *options]  # the access log on, as `crocevia up` runs it
    with (workdir / "audit.log").open("wb") as log:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, timeout=60)
            asyncio.run(_caught_up(url))
            auditor = tokens.bearer("network", "network-auditor")
            return asyncio.run(_requests(f"http://127.0.0.1:{port}", process.pid, auditor, ids, count))
        finally:
            process.terminate()
            process.wait(timeout=30)


def measure(referrals: int, runs: int, requests: int) -> str:
    events = 2 * referrals
    per_event: dict[str, list[float]] = {name: [] for name in LOOPS}
    served: dict[str, list[dict[str, tuple[float, float]]]] = {name: [] for name in SERVERS}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = NatsProcess(workdir / "nats").start()
        try:
            ids = asyncio.run(publish_events(server.url, referrals))[1]
            for run in range(runs):
                for name, factory in LOOPS.items():
                    with asyncio.Runner(loop_factory=factory) as runner:
                        _, cpu = runner.run(audit_run(server.url, workdir / f"{name}-{run}", events))
                    per_event[name].append(cpu)
            trail = workdir / "uvloop-0" / "audit.db"
            for run in range(runs):
                for name, options in SERVERS.items():
                    folder = workdir / f"served-{name.replace(', ', '-')}-{run}"
                    served[name].append(serve_requests(server.url, folder, trail, ids, requests, options))
        finally:
            server.stop()
    return report(referrals, runs, requests, per_event, served)


def report(
    referrals: int,
    runs: int,
    requests: int,
    per_event: dict[str, list[float]],
    served: dict[str, list[dict[str, tuple[float, float]]]],
) -> str:
    lines = [f"events: {2 * referrals} signed ({referrals} referrals requested and received), {runs} alternated runs"]
    lines.append("the audit's CPU per event, draining them in this process (median of the runs, then each run):")
    for name, cpus in per_event.items():
        each = ", ".join(f"{1000 * c:.3f}" for c in cpus)
        lines.append(f"  {name:<8} {1000 * statistics.median(cpus):.3f} ms  ({each})")
    lines.append(f"the audit served by uvicorn, {requests} requests of each kind per run, medians of the runs:")
    lines.append("  server                 proof: latency   server CPU    /healthz: latency   server CPU")
    for name, results in served.items():
        proof = [r["proof"] for r in results]
        health = [r["healthz"] for r in results]
        lines.append(
            f"  {name:<20} {1000 * statistics.median(p[0] for p in proof):14.2f} ms"
            f" {1000 * statistics.median(p[1] for p in proof):9.2f} ms"
            f" {1000 * statistics.median(h[0] for h in health):17.2f} ms"
            f" {1000 * statistics.median(h[1] for h in health):9.2f} ms"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench serving")
    parser.add_argument("--referrals", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args(argv)
    text = measure(args.referrals, args.runs, args.requests)
    add_section("serving", text)
    print(text)
