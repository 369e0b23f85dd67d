"""The audit's trail writer alone, in this process: CPU per event to append batches of events
(as its consumer hands them over, already verified) to a fresh SQLite trail, and the
statements each batch runs, by the path they take (on SQLite's connection itself, or through
SQLAlchemy's execution). No NATS, no signatures, no HTTP: what the writer itself costs, with
less noise than the network's drain. The directory's targets are left out (no due times).

    uv run python -m bench audit_append [--referrals N] [--runs N]

Each run adds its section to ``bench/results/audit_append.txt`` (the revision it ran at).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench import add_section
from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.bootstrap import MIGRATIONS
from crocevia_audit.handlers.append import TrailWriter
from crocevia_common.db import Database
from crocevia_common.messaging.intake import Verified
from tests.integration.audit.events import Network, checked

AGENCIES = ("pioltello-casa", "cpia2", "csl-lavoro", "coop-abitare", "pioltello-scuola")
BATCH = 100  # the audit's batch size (AuditSettings.batch_size)


def events(referrals: int) -> list[Verified]:
    """Each referral requested, then received, over every pair of the agencies."""
    net = Network()
    pairs = [(a, b) for a in AGENCIES for b in AGENCIES if a != b]
    chosen = [pairs[i % len(pairs)] for i in range(referrals)]
    requested = [net.event("requested", f"ref-{i}", sender=s, receiver=r) for i, (s, r) in enumerate(chosen)]
    received = [net.event("received", f"ref-{i}", sender=s, receiver=r) for i, (s, r) in enumerate(chosen)]
    return checked(requested + received)


async def one_run(referrals: int, workdir: Path) -> tuple[float, Counter[str]]:
    """CPU milliseconds per event after the first batch, and the statements by path."""
    db = Database(f"sqlite+aiosqlite:///{workdir / 'audit.db'}")
    paths: Counter[str] = Counter()

    def seen(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        paths[f"{statement.split(None, 1)[0].upper()} {'directly' if cursor is None else 'through SQLAlchemy'}"] += 1

    try:
        await db.migrate(MIGRATIONS)
        writer = TrailWriter(unit_of_work(db))
        items = events(referrals)
        batches = [items[i : i + BATCH] for i in range(0, len(items), BATCH)]
        await writer.append(batches[0])  # statements compiled
        gc.collect()
        gc.freeze()  # as a running service does (crocevia_common.service.long_lived_heap)
        event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
        began = time.process_time()
        for batch in batches[1:]:
            await writer.append(batch)
        spent = time.process_time() - began
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
        gc.unfreeze()
        count = sum(len(b) for b in batches[1:])
        assert writer.counts["appended"] == len(items), writer.counts
        return 1000 * spent / count, Counter({k: v / (len(batches) - 1) for k, v in paths.items()})
    finally:
        await db.dispose()


async def measure(referrals: int, runs: int) -> str:
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(await one_run(referrals, Path(tmp)))
    per_event = [ms for ms, _ in results]
    paths = results[-1][1]
    return (
        f"events: {2 * referrals} ({referrals} referrals requested and received), batches of {BATCH}, {runs} runs\n"
        f"CPU per event appended: median {statistics.median(per_event):.3f} ms, least {min(per_event):.3f} ms"
        f" (runs: {', '.join(f'{ms:.3f}' for ms in per_event)})\n"
        "statements per batch, by path:\n" + "".join(f"  {kind}: {n:.1f}\n" for kind, n in sorted(paths.items()))
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench audit_append")
    parser.add_argument("--referrals", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    report = asyncio.run(measure(args.referrals, args.runs))
    add_section("audit_append", report)
    print(report)
