"""What auditors and the steering committee ask of the audit, at the trail size the run
reached: inclusion proofs, filtered trail pages, indicators, ``/verify``, and the offline
verification of an export against a raw SHA-256 chain over the same lines."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import io
import json
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.net import raw
from bench.net.load import Context, spread


async def timed(request: Awaitable[httpx.Response]) -> tuple[float, httpx.Response]:
    """Seconds from sending ``request`` (not started yet) to its whole answer, and the answer."""
    began = time.perf_counter()
    answer = await request
    answer.raise_for_status()
    return time.perf_counter() - began, answer


async def checkpoint_covering(ctx: Context, size: int, timeout: float) -> tuple[str, int]:
    """The latest checkpoint once it covers ``size`` entries (the audit signs every 2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await ctx.client.http.get(f"{ctx.client.audit}/checkpoint")
        if answer.status_code == 200 and int(answer.headers["Crocevia-Tree-Size"]) >= size:
            return answer.text, int(answer.headers["Crocevia-Tree-Size"])
        if time.monotonic() > deadline:
            raise TimeoutError(f"no checkpoint of {size} entries after {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def export(ctx: Context, path: Path) -> list[str]:
    """The whole trail up to the latest checkpoint, as JSON Lines in ``path``; its event ids."""
    ids = []
    async with ctx.client.http.stream(
        "GET", f"{ctx.client.audit}/trail/export", params={"format": "jsonl"}, headers=ctx.client.auditor()
    ) as answer:
        answer.raise_for_status()
        with path.open("wb") as out:
            async for chunk in answer.aiter_bytes():
                out.write(chunk)
    with path.open("rb") as lines:
        next(lines)
        ids = [json.loads(line)["event"]["id"] for line in lines]
    return ids


def offline_verify(export_file: Path, checkpoint: Path, key: Path) -> tuple[float, bool, str]:
    """``crocevia-audit verify`` (the installed command's entry point, in this process):
    CPU seconds, whether it said OK, what it said."""
    (command,) = importlib.metadata.entry_points(group="console_scripts", name="crocevia-audit")
    main = command.load()
    said = io.StringIO()
    began = time.process_time()
    with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
        code = main(["verify", str(export_file), "--checkpoint", str(checkpoint), "--key", str(key)])
    return time.process_time() - began, code == 0, said.getvalue().strip()


def trail_queries(ctx: Context, rng: random.Random, count: int) -> list[tuple[str, dict[str, Any]]]:
    """A mix of the filters auditors use, ``count`` of each kind."""
    agencies = sorted(ctx.client.nodes)
    now = datetime.now(UTC)
    kinds: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("referral_id", lambda: {"referral_id": rng.choice(ctx.sent).id}),
        ("from+to", lambda: dict(zip(("from", "to"), rng.sample(agencies, 2), strict=True))),
        ("agency+event", lambda: {"agency": rng.choice(agencies), "event": "received"}),
        (
            "event+since+until",
            lambda: {
                "event": "requested",
                "since": (now - timedelta(seconds=rng.randint(60, 600))).isoformat(),
                "until": now.isoformat(),
            },
        ),
        ("priority+oldest", lambda: {"priority": "routine", "order": "oldest"}),
    ]
    return [(kind, make()) for _ in range(count) for kind, make in kinds]


async def run(ctx: Context, workdir: Path, trail_size: int, samples: int, timeout: float) -> dict[str, Any]:
    """Every query figure, with the trail at ``trail_size`` entries."""
    client, auditor = ctx.client, ctx.client.auditor()
    note, size = await checkpoint_covering(ctx, trail_size, timeout)
    files = {name: workdir / name for name in ("trail.jsonl", "checkpoint.txt", "audit.vkey")}
    files["checkpoint.txt"].write_text(note)
    files["audit.vkey"].write_text((await client.http.get(f"{client.audit}/checkpoint/key")).text.strip())
    ids = await export(ctx, files["trail.jsonl"])
    rng = random.Random(13)

    proofs = []
    for event_id in rng.sample(ids, min(samples, len(ids))):
        seconds, _ = await timed(
            client.http.get(
                f"{client.audit}/proofs/inclusion", params={"event_id": event_id, "tree_size": size}, headers=auditor
            )
        )
        proofs.append(seconds)
    floor = []  # the same client and service, a route that reads nothing and checks no token
    for _ in range(len(proofs)):
        seconds, _ = await timed(client.http.get(f"{client.audit}/healthz"))
        floor.append(seconds)

    by_kind: dict[str, list[float]] = {}
    for kind, params in trail_queries(ctx, rng, max(1, samples // 5)):
        seconds, _ = await timed(client.http.get(f"{client.audit}/trail", params=params, headers=auditor))
        by_kind.setdefault(kind, []).append(seconds)

    indicators = []
    for _ in range(3):
        seconds, answer = await timed(
            client.http.get(f"{client.audit}/indicators", params={"group_by": "pair"}, headers=auditor)
        )
        indicators.append(seconds)
    groups = len(answer.json().get("groups", []))

    verify_seconds, verify = await timed(client.http.get(f"{client.audit}/verify", headers=auditor))
    offline = [offline_verify(files["trail.jsonl"], files["checkpoint.txt"], files["audit.vkey"]) for _ in range(3)]
    chains = [raw.chain_verify(files["trail.jsonl"]) for _ in range(3)]
    merkles = [raw.merkle_verify(files["trail.jsonl"]) for _ in range(3)]
    offline_s = statistics.median(o[0] for o in offline)
    chain_s = statistics.median(c[0] for c in chains)
    merkle_s = statistics.median(m[0] for m in merkles)
    return {
        "trail_size": size,
        "exported_ids": ids,
        "inclusion_proof_ms": spread(proofs),
        "http_floor_ms": spread(floor),
        "trail_query_ms": spread([s for v in by_kind.values() for s in v]),
        "trail_query_ms_by_filter": {k: spread(v) for k, v in by_kind.items()},
        "indicators_pair_ms": spread(indicators),
        "indicators_groups": groups,
        "verify_http_ms": round(verify_seconds * 1000, 1),
        "verify_ok": bool(verify.json().get("ok")),
        "offline_verify_ok": all(o[1] for o in offline),
        "offline_verify_said": offline[-1][2][:300],
        "offline_verify_entries_per_second": round(size / offline_s),
        "raw_chain_entries_per_second": round(chains[0][1] / chain_s),
        "offline_verify_vs_raw": round(chain_s / offline_s * size / max(chains[0][1], 1), 3),
        "raw_merkle_entries_per_second": round(merkles[0][1] / merkle_s),
        "offline_verify_vs_raw_merkle": round(merkle_s / offline_s * size / max(merkles[0][1], 1), 3),
    }
