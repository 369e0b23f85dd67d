"""What the notifications service does per referral event it applies, counted rather than
timed: SQL statements sent to the database, and CPU, for events applied in batches in one
transaction each, as its consumer applies them (``together``, reading ahead). Statement counts do not vary
with the machine's load; CPU is indicative.

    uv run python -m bench notifications_statements [--referrals N] [--batch N] [--postgres-url URL]

The use case runs in this process on a fresh SQLite database (and on PostgreSQL when one
answers), with the demo agencies and staff; every referral is requested, received and
accepted between a pair of demo agencies. Each run adds its section to
``bench/results/notifications_statements.txt`` (the revision it ran at, ``+`` when the
checkout had changes).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from bench.net.launch import DEFAULT_POSTGRES, on_each_database
from crocevia_common.db import Database
from crocevia_common.keystore import load_or_create_keys
from crocevia_common.messaging.intake import Delivery, Verified
from crocevia_contracts import EVENT_MODELS, Envelope, EventName, referral_subject
from crocevia_contracts.events import Requested
from crocevia_contracts.lifecycle import PUBLISHERS, Side
from crocevia_notifications.adapters.directory import AgencyDirectory, load_agencies_dir
from crocevia_notifications.adapters.notice_events import PARTY
from crocevia_notifications.adapters.staff_files import load_staff_dir
from crocevia_notifications.adapters.tables import inbox_items, messaging
from crocevia_notifications.adapters.unit_of_work import SqlUnitOfWork
from crocevia_notifications.bootstrap import MIGRATIONS
from crocevia_notifications.handlers.context import Notifier
from crocevia_notifications.handlers.events import apply_in, read_ahead
from crocevia_notifications.handlers.staff import load_staff
from crocevia_notifications.settings import NotificationsSettings

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "deploy" / "demo"
RESULTS = ROOT / "bench" / "results" / "notifications_statements.txt"
STEPS = (EventName.REQUESTED, EventName.RECEIVED, EventName.ACCEPTED)


class NoMail:
    configured = False

    async def send(self, *args: Any) -> None:  # pragma: no cover - never called unconfigured
        raise AssertionError("no e-mail in this benchmark")


class NoHooks:
    async def check(self, url: str) -> None: ...

    async def post(self, *args: Any) -> Any:  # pragma: no cover
        raise AssertionError("no webhook in this benchmark")

    async def close(self) -> None: ...


def events(referrals: int, agencies: dict[str, Any]) -> list[Verified]:
    """``referrals`` referrals over the demo agencies' pairs, each requested, received and
    accepted, in the order a stream would hold them."""
    pairs = [(a, b) for a in sorted(agencies) for b in sorted(agencies) if a != b]
    sequences: dict[str, int] = defaultdict(int)
    made: list[Verified] = []
    now = datetime.now(UTC)
    for number, (sender, receiver) in zip(range(referrals), itertools.cycle(pairs), strict=False):
        service = agencies[receiver].services[0].id
        facts = {
            "referral_id": f"0193a6f0-0000-7000-8000-{number:012d}",
            "sender_agency": sender,
            "receiver_agency": receiver,
            "service_id": service,
            "domain": agencies[receiver].services[0].domain,
            "priority": "routine",
        }
        for step, name in enumerate(STEPS, start=1):
            side = Side.SENDER if Side.SENDER in PUBLISHERS[name] else Side.RECEIVER
            source, target = (sender, receiver) if side is Side.SENDER else (receiver, sender)
            extra = {"legal_basis": {"basis": "consent", "captured_by": "op-1"}} if name is EventName.REQUESTED else {}
            data = EVENT_MODELS[name](**facts, occurred_at=now, step=1 if step < 3 else 2, **extra)
            if isinstance(data, Requested):
                data = data.model_copy(update={"step": 1})
            sequences[source] += 1
            envelope = Envelope.build(source_agency=source, sequence=sequences[source], data=data)
            made.append(
                Verified(Delivery(referral_subject(source, target, name), envelope.to_json()), source, envelope)
            )
    return made


async def measure(url: str, referrals: int, batch: int) -> dict[str, Any]:
    db = Database(url)
    await db.migrate(MIGRATIONS)
    statements = 0
    kinds: Counter[str] = Counter()

    def counted(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        nonlocal statements
        statements += 1
        kinds[statement_kind(statement) + ("" if cursor is None else " (through SQLAlchemy)")] += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", counted)
    try:
        keys = await load_or_create_keys(db, messaging, PARTY)
        agencies = load_agencies_dir(DEMO / "agencies")
        ctx = Notifier(
            settings=NotificationsSettings(database_url=url),
            uow=SqlUnitOfWork(db, keys),
            directory=AgencyDirectory(None, agencies),
            mailer=NoMail(),  # type: ignore[arg-type]
            webhooks=NoHooks(),  # type: ignore[arg-type]
        )
        await load_staff(ctx, load_staff_dir(DEMO / "staff"))
        todo = events(referrals, agencies)
        statements, cpu = 0, time.process_time()
        kinds.clear()
        for start in range(0, len(todo), batch):
            async with ctx.uow.transaction() as tx:
                await read_ahead(tx, todo[start : start + batch])
                for item in todo[start : start + batch]:
                    await apply_in(ctx, tx, item)
        cpu = time.process_time() - cpu
        event.remove(db.engine.sync_engine, "before_cursor_execute", counted)
        async with db.connect() as session:
            items = (await session.execute(select(func.count()).select_from(inbox_items))).scalar_one()
    finally:
        await db.dispose()
    applied = len(todo)
    return {
        "events": applied,
        "statements": statements,
        "per_event": statements / applied,
        "cpu_ms_per_event": cpu * 1000 / applied,
        "inbox_items": items,
        "kinds": {kind: count / applied for kind, count in kinds.most_common()},
    }


def statement_kind(statement: str) -> str:
    """What a statement does, and to which table: ``INSERT inbox_items``, ``SELECT referrals``
    (a SELECT by the table of its first column: its subqueries' FROM may come first)."""
    found = re.match(r"\s*SELECT\s+()\"?(\w+)\"?\.", statement, re.IGNORECASE) or re.search(
        r"\b(INSERT INTO|UPDATE|DELETE FROM|FROM)\s+\"?(\w+)", statement, re.IGNORECASE
    )
    verb = statement.split(None, 1)[0].upper() if statement.strip() else "?"
    return f"{verb} {found.group(2)}" if found else verb


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench notifications_statements")
    parser.add_argument("--referrals", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64, help="events per transaction (the consumer's batch size)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="the server to make a database on")
    args = parser.parse_args(argv)
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, cwd=ROOT
    )
    dirty = "+" if changed.stdout.strip() else ""
    lines = [
        "# Notifications: statements and CPU per applied event (bench/notifications_statements.py)",
        f"# {datetime.now(UTC).isoformat(timespec='seconds')}, at {revision.stdout.strip()}{dirty}, "
        f"{args.referrals} referrals x {len(STEPS)} events, batches of {args.batch}",
        "",
    ]
    with tempfile.TemporaryDirectory() as work:
        measured = on_each_database(
            "notifications",
            Path(work),
            args.postgres_url,
            lambda url: asyncio.run(measure(url, args.referrals, args.batch)),
        )
        for name, found in measured:
            if found is None:
                lines.append(f"{name}: not measured (no server answered)")
                continue
            lines.append(
                f"{name}: {found['events']} events, {found['statements']} statements: "
                f"{found['per_event']:.2f} per event; {found['cpu_ms_per_event']:.2f} ms CPU per event; "
                f"{found['inbox_items']} inbox items"
            )
            lines.append("  per event: " + ", ".join(f"{kind} {n:.2f}" for kind, n in found["kinds"].items()))
    with RESULTS.open("a") as results:  # each run adds its section: earlier ones stay to compare with
        results.write("\n".join(lines) + "\n\n")
    print("\n".join(lines))
