"""The look-up a node makes before it sends each referral, at the size of a regional agency's
caseload: the open referrals it already sent to the same agency's service for the same person
(a warning to staff, not a refusal). Timed in a node's own SQLite database holding N referrals
it sent (a tenth of them open, over 40 services of 10 agencies), with the index the look-up
searches (revision 0010), and in a copy without it, where SQLite reads every open referral the
agency sent (by the index on direction and status), as the look-up before revision 0010 did.

    uv run python -m bench sent_lookup [N ...]     (default: 10000 100000)

Each run adds its section to ``bench/results/sent_lookup.txt``.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bench import add_section
from crocevia_common.db import Database
from crocevia_contracts.lifecycle import Side
from crocevia_referrals.adapters.repository import SqlReferrals
from crocevia_referrals.adapters.tables import referrals
from crocevia_referrals.bootstrap import MIGRATIONS
from crocevia_referrals.domain.referral import DIRECTIONS

INDEX = "ix_referrals_sent_to_person"
AGENCIES, SERVICES, OPEN_SHARE = 10, 4, 10  # one referral in OPEN_SHARE is open
LOOKUPS = 300


def _rows(count: int) -> list[dict[str, object]]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {
            "id": f"ref-{i:08d}",
            "direction": DIRECTIONS[Side.SENDER],
            "sender_agency": "agenzia-casa-sudest",
            "receiver_agency": f"agency-{i % AGENCIES}",
            "service_id": f"service-{(i // AGENCIES) % SERVICES}",
            "priority": "routine",
            "status": "requested" if (i // (AGENCIES * SERVICES)) % OPEN_SHARE == 0 else "completed",
            "legal_basis": {"kind": "consent"},
            "our_step": 1,
            "their_step": 1,
            "created_at": start + timedelta(minutes=i),
            "updated_at": start + timedelta(minutes=i),
            "person_search": f"given{i} | family{i} | 1990-01-01",
            "person_names": f"given{i} | family{i}",
        }
        for i in range(count)
    ]


async def _seed(path: Path, count: int) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.migrate(MIGRATIONS)
        async with db.transaction() as conn:
            rows = _rows(count)
            for i in range(0, count, 5000):
                await conn.execute(insert(referrals), rows[i : i + 5000])
    finally:
        await db.dispose()


async def _time(path: Path, drop_index: bool) -> list[float]:
    """Seconds of each look-up (a person with no open referral there: the common case), in
    the node's write transaction as when it sends, once the database's pages were read."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        if drop_index:
            async with db.transaction() as conn:
                await conn.execute(text(f"DROP INDEX {INDEX}"))
        times = []
        for i in range(-AGENCIES * SERVICES, LOOKUPS):  # the first pass untimed: pages read once
            async with db.transaction() as conn:
                began = time.perf_counter()
                found = await SqlReferrals(conn, locking=True).open_sent(
                    f"agency-{i % AGENCIES}", f"service-{i % SERVICES}", f"nobody{i} | unknown"
                )
                if i >= 0:
                    times.append(time.perf_counter() - began)
            assert found == []
        return times
    finally:
        await db.dispose()


def _line(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"  {label:<42} median {statistics.median(ordered) * 1000:8.3f} ms   p95 {p95 * 1000:8.3f} ms\n"


async def measure(counts: list[int]) -> str:
    report = f"look-ups: {LOOKUPS} per case, each in its own write transaction\n"
    with tempfile.TemporaryDirectory() as tmp:
        for count in counts:
            indexed, bare = Path(tmp) / f"{count}.db", Path(tmp) / f"{count}-bare.db"
            await _seed(indexed, count)
            shutil.copyfile(indexed, bare)
            report += f"{count:,} referrals sent ({count // OPEN_SHARE:,} open, {AGENCIES * SERVICES} services)\n"
            report += _line(f"with {INDEX}", await _time(indexed, drop_index=False))
            report += _line("without it (revision 0009)", await _time(bare, drop_index=True))
    return report


def main(argv: list[str]) -> None:
    counts = [int(a) for a in argv] or [10_000, 100_000]
    report = asyncio.run(measure(counts))
    add_section("sent_lookup", report)
    print(report)


if __name__ == "__main__":
    main(sys.argv[1:])
