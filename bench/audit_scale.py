"""The audit's reads at regional scale: indicators, inclusion proofs and filtered trail pages.

Run on demand (not part of the test suite):

    uv run python -m bench audit_scale                    # 1,000,000 entries on SQLite
    uv run python -m bench audit_scale --rows 100000      # quicker

It writes a synthetic trail straight into a fresh SQLite database migrated to the newest
revision (appending a million entries through the service's writer would take minutes):
referrals of five agencies with their lifecycle events and some reminders, each entry's
canonical bytes and leaf hash, every stored tree node (the domain's ``Frontier``), each
referral's running totals (the domain's ``advance``, as the append path computes them),
and a checkpoint signed by the service's own ``Checkpointer``. Then it times, in the
process, the code behind each route: ``/indicators?group_by=pair`` grouped by the database
on the running totals (every month read; whole months kept from a read before, as the
audit keeps them, also when the latest month changed since; after a change of targets), folded in Python from
the totals and from every event (the reference ``indicators check`` recomputes), the
inclusion proof (``GET /proofs/inclusion``'s handler on the SQL reads) and filtered pages
of ``GET /trail``. Then it starts the network on that trail as ``crocevia up`` does (the
audit its own uvicorn process, with the checkpoint's key; one agency's node), waits until
the audit has nothing left to do at start, and times the same routes over HTTP as an
outside client asks them, beside a route that reads nothing (``GET /healthz``). Results go
to ``bench/results/audit_scale.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey
from sqlalchemy import create_engine, func, insert, select, update

from crocevia_audit.adapters.queries import IntegrityQueries
from crocevia_audit.adapters.tables import indicator_months, referral_totals, trail_entries, tree_nodes
from crocevia_audit.adapters.totals import TotalsQueries, count_months, totals_row
from crocevia_audit.adapters.trail_query import TrailFilter, TrailQueries
from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.bootstrap import MIGRATIONS
from crocevia_audit.domain.entries import canonical_json
from crocevia_audit.domain.frontier import Frontier
from crocevia_audit.domain.indicators import TrailEvent
from crocevia_audit.domain.totals import advance
from crocevia_audit.handlers import indicators, proofs
from crocevia_audit.handlers.append import TrailWriter
from crocevia_audit.handlers.checkpoints import Checkpointer
from crocevia_audit.handlers.ports import Cohort
from crocevia_common.db import Database
from crocevia_common.tlog.merkle import leaf_hash
from crocevia_contracts.directory import AgencyEntry, ServiceTarget

from .net.client import Client
from .net.launch import DEFAULT_POSTGRES, running
from .net.procs import cpu_seconds

ORIGIN = "crocevia.bench/trail"
RESULTS = Path(__file__).parent / "results" / "audit_scale.txt"
AGENCIES = ("pioltello-casa", "pioltello-sociali", "cpia2", "csl-lavoro", "prefettura-mediazione")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def directory(counting: dict[str, str]) -> dict[str, AgencyEntry]:
    """cpia2 and csl-lavoro state targets, counted as ``counting`` says for each; the other
    agencies none."""
    return {
        agency: AgencyEntry.model_validate(
            {
                "organization": {"id": agency, "name": agency},
                "services": [
                    {
                        "id": "main-service",
                        "name": "courses",
                        "domain": "education",
                        "response_targets": {
                            "routine": {"receive_within_hours": 24, "decide_within_hours": 120, "counting": how},
                            "urgent": {"receive_within_hours": 4, "decide_within_hours": 24, "counting": how},
                        },
                    }
                ],
            }
        )
        for agency, how in counting.items()
    }


def targets_of(entries: dict[str, AgencyEntry]) -> Callable[[str, str, str], ServiceTarget | None]:
    def target_for(agency: str, service_id: str, priority: str) -> ServiceTarget | None:
        """What the directory view answers: the receiving agency's ``AgencyEntry.target_for``."""
        found = entries.get(agency)
        return None if found is None else found.target_for(service_id, priority)

    return target_for


