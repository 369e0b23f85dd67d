"""The indicators' running totals, kept by the real append path on SQLite and PostgreSQL:
for random trails, the indicators the database groups and counts on them are those the fold
of every event gives (also when the targets changed after the due times were stored, or
none were stored, and after the due times were restated under the changed targets), and
``crocevia-audit indicators check`` names a total that no longer matches the trail."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, and_, delete, event, func, select, update
from sqlalchemy.util import await_only

from crocevia_audit.adapters.tables import referral_totals
from crocevia_audit.adapters.totals import TotalsQueries, rebuild
from crocevia_audit.adapters.trail_query import TrailQueries
from crocevia_audit.adapters.unit_of_work import unit_of_work
from crocevia_audit.bootstrap import MIGRATIONS
from crocevia_audit.domain.indicators import TargetOf, fingerprint
from crocevia_audit.entrypoints import cli
from crocevia_audit.handlers.append import Outcome, TrailWriter
from crocevia_audit.handlers.indicators import (
    MonthCells,
    compute,
    from_totals,
    grouped,
    keep_due_times,
    restate_due_times,
)
from crocevia_audit.handlers.ports import Cohort
from crocevia_common.db import Database
from crocevia_common.messaging.intake import Delivery
from tests.integration.audit.events import T0, Network, checked
from tests.unit.audit.directory import ROUTINE, URGENT, entry, targets_of

TARGETS = targets_of(entry("cpia2", {**ROUTINE, **URGENT}))  # csl-lavoro is not in the directory
# The same directory after cpia2 counted its urgent target in working days and csl-lavoro
# joined with targets of its own.
WORKING_DAYS = {"urgent": {"receive_within_hours": 4, "decide_within_hours": 24, "counting": "working-days"}}
CHANGED = targets_of(
    entry("cpia2", {**ROUTINE, **WORKING_DAYS}),
    entry("csl-lavoro", {"routine": {"receive_within_hours": 48, "decide_within_hours": 96}}),
)
EXTRAS: dict[str, dict[str, Any]] = {
    "rejected": {"reason_code": "no-capacity"},
    "completed": {"outcome": "enrolled"},
    "failed": {"reason_code": "couldnt-contact"},
    "cancelled": {"reason_code": "withdrawn"},
    "personal-data-erased": {"reason": "consent-withdrawn"},
}
LATER = ("received", "accepted", "rejected", "in-progress", "completed", "failed", "cancelled", "consent-withdrawn")
LATER += ("personal-data-erased", "reminder", "escalation")


def random_trail(rng: random.Random, referrals: int) -> list[Delivery]:
    """Referrals' events and notices interleaved as the streams may deliver them: each
    referral requested once (a reminder may come before it), later steps in any order,
    some repeated, at any time."""
    net, stories = Network(), []
    for n in range(referrals):
        referral = f"ref-{n:03d}"
        sender = rng.choice(["pioltello-casa", "pioltello-sociali"])
        receiver = rng.choice(["cpia2", "csl-lavoro"])
        common = {"sender": sender, "receiver": receiver, "priority": rng.choice(["routine", "urgent"])}

        def at() -> datetime:
            return T0 + timedelta(hours=rng.randint(-24 * 40, 24 * 40))

        story = [net.notice("reminder", referral, at=at(), **common)] if rng.random() < 0.2 else []
        story.append(net.event("requested", referral, at=at(), **common))
        for name in rng.choices(LATER, k=rng.randint(0, 7)):
            if name in ("reminder", "escalation"):
                story.append(net.notice(name, referral, at=at(), **common))
            else:
                story.append(net.event(name, referral, at=at(), **common, **EXTRAS.get(name, {})))
        stories.append(story)
    order = [i for i, story in enumerate(stories) for _ in story]
    rng.shuffle(order)
    cursors = [iter(story) for story in stories]
    return [next(cursors[i]) for i in order]


async def append_in_batches(
    db: Database, deliveries: list[Delivery], rng: random.Random, targets: TargetOf | None = None
) -> None:
    writer = TrailWriter(unit_of_work(db), targets)
    start = 0
    while start < len(deliveries):
        size = rng.randint(1, 40)
        results = await writer.append(checked(deliveries[start : start + size]))
        assert {r.outcome for r in results} == {Outcome.APPENDED}
        start += size


@pytest.mark.parametrize(
    ("seed", "stored_under", "read_under"),
    [(1, TARGETS, TARGETS), (2, TARGETS, TARGETS), (5, None, TARGETS), (6, TARGETS, CHANGED)],
)
async def test_indicators_from_running_totals_equal_the_fold_of_every_event(trail_db, seed, stored_under, read_under):
    rng = random.Random(seed)
    await append_in_batches(trail_db, random_trail(rng, 60), rng, stored_under)
    march, april = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    asked = [
        {"dimensions": ["pair"]},
        {"dimensions": ["pair", "service", "domain", "month"]},
        {"dimensions": ["month"], "since": march, "until": april},
        {"dimensions": ["service"], "since": april},
        {"dimensions": [], "until": march, "party": "csl-lavoro"},
        {"dimensions": ["pair"], "party": "pioltello-sociali"},
    ]
    missed = 0
    for options in asked:
        since, until, party = options.get("since"), options.get("until"), options.get("party")
        for as_of in (T0, T0 + timedelta(days=60)):
            common = {"dimensions": options["dimensions"], "targets": read_under, "as_of": as_of}
            folded = await compute(
                TrailQueries(trail_db).indicator_events(since, until, party), since=since, until=until, **common
            )
            kept = await from_totals(
                TotalsQueries(trail_db).cohort(since, until, party), since=since, until=until, **common
            )
            grouped_by_sql = await grouped(TotalsQueries(trail_db), cohort=Cohort(since, until, party), **common)
            assert kept == folded, options
            assert grouped_by_sql == folded, options
            assert sum(row["requested"] for row in folded) > 0, options
            missed += sum(
                row["targets_missed"]["receive"] + row["targets_missed"]["accept_or_reject"] for row in folded
            )
    assert missed > 0  # the due times were compared
    # Counted by the stored due times where they were stored under the target read now.
    held_by = ("cpia2", "main-service", "urgent")
    now = fingerprint(read_under(*held_by))
    counted_again = await TotalsQueries(trail_db).unheld(["sender_agency"], Cohort(), held_by, now)
    assert (len(counted_again) == 0) == (stored_under is read_under)


async def test_the_check_names_a_changed_total_and_exits_with_1(trail_db, database_url, capsys):
    rng = random.Random(3)
    await append_in_batches(trail_db, random_trail(rng, 12), rng)
    assert await asyncio.to_thread(cli.main, ["indicators", "check", "--database-url", database_url]) == 0
    assert "the running totals of 12 referrals match the trail" in capsys.readouterr().out

    async with trail_db.transaction() as session:
        changed = referral_totals.c.referral_id == "ref-004"
        await session.execute(update(referral_totals).where(changed).values(reminders=referral_totals.c.reminders + 1))
        await session.execute(delete(referral_totals).where(referral_totals.c.referral_id == "ref-007"))
        measured = and_(referral_totals.c.requested_month.is_not(None), referral_totals.c.referral_id != "ref-004")
        first = (await session.execute(select(referral_totals.c.referral_id).where(measured).limit(1))).scalar_one()
        await session.execute(
            update(referral_totals).where(referral_totals.c.referral_id == first).values(requested_month="1999-01")
        )
    assert await asyncio.to_thread(cli.main, ["indicators", "check", "--database-url", database_url]) == 1
    said = capsys.readouterr().err
    assert "the running totals of 3 referrals disagree with the trail" in said
    assert "referral ref-004: reminders" in said
    assert "referral ref-007: missing" in said
    assert f"referral {first}: requested_month" in said
    assert "months with referrals but no generation in indicator_months: 1999-01" in said


async def test_the_totals_are_rebuilt_from_the_trail_alone(trail_db, database_url):
    rng = random.Random(4)
    await append_in_batches(trail_db, random_trail(rng, 30), rng)
    before = [t async for t in TotalsQueries(trail_db).cohort(None, None, None)]
    async with trail_db.transaction() as session:
        await session.execute(update(referral_totals).values(reminders=99))
        rebuilt = await session.run_sync(rebuild)
    assert rebuilt == 30
    after = [t async for t in TotalsQueries(trail_db).cohort(None, None, None)]
    assert sorted(after, key=lambda t: t.referral_id) == sorted(before, key=lambda t: t.referral_id)
    async with trail_db.connect() as session:
        assert (await session.execute(select(func.count()).select_from(referral_totals))).scalar_one() == 30
    assert await cli.check_indicators(database_url) == cli.Finding(
        True, "the running totals of 30 referrals match the trail"
    )


async def test_revision_0007_fills_the_measures_of_a_trail_already_stored(trail_db, database_url):
    rng = random.Random(8)
    await append_in_batches(trail_db, random_trail(rng, 20), rng, TARGETS)
    before = (await TotalsQueries(trail_db).stored())[0]

    def down_and_up(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
        command.upgrade(config, "head")

    async with trail_db.engine.begin() as connection:
        await connection.run_sync(down_and_up)
    after, measured = await TotalsQueries(trail_db).stored()
    assert after == before and measured == []
    async with trail_db.connect() as session:
        months = select(func.count()).where(referral_totals.c.requested_month.is_not(None))
        assert (await session.execute(months)).scalar_one() == sum(t.steps[0] is not None for t in after.values()) > 0
        held = select(func.count()).where(referral_totals.c.held_to.is_not(None))
        assert (await session.execute(held)).scalar_one() == 0  # no directory in a migration
    # Revision 0008 gave each month its generation.
    requested_in = {t.measures().requested_month for t in after.values()} - {None}
    assert set(await TotalsQueries(trail_db).generations()) == requested_in
    assert await cli.check_indicators(database_url) == cli.Finding(
        True, "the running totals of 20 referrals match the trail"
    )
    # Counted against the directory when read, they give what the fold gives.
    common = {"dimensions": ["pair"], "targets": TARGETS, "as_of": T0 + timedelta(days=60)}
    folded = await compute(TrailQueries(trail_db).indicator_events(None, None, None), **common)
    assert await grouped(TotalsQueries(trail_db), cohort=Cohort(), **common) == folded


@pytest.mark.parametrize("stored_under", [None, TARGETS])
async def test_due_times_are_restated_under_the_directorys_targets(trail_db, stored_under):
    rng = random.Random(9)
    await append_in_batches(trail_db, random_trail(rng, 60), rng, stored_under)
    reads, uow = TotalsQueries(trail_db), unit_of_work(trail_db)
    held_by = ("cpia2", "main-service", "urgent")
    now = fingerprint(CHANGED(*held_by))
    stale = len(await reads.unheld(["sender_agency"], Cohort(), held_by, now))
    assert stale > 0

    restated = await restate_due_times(reads, uow, CHANGED, page=7)  # several pages
    # Every requested referral whose target changed or was not known, cpia2's and
    # csl-lavoro's; held to none, pioltello's are left.
    requested = [t for t in (await reads.stored())[0].values() if t.steps[0] is not None]
    changed = {"routine": stored_under is None, "urgent": True}
    assert restated == sum(
        t.receiver_agency == "csl-lavoro" or changed[t.priority]
        for t in requested
        if t.receiver_agency in ("cpia2", "csl-lavoro")
    )
    assert await reads.unheld(["sender_agency"], Cohort(), held_by, now) == []
    assert await restate_due_times(reads, uow, CHANGED) == 0  # nothing left to restate

    common = {"dimensions": ["pair", "month"], "targets": CHANGED, "as_of": T0 + timedelta(days=60)}
    folded = await compute(TrailQueries(trail_db).indicator_events(None, None, None), **common)
    assert await grouped(reads, cohort=Cohort(), **common) == folded


class CountingReads(TotalsQueries):
    """The real reads, noting the spans whose cells were read."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.read: list[tuple[datetime | None, datetime | None]] = []
        self.more = asyncio.Condition()

    async def cells(self, since: datetime | None, until: datetime | None) -> list[Any]:
        found = await super().cells(since, until)
        async with self.more:  # once read: the caller keeps them before it next awaits
            self.read.append((since, until))
            self.more.notify_all()
        return found


