"""How fast referrals cross the network: N referrals sent by one node to another over a real
NATS server, each on SQLite, until every one is ``received`` back at the sender; and the SQL
statements both nodes sent meanwhile, per referral, by kind (counts do not vary with the
machine's load).

Run with ``make bench BENCH=referrals_flow`` (or ``uv run python -m bench referrals_flow``);
each run adds its section to ``bench/results/referrals_flow.txt``.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench import add_section
from bench.notifications_statements import statement_kind
from crocevia_referrals.bootstrap import create_app
from crocevia_referrals.settings import ReferralsSettings
from tests.kit.nats import NatsProcess
from tests.kit.services import Tokens, agency_file, serve

BODY = {
    "to_agency": "cpia2",
    "service_id": "main-service",
    "priority": "routine",
    "reason": "Italian course A1",
    "legal_basis": {"basis": "public-task"},
    "person": {"given_name": "Amina", "family_name": "K.", "languages": ["ar", "fr"]},
}


@dataclass(frozen=True)
class Flow:
    """What one run measured: the times, in seconds, and the statements by kind."""

    count: int
    concurrency: int
    answered_in: float
    total: float
    round_trips: list[float]  # sent -> received at the sender, ascending
    statements: Counter[str]
    poll_seconds: float
    collections: dict[int, list[float]]  # the cyclic collector's meanwhile, by generation, in seconds
    cpu: float  # seconds of this process's CPU meanwhile

    def per_referral(self) -> float:
        return sum(self.statements.values()) / self.count

    def report(self) -> str:
        count, loop = self.count, self.round_trips
        return (
            "both nodes, their consumers and relays run in this one process, on one core\n"
            f"referrals: {count}, concurrent requests: {self.concurrency}\n"
            f"POST /referrals, all answered in: {self.answered_in:.2f} s ({count / self.answered_in:.0f}/s)\n"
            f"until every one was received back at the sender: {self.total:.2f} s ({count / self.total:.0f}/s)\n"
            f"round trip (sent -> received at sender, polled every {self.poll_seconds * 1000:.0f} ms): "
            f"median {statistics.median(loop) * 1000:.0f}"
            f" ms, p90 {loop[int(len(loop) * 0.9) - 1] * 1000:.0f} ms, max {loop[-1] * 1000:.0f} ms\n"
            f"CPU of this process meanwhile (both nodes, this bench's requests and polling): "
            f"{self.cpu / count * 1000:.2f} ms per referral\n"
            + "".join(
                f"the cyclic collector's {name} collections meanwhile (the event loop stopped): {len(times)}, "
                f"{sum(times) * 1000:.0f} ms in all, longest {max(times, default=0) * 1000:.1f} ms\n"
                for name, times in (
                    ("young", self.collections[0] + self.collections[1]),
                    ("full", self.collections[2]),
                )
            )
            + f"SQL statements per referral, both nodes, until received back (the sender's polling included): "
            f"{self.per_referral():.1f}\n"
            + "".join(f"  {kind}: {n / count:.2f}\n" for kind, n in self.statements.most_common())
        )


async def measure(count: int, concurrency: int, poll_seconds: float = 0.02) -> Flow:
    """Send ``count`` referrals, ``concurrency`` at a time, and look every ``poll_seconds``
    for them received back at the sender."""
    kinds: Counter[str] = Counter()

    def counted(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        kinds[statement_kind(statement)] += 1

    collections: dict[int, list[float]] = {0: [], 1: [], 2: []}
    began: list[float] = []

    def collected(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began.append(time.perf_counter())
        else:
            collections[info["generation"]].append(time.perf_counter() - began[-1])

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = NatsProcess(workdir=root / "nats").start()
        tokens = Tokens(root / "key")
        try:

            def node(agency: str):
                return serve(
                    create_app(
                        ReferralsSettings(
                            agency_id=agency,
                            agency_file=agency_file(root / "agencies", agency),
                            nats_url=server.url,
                            database_url=f"sqlite+aiosqlite:///{root / f'{agency}.db'}",
                            auth_dev_key_file=tokens.key_file,
                            outbox_poll_seconds=0.05,
                        )
                    )
                )

            async with node("pioltello-casa") as casa, node("cpia2"):
                headers = tokens.bearer("pioltello-casa")
                sent: dict[str, float] = {}
                gate = asyncio.Semaphore(concurrency)

                people = itertools.count()

                async def send() -> None:
                    async with gate:
                        # A person of their own: the node looks for the same person's open referrals.
                        person = {**BODY["person"], "family_name": f"K. {next(people)}"}  # type: ignore[dict-item]
                        r = await casa.post("/referrals", json={**BODY, "person": person}, headers=headers)
                        sent[r.json()["id"]] = time.perf_counter()

                event.listen(Engine, "before_cursor_execute", counted)
                gc.callbacks.append(collected)
                start, cpu = time.perf_counter(), time.process_time()
                await asyncio.gather(*(send() for _ in range(count)))
                accepted_in = time.perf_counter() - start
                done: dict[str, float] = {}
                while len(done) < count:
                    page = (await casa.get("/referrals?status=received&limit=200", headers=headers)).json()
                    cursor = page["next_cursor"]
                    items = page["items"]
                    while cursor:
                        more = (
                            await casa.get(f"/referrals?status=received&limit=200&cursor={cursor}", headers=headers)
                        ).json()
                        items += more["items"]
                        cursor = more["next_cursor"]
                    now = time.perf_counter()
                    for item in items:
                        done.setdefault(item["id"], now)
                    await asyncio.sleep(poll_seconds)
                total, cpu = time.perf_counter() - start, time.process_time() - cpu
                event.remove(Engine, "before_cursor_execute", counted)
                gc.callbacks.remove(collected)
        finally:
            server.stop()
    round_trips = sorted(done[i] - sent[i] for i in sent)
    return Flow(count, concurrency, accepted_in, total, round_trips, kinds, poll_seconds, collections, cpu)


def main(argv: list[str]) -> None:
    count = int(argv[0]) if argv else 300
    report = asyncio.run(measure(count, concurrency=8)).report()
    add_section("referrals_flow", report)
    print(report)


if __name__ == "__main__":
    main(sys.argv[1:])