# As stored with the totals (cpia2 on the clock, csl-lavoro on working days); and after
# cpia2 moved to working days too (its referrals are then counted one at a time).
TARGETS = targets_of(directory({"cpia2": "clock", "csl-lavoro": "working-days"}))
CHANGED = targets_of(directory({"cpia2": "working-days", "csl-lavoro": "working-days"}))


_CHUNK = 20_000


def stories(rows: int, rng: random.Random) -> Iterator[tuple[datetime, int, dict[str, Any]]]:
    """About five entries per referral (requested, received, a decision, sometimes a
    completion and a reminder), as ``(time, referral, columns)``."""
    made, referral = 0, 0
    while made < rows:
        sender = AGENCIES[referral % 5]
        receiver = AGENCIES[(referral + 1 + referral // 5 % 4) % 5]
        start = T0 + timedelta(minutes=referral * 2)
        steps = [("requested", 0.0), ("received", rng.uniform(1, 48))]
        steps.append(("accepted" if rng.random() < 0.8 else "rejected", rng.uniform(48, 200)))
        if steps[-1][0] == "accepted" and rng.random() < 0.6:
            steps.append(("completed", rng.uniform(200, 2000)))
        if rng.random() < 0.3:
            steps.append(("reminder", 30.0))
        for name, hours in steps[: rows - made]:
            at = start + timedelta(hours=hours)
            columns = {
                "event": name,
                "referral_id": f"bench-{referral:08d}",
                "sender_agency": sender,
                "receiver_agency": receiver,
                "service_id": "main-service",
                "domain": None if name == "reminder" else "education",
                "priority": "urgent" if referral % 7 == 0 else "routine",
                "reason_code": "no-capacity" if name == "rejected" else None,
                "outcome": "enrolled" if name == "completed" else None,
                "occurred_at": at,
            }
            yield at, referral, columns
            made += 1
        referral += 1


def fill(path: Path, rows: int) -> int:
    """The synthetic trail, its tree nodes and running totals; returns how many referrals."""
    rng = random.Random(7)
    ordered = sorted(stories(rows, rng), key=lambda story: (story[0], story[1]))
    engine = create_engine(f"sqlite:///{path}")
    frontier, totals = Frontier(), {}
    sequences: dict[str, int] = {}
    with engine.begin() as connection:
        for start in range(0, len(ordered), _CHUNK):
            entries, nodes, events = [], [], []
            for position in range(start, min(start + _CHUNK, len(ordered))):
                at, _, columns = ordered[position]
                notice = columns["event"] == "reminder"
                publisher = "notifications" if notice else columns["sender_agency"]
                sequences[publisher] = sequences.get(publisher, 0) + 1
                row = {
                    **columns,
                    "position": position,
                    "event_id": f"{position:08d}-0000-4000-8000-000000000000",
                    "type": f"org.crocevia.{'notice' if notice else 'referral'}.{columns['event']}.v1",
                    "source": f"/agencies/{publisher}",
                    "sequence": sequences[publisher],
                    "from_agency": publisher,
                    "to_agency": columns["receiver_agency"],
                    "time": at,
                    "stream_sequence": position + 1,
                    "recorded_at": at,
                }
                body = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
                row["entry"] = canonical_json({"event": body, "index": position, "nats_subject": "referral.v1.bench"})
                row["leaf_hash"] = leaf_hash(row["entry"])
                nodes += frontier.append(row["leaf_hash"])
                entries.append(row)
                events.append(TrailEvent(*(columns[name] for name in TrailEvent.__slots__)))
            connection.execute(insert(trail_entries), entries)
            connection.execute(
                insert(tree_nodes), [{"level": n.level, "index": n.index, "digest": n.digest} for n in nodes]
            )
            totals.update(advance(totals, events))
        rows_of_totals = [
            totals_row(t, t.held_to(TARGETS(t.receiver_agency, t.service_id, t.priority))) for t in totals.values()
        ]
        for start in range(0, len(rows_of_totals), _CHUNK):
            connection.execute(insert(referral_totals), rows_of_totals[start : start + _CHUNK])
        count_months(connection)
    engine.dispose()
    return len(totals)


async def timed(step: Callable[[], Awaitable[Any]], times: int) -> tuple[list[float], list[float]]:
    """Milliseconds each of ``times`` runs of ``step`` took: on the clock, and of this
    process's CPU (the machine may be shared: the clock then counts others' work too)."""
    wall, cpu = [], []
    for _ in range(times):
        began, began_cpu = time.perf_counter(), time.process_time()
        await step()
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return wall, cpu


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * 0.95 + 0.5) - 1, 0)]