def month(year: int, number: int) -> tuple[datetime, datetime]:
    start = datetime(year, number, 1, tzinfo=UTC)
    return start, (start + timedelta(days=32)).replace(day=1)


async def test_a_months_cells_are_kept_until_a_referral_requested_in_it_changes(trail_db):
    """Whole months are read once and kept; an entry about a referral raises only its
    month's generation, and a restatement of due times the months of the referrals
    restated. Each answer is the fold of every event."""
    net, writer, reads = Network(), TrailWriter(unit_of_work(trail_db), TARGETS), CountingReads(trail_db)
    february, march, april = datetime(2026, 2, 10, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC), T0 + timedelta(35)
    urgent = {"receiver": "cpia2", "priority": "urgent"}
    first = [
        net.event("requested", "feb", at=february, **urgent),
        net.event("requested", "mar", at=march, **urgent),
        net.event("received", "mar", at=march + timedelta(hours=30), **urgent),
        net.event("requested", "apr", at=april, receiver="csl-lavoro"),
    ]
    months = MonthCells()

    async def asked(targets: TargetOf = TARGETS, **cohort: Any) -> None:
        common = {"dimensions": ["pair", "month"], "targets": targets, "as_of": T0 + timedelta(days=60)}
        since, until = cohort.get("since"), cohort.get("until")
        folded = await compute(TrailQueries(trail_db).indicator_events(since, until, None), **common)
        assert folded and await grouped(reads, cohort=Cohort(since, until), months=months, **common) == folded

    await writer.append(checked(first))
    await asked()
    assert sorted(reads.read) == [month(2026, 2), month(2026, 3), month(2026, 4)]
    reads.read.clear()
    await asked()
    await asked(since=datetime(2026, 3, 1, tzinfo=UTC))
    assert reads.read == []  # nothing changed: every month kept

    await writer.append(checked([net.event("accepted", "mar", at=march + timedelta(days=3), **urgent)]))
    await asked()
    assert reads.read == [month(2026, 3)]
    reads.read.clear()
    await asked(since=march, until=april)  # no whole month in that span: it is read each time
    await asked(since=march, until=april)
    assert reads.read == [(march, april)] * 2
    reads.read.clear()

    # cpia2's urgent target changed: counted against it until restated, then by the due
    # times restated in February and March, the months read again.
    await asked(CHANGED)
    assert reads.read == []
    assert await restate_due_times(reads, unit_of_work(trail_db), CHANGED) == 3  # the two urgent ones, and April's
    await asked(CHANGED)
    assert sorted(reads.read) == [month(2026, 2), month(2026, 3), month(2026, 4)]


