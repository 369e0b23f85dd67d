"""How the audit's export, offline verification and indicators scale: time and peak memory.

Run on demand (not part of the test suite):

    uv run python -m bench audit_export                 # 200,000 entries on SQLite
    uv run python -m bench audit_export --rows 20000    # quicker

It fills a fresh SQLite trail through the service's own writer (so entries, leaf hashes
and tree nodes are real), signs checkpoints at a quarter of the trail and at the whole,
then exports both sizes as JSON Lines and CSV and verifies the JSON Lines with the CLI's
code (against a raw SHA-256 chain over the same lines, timed in the same run), and computes
the steering committee's indicators (``GET /indicators``'s code) over the whole trail and
over one month. Peak memory is what Python allocated during each step (tracemalloc, in a
second run of the step that is not timed, since tracemalloc slows Python down): it should
not grow with the number of rows. Results go to ``bench/results/audit_export.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import platform
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nacl.signing import SigningKey

from crocevia_audit.adapters.trail_query import TrailFilter, TrailQueries
from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.bootstrap import MIGRATIONS
from crocevia_audit.entrypoints import cli
from crocevia_audit.handlers import export, indicators
from crocevia_audit.handlers.append import TrailWriter
from crocevia_audit.handlers.checkpoints import Checkpointer
from crocevia_common.db import Database
from crocevia_common.messaging.intake import Delivery, Verified, parse
from crocevia_common.tlog.checkpoint import SignedCheckpoint, open_checkpoint
from crocevia_common.tlog.note import VerifierKey
from crocevia_contracts import Envelope, LegalBasis, referral_subject
from crocevia_contracts.events import Received, Requested

ORIGIN = "crocevia.bench/trail"
RESULTS = Path(__file__).parent / "results" / "audit_export.txt"
AGENCIES = ("pioltello-casa", "pioltello-sociali", "cpia2", "csl-lavoro", "prefettura-mediazione")


def deliveries(start: int, count: int, t0: datetime, sequences: dict[str, int]) -> list[Verified]:
    """``count`` events: a requested and a received for every referral, numbered per source."""
    out = []
    for n in range(start, start + count):
        referral, step = divmod(n, 2)
        sender, receiver = AGENCIES[referral % 5], AGENCIES[(referral + 1 + referral // 5 % 4) % 5]
        at = t0 + timedelta(minutes=n)
        common = {
            "referral_id": f"bench-{referral:07d}",
            "sender_agency": sender,
            "receiver_agency": receiver,
            "service_id": "main-service",
            "domain": "education",
            "priority": "routine",
            "occurred_at": at,
        }
        if step == 0:
            data: Requested | Received = Requested(**common, legal_basis=LegalBasis(basis="public-task"))
            publisher, counterpart = sender, receiver
        else:
            data = Received(**common)
            publisher, counterpart = receiver, sender
        sequences[publisher] = sequences.get(publisher, 0) + 1
        envelope = Envelope.build(source_agency=publisher, sequence=sequences[publisher], data=data, time=at)
        out.append(parse(Delivery(referral_subject(publisher, counterpart, data.event), envelope.to_json(), n + 1)))
    return out


async def fill(db: Database, rows: int, checkpoint_at: list[int]) -> list[SignedCheckpoint]:
    writer = TrailWriter(unit_of_work(db))
    signer = Checkpointer(writer.uow, writer, SigningKey(b"b" * 32), ORIGIN, every_entries=10**9, every_seconds=60)
    t0, signed, batch = datetime(2026, 1, 1, tzinfo=UTC), [], 1000
    sequences: dict[str, int] = {}
    for start in range(0, rows, batch):
        await writer.append(deliveries(start, min(batch, rows - start), t0, sequences))
        if start + batch in checkpoint_at or start + batch >= rows:
            made = await signer.sign_if_due(on_time=True)
            if made is not None:
                signed.append(made)
    return signed


async def measure(step: Callable[[], Awaitable[int]]) -> tuple[float, float, int]:
    """Seconds ``step`` took, then the peak MiB Python allocated in a second run of it (under
    tracemalloc, which slows Python down several times, so it is not timed)."""
    began = time.perf_counter()
    result = await step()
    elapsed = time.perf_counter() - began
    tracemalloc.start()
    await step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak / 2**20, result


async def drain(chunks: AsyncIterator[bytes], path: Path) -> int:
    written = 0
    with path.open("wb") as out:
        async for chunk in chunks:
            written += out.write(chunk)
    return written


async def run(rows: int, workdir: Path) -> list[str]:
    db = Database(f"sqlite+aiosqlite:///{workdir / 'audit.db'}")
    await db.migrate(MIGRATIONS)
    quarter = rows // 4 // 1000 * 1000 or rows
    began = time.perf_counter()
    signed = await fill(db, rows, [quarter])
    report = [
        f"filled {rows} entries through TrailWriter in batches of 1000: {time.perf_counter() - began:.1f} s",
        f"database file: {(workdir / 'audit.db').stat().st_size / 2**20:.1f} MiB",
        "",
    ]
    key = VerifierKey(ORIGIN, bytes(SigningKey(b"b" * 32).verify_key))
    report.append(f"{'step':<52}{'rows':>9}{'seconds':>10}{'rows/s':>10}{'peak MiB':>10}{'output MiB':>12}")
    for checkpoint in signed:
        report += await measure_exports(db, checkpoint, key, workdir)
    report += await measure_indicators(db, rows)
    await db.dispose()
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report += [
        "",
        f"process peak RSS (whole run, including the fill): {usage:.0f} MiB",
        f"python {platform.python_version()} on {platform.machine()}, {platform.system()}",
    ]
    return report


async def measure_exports(db: Database, checkpoint: SignedCheckpoint, key: VerifierKey, workdir: Path) -> list[str]:
    """Export the trail of ``checkpoint`` as JSON Lines and CSV, then verify the JSON Lines."""
    flt = TrailFilter(below=checkpoint.size)
    jsonl, csv_file = workdir / f"trail-{checkpoint.size}.jsonl", workdir / f"trail-{checkpoint.size}.csv"
    note = workdir / f"checkpoint-{checkpoint.size}.txt"
    note.write_text(checkpoint.note)
    assert open_checkpoint(checkpoint.note, [key]).size == checkpoint.size

    trail = TrailQueries(db)
    header = export.header_line(checkpoint, flt.described(), flt.is_whole_trail())

    async def export_jsonl() -> int:
        return await drain(export.jsonl(header, trail.scan(flt, page_size=1000, with_entry=True), 1000), jsonl)

    async def export_csv() -> int:
        return await drain(export.csv_rows(trail.scan(flt, page_size=1000)), csv_file)

    async def verify() -> int:
        finding = cli.verify(jsonl, note, str(key))
        assert finding.ok, finding
        return 0

    async def raw_chain() -> int:
        digest = b""
        with jsonl.open("rb") as read:
            for line in read:
                digest = hashlib.sha256(digest + line).digest()
        return 0

    lines, took = [], {}
    for step, run in (
        ("export jsonl", export_jsonl),
        ("export csv", export_csv),
        ("crocevia-audit verify (offline)", verify),
        ("raw reference: a SHA-256 chain over the same lines", raw_chain),
    ):
        seconds, peak, written = await measure(run)
        took[step] = seconds
        lines.append(_line(step, checkpoint.size, seconds, peak, written))
    ratio = took["raw reference: a SHA-256 chain over the same lines"] / took["crocevia-audit verify (offline)"]
    lines.append(f"  verify vs the raw chain: {ratio:.2f}x")
    return lines


async def measure_indicators(db: Database, rows: int) -> list[str]:
    """The indicators by agency pair and month: every referral, then January's only."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    async def referrals_counted(since: datetime | None, until: datetime | None) -> int:
        groups = await indicators.compute(
            TrailQueries(db).indicator_events(since, until, None),
            dimensions=["pair", "month"],
            targets=lambda agency, service, priority: None,
            as_of=t0 + timedelta(days=400),
            since=since,
            until=until,
        )
        return sum(g["requested"] for g in groups)

    lines = []
    for step, since, until in (
        ("indicators pair x month, all", None, None),
        ("indicators pair x month, January", t0, t0 + timedelta(days=31)),
    ):
        seconds, peak, counted = await measure(functools.partial(referrals_counted, since, until))
        lines.append(_line(f"{step} ({counted} referrals)", rows, seconds, peak, 0))
    return lines


def _line(step: str, rows: int, seconds: float, peak: float, output: int) -> str:
    written = f"{output / 2**20:.1f}" if output else "-"
    return f"{step:<52}{rows:>9}{seconds:>10.2f}{rows / seconds:>10.0f}{peak:>10.2f}{written:>12}"


def main(argv: list[str]) -> None:
    """``python -m bench audit_export [--rows N] [--output PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m bench audit_export", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crocevia-bench-") as tmp:
        lines = asyncio.run(run(args.rows, Path(tmp)))
    text = "\n".join([f"Audit export benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "", *lines]) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