def line(step: str, spent: tuple[list[float], list[float]]) -> str:
    wall, cpu = spent
    figures = (statistics.median(wall), p95(wall), statistics.median(cpu), p95(cpu))
    return f"{step:<64}{len(wall):>6}" + "".join(f"{figure:>11.1f}" for figure in figures)


async def measure(db: Database, rows: int, referrals: int, rng: random.Random) -> list[str]:
    as_of = T0 + timedelta(days=400)

    kept_months = indicators.MonthCells()  # as the audit keeps them between requests

    async def by_the_database(
        since: datetime | None = None,
        until: datetime | None = None,
        party: str | None = None,
        targets: Any = TARGETS,
        months: indicators.MonthCells | None = None,  # none: every month read
    ) -> list[dict[str, Any]]:
        cohort = Cohort(since, until, party)
        async with TotalsQueries.reading(db) as reads:  # as the route reads: one snapshot
            return await indicators.grouped(
                reads, dimensions=["pair"], targets=targets, as_of=as_of, cohort=cohort, months=months
            )

    async def months_kept() -> list[dict[str, Any]]:
        return await by_the_database(months=kept_months)

    async def latest_month_changed() -> list[dict[str, Any]]:
        async with db.transaction() as session:  # as an append of an entry about a referral requested then
            latest = select(func.max(indicator_months.c.month)).scalar_subquery()
            changed = update(indicator_months).where(indicator_months.c.month == latest)
            await session.execute(changed.values(generation=indicator_months.c.generation + 1))
        return await months_kept()

    async def from_totals() -> list[dict[str, Any]]:
        totals = TotalsQueries(db).cohort(None, None, None)
        return await indicators.from_totals(totals, dimensions=["pair"], targets=TARGETS, as_of=as_of)

    async def from_events(targets: Any = TARGETS) -> list[dict[str, Any]]:
        events = TrailQueries(db).indicator_events(None, None, None)
        return await indicators.compute(events, dimensions=["pair"], targets=targets, as_of=as_of)

    async def january_of_one_agency() -> list[dict[str, Any]]:
        return await by_the_database(T0, T0 + timedelta(days=31), "cpia2", months=kept_months)

    async def after_a_change() -> list[dict[str, Any]]:
        return await by_the_database(targets=CHANGED)

    grouped, kept, folded = await by_the_database(), await from_totals(), await from_events()
    assert grouped == folded, "the indicators grouped by the database disagree with the fold"
    assert await months_kept() == await months_kept() == await latest_month_changed() == folded
    assert kept == folded, "the running totals disagree with the fold"
    assert await after_a_change() == await from_events(CHANGED), "after a change of targets: not the fold"
    assert sum(g["requested"] for g in kept) > 0
    heads = ("median", "p95", "cpu median", "cpu p95")
    report = [f"{'step (milliseconds)':<64}{'runs':>6}" + "".join(f"{head:>11}" for head in heads)]
    report.append(
        line(
            f"indicators group_by=pair, grouped by the database ({referrals} referrals)",
            await timed(by_the_database, 5),
        )
    )
    for name, step in (
        ("every whole month kept", months_kept),
        ("kept but the latest month changed", latest_month_changed),
        ("January, one agency's view, kept", january_of_one_agency),
    ):
        report.append(line(f"indicators group_by=pair, {name}", await timed(step, 5)))
    report.append(line("indicators group_by=pair, cpia2's targets changed since", await timed(after_a_change, 3)))
    report.append(line("indicators group_by=pair, running totals folded in Python", await timed(from_totals, 1)))
    report.append(line(f"indicators group_by=pair, fold of every event ({rows} entries)", await timed(from_events, 1)))

    ids = [f"{rng.randrange(rows):08d}-0000-4000-8000-000000000000" for _ in range(300)]
    found = iter(ids)

    async def inclusion() -> dict[str, Any]:  # as the route reads: one session for the proof's reads
        async with IntegrityQueries.reading(db) as reads:
            return await proofs.inclusion(reads, next(found), None, None)

    report.append(
        line("inclusion proof (handler of GET /proofs/inclusion), random entries", await timed(inclusion, 300))
    )
    trail = TrailQueries(db)
    referral_ids = [f"bench-{rng.randrange(referrals):08d}" for _ in range(100)]
    filters = {
        "trail page of 50, referral_id=": lambda i: TrailFilter(referral_id=referral_ids[i]),
        "trail page of 50, from=, to= (a pair)": lambda i: TrailFilter(sender=AGENCIES[i % 5], receiver="cpia2"),
        "trail page of 50, agency=, event=rejected": lambda i: TrailFilter(
            agency=AGENCIES[i % 5], events=("rejected",)
        ),
        "trail page of 50, one agency's view, since= (a week)": lambda i: TrailFilter(
            party=AGENCIES[i % 5], since=T0 + timedelta(days=i), until=T0 + timedelta(days=i + 7)
        ),
        "trail page of 50, domain=, priority=urgent": lambda i: TrailFilter(domain="education", priority="urgent"),
    }
    for name, make in filters.items():
        turn = iter(range(100))

        async def page(make: Callable[[int], TrailFilter] = make, turn: Iterator[int] = turn) -> Any:
            return await trail.page(make(next(turn)), limit=50, newest_first=True, cursor=None)

        report.append(line(name, await timed(page, 100)))
    return report