async def test_the_audit_reads_every_months_cells_after_restating_due_times(trail_db):
    rng = random.Random(12)
    await append_in_batches(trail_db, random_trail(rng, 40), rng, TARGETS)
    reads, months, changed = CountingReads(trail_db), MonthCells(), asyncio.Event()
    kept = asyncio.create_task(keep_due_times(reads, unit_of_work(trail_db), CHANGED, changed, 3600, months))
    try:
        changed.set()  # as when the directory is first read
        every_month = len(await reads.generations())
        async with asyncio.timeout(30), reads.more:
            await reads.more.wait_for(lambda: len(reads.read) >= every_month)
        assert reads.read and all(since is not None and until is not None for since, until in reads.read)
        reads.read.clear()
        common = {"dimensions": ["pair", "month"], "targets": CHANGED, "as_of": T0 + timedelta(days=60)}
        folded = await compute(TrailQueries(trail_db).indicator_events(None, None, None), **common)
        assert await grouped(reads, cohort=Cohort(), months=months, **common) == folded
        assert reads.read == []  # every month was kept, under the due times restated
    finally:
        kept.cancel()


async def test_a_months_cells_are_read_as_of_one_moment_while_referrals_are_appended(trail_db):
    """A month's cells are read in two statements (the counts, then the due times still
    open); a referral appended between them, in a cell of its own, is in neither read, as
    when the due-times keeper reads every month while the audit appends."""
    net, writer = Network(), TrailWriter(unit_of_work(trail_db), TARGETS)
    march = datetime(2026, 3, 10, tzinfo=UTC)
    urgent = {"receiver": "cpia2", "priority": "urgent"}
    await writer.append(checked([net.event("requested", "first", at=march, **urgent)]))
    late = net.event("requested", "late", at=march, sender="pioltello-sociali", **urgent)
    armed, appended = [True], list[int]()

    def between(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # Before the read of the due times still open: the other cell's referral appended
        # and committed, by the trail writer on a connection of its own.
        if armed and "decide_due" in statement and "GROUP BY" not in statement.upper():
            armed.clear()
            appended.append(len(await_only(writer.append(checked([late])))))

    event.listen(trail_db.engine.sync_engine, "before_cursor_execute", between)
    try:
        cells = await TotalsQueries(trail_db).cells(*month(2026, 3))
    finally:
        event.remove(trail_db.engine.sync_engine, "before_cursor_execute", between)
    assert appended == [1]
    assert [(cell.field("sender_agency"), cell.counts["requested"], len(cell.receive_due)) for cell in cells] == [
        ("pioltello-casa", 1, 1)
    ]
    after = await TotalsQueries(trail_db).cells(*month(2026, 3))
    assert sorted((cell.field("sender_agency"), cell.counts["requested"]) for cell in after) == [
        ("pioltello-casa", 1),
        ("pioltello-sociali", 1),
    ]
