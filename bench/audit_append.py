"""The audit's trail writer alone, in this process: CPU per event to append batches of events
(as its consumer hands them over, already verified) to a fresh trail (SQLite, or a database
of its own on PostgreSQL), and the statements each batch runs, by the path they take (on the
driver's connection itself, or through SQLAlchemy's execution). No NATS, no signatures, no
HTTP: what the writer itself costs, with less noise than the network's drain. The
directory's targets are left out (no due times). ``--compare`` alternates the runs with
runs whose every statement goes through SQLAlchemy, as before ``crocevia_common.statements``
ran them directly.

    uv run python -m bench audit_append [--referrals N] [--runs N] [--database postgresql] [--compare]

Each run adds its section to ``bench/results/audit_append.txt`` (the revision it ran at).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench import add_section
from bench.net.launch import DEFAULT_POSTGRES
from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.bootstrap import MIGRATIONS
from crocevia_audit.handlers.append import TrailWriter
from crocevia_common import statements
from crocevia_common.db import Database
from crocevia_common.messaging.intake import Verified
from tests.integration.audit.events import Network, checked
from tests.kit.databases import fresh_postgres_database

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


async def one_run(referrals: int, url: str) -> tuple[float, Counter[str]]:
    """CPU milliseconds per event after the first batch, and the statements by path."""
    db = Database(url)
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


@contextlib.contextmanager
def database(kind: str, postgres_url: str) -> Iterator[str]:
    """A fresh database's URL: a SQLite file, or a database of its own on ``postgres_url``."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'audit.db'}"
        return
    with fresh_postgres_database(postgres_url.replace("postgresql://", "postgresql+asyncpg://", 1)) as url:
        yield url


@contextlib.contextmanager
def through_sqlalchemy() -> Iterator[None]:
    """Every statement through SQLAlchemy's execution, as before they ran directly."""
    driver, asyncpg = statements._driver, statements._asyncpg
    statements._driver, statements._asyncpg = (lambda session: None), (lambda session: None)  # type: ignore[assignment]
    try:
        yield
    finally:
        statements._driver, statements._asyncpg = driver, asyncpg  # type: ignore[assignment]


def measure(referrals: int, runs: int, kind: str, postgres_url: str, compare: bool) -> str:
    results: dict[str, list[tuple[float, Counter[str]]]] = {"directly": [], "through SQLAlchemy": []}
    for _ in range(runs):
        for way in ("directly", "through SQLAlchemy") if compare else ("directly",):
            with (
                database(kind, postgres_url) as url,
                through_sqlalchemy() if way != "directly" else contextlib.nullcontext(),
            ):
                results[way].append(asyncio.run(one_run(referrals, url)))
    made = f"events: {2 * referrals} ({referrals} referrals requested and received), batches of {BATCH}"
    lines = [f"{made}, {kind}, {runs} runs"]
    for way, found in results.items():
        if not found:
            continue
        per_event = [ms for ms, _ in found]
        label = "" if not compare else f" ({'alternated: ' if way != 'directly' else ''}statements run {way})"
        median, least = statistics.median(per_event), min(per_event)
        lines.append(
            f"CPU per event appended{label}: median {median:.3f} ms, least {least:.3f} ms"
            f" (runs: {', '.join(f'{ms:.3f}' for ms in per_event)})"
        )
        lines.append("statements per batch, by path:")
        lines.extend(f"  {path}: {n:.1f}" for path, n in sorted(found[-1][1].items()))
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench audit_append")
    parser.add_argument("--referrals", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="the server to make a database on")
    parser.add_argument("--compare", action="store_true", help="alternate with every statement through SQLAlchemy")
    args = parser.parse_args(argv)
    report = measure(args.referrals, args.runs, args.database, args.postgres_url, args.compare)
    add_section("audit_append", report)
    print(report)