SIGNING_SEED = b"b" * 32


async def settled(pid: int, timeout: float = 600.0) -> float:
    """Seconds until process ``pid`` used under 2% of a core in each of two consecutive
    seconds (the audit's start-up work on a large trail, e.g. restating due times, done)."""
    began = time.monotonic()
    quiet = 0
    while quiet < 2:
        if time.monotonic() - began > timeout:
            raise RuntimeError(f"the audit was still busy after {timeout:.0f} s")
        before = cpu_seconds(pid)
        await asyncio.sleep(1.0)
        quiet = quiet + 1 if cpu_seconds(pid) - before < 0.02 else 0
    return time.monotonic() - began


async def over_http(urls: dict[str, Any], key_file: Path, pid: int, rows: int, referrals: int) -> list[str]:
    """The routes timed in process, asked of the running audit over HTTP."""
    waited = await settled(pid)
    client = Client(urls, key_file)
    auditor = client.auditor()
    rng = random.Random(17)

    async def get(route: str, params: dict[str, Any] | None = None, headers: Any = auditor) -> Any:
        answer = await client.http.get(f"{client.audit}{route}", params=params, headers=headers)
        answer.raise_for_status()
        return answer

    async def clocked(route: str, params: Callable[[], dict[str, Any]], times: int, headers: Any = auditor) -> str:
        spent = []
        for _ in range(times):
            began = time.perf_counter()
            await get(route, params(), headers)
            spent.append((time.perf_counter() - began) * 1000)
        figures = (statistics.median(spent), p95(spent), max(spent))
        return f"{len(spent):>6}" + "".join(f"{figure:>11.1f}" for figure in figures)

    size = rows  # the checkpoint signed after the fill covers every entry
    answer = await get("/proofs/inclusion", {"event_id": f"{0:08d}-0000-4000-8000-000000000000", "tree_size": size})
    assert answer.json()["tree_size"] == size, answer.text[:300]

    def proof() -> dict[str, Any]:
        return {"event_id": f"{rng.randrange(rows):08d}-0000-4000-8000-000000000000", "tree_size": size}

    ids = [f"bench-{rng.randrange(referrals):08d}" for _ in range(100)]
    asked: dict[str, tuple[str, Callable[[], dict[str, Any]], int]] = {
        "GET /healthz (reads nothing, checks no token)": ("/healthz", dict, 300),
        "GET /proofs/inclusion, random entries": ("/proofs/inclusion", proof, 300),
        "GET /trail?referral_id=&limit=50": ("/trail", lambda: {"referral_id": rng.choice(ids), "limit": 50}, 100),
        "GET /trail?from=&to=&limit=50 (a pair)": (
            "/trail",
            lambda: {"from": rng.choice(AGENCIES), "to": "cpia2", "limit": 50},
            100,
        ),
        "GET /trail?agency=&event=rejected&limit=50": (
            "/trail",
            lambda: {"agency": rng.choice(AGENCIES), "event": "rejected", "limit": 50},
            100,
        ),
        # The first read of each month, the slowest; the months are kept for the rest.
        "GET /indicators?group_by=pair": ("/indicators", lambda: {"group_by": "pair"}, 5),
    }
    heads = ("median", "p95", "max")
    report = [
        "",
        f"Over HTTP: the audit started by `crocevia up` on this trail (settled {waited:.0f} s after it was ready),",
        "from the request sent to the whole answer read, by a client on the same machine.",
        "",
        f"{'request (milliseconds)':<64}{'runs':>6}" + "".join(f"{head:>11}" for head in heads),
    ]
    for name, (route, params, times) in asked.items():
        report.append(f"{name:<64}" + await clocked(route, params, times, {} if route == "/healthz" else auditor))
    await client.close()
    return report


async def run(rows: int, workdir: Path) -> tuple[list[str], int]:
    data = workdir / "data"
    data.mkdir(mode=0o700)
    path = data / "audit.db"  # where `crocevia up` keeps the audit's database
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.migrate(MIGRATIONS)
    began = time.perf_counter()
    referrals = await asyncio.to_thread(fill, path, rows)
    filled = time.perf_counter() - began
    writer = TrailWriter(unit_of_work(db))
    signer = Checkpointer(writer.uow, writer, SigningKey(SIGNING_SEED), ORIGIN, every_entries=1, every_seconds=60)
    assert (await signer.sign_if_due(on_time=True)) is not None
    report = [
        f"synthetic trail of {rows} entries, {referrals} referrals, written in {filled:.0f} s;"
        f" database file {path.stat().st_size / 2**20:.0f} MiB",
        "",
        *await measure(db, rows, referrals, random.Random(11)),
    ]
    await db.dispose()
    return report, referrals


def run_over_http(rows: int, referrals: int, workdir: Path) -> list[str]:
    """The network started on the trail ``run`` wrote in ``workdir``; the routes timed."""
    audit = {
        "CROCEVIA_AUDIT_SIGNING_KEY": base64.b64encode(SIGNING_SEED).decode(),
        "CROCEVIA_ORIGIN": ORIGIN,
        "CROCEVIA_WITNESSES": "[]",  # the development witness knows the log of `crocevia up`, not this one
    }
    with running("sqlite", workdir, ["cpia2"], DEFAULT_POSTGRES, lambda _: None, own={"audit": audit}) as net:
        return asyncio.run(over_http(net.urls, net.key_file, net.network.pids()["audit"], rows, referrals))


def main(argv: list[str]) -> None:
    """``python -m bench audit_scale [--rows N] [--output PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m bench audit_scale", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crocevia-bench-") as tmp:
        lines, referrals = asyncio.run(run(args.rows, Path(tmp)))
        lines += run_over_http(args.rows, referrals, Path(tmp))
    machine = f"python {platform.python_version()} on {platform.machine()} {platform.system()}, {os.cpu_count()} cores"
    text = "\n".join([f"Audit reads at scale, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({machine}; SQLite)", "", *lines])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
