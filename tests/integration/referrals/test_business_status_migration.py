"""Revision 0003 fills the open questions of the referrals already stored, from their
history, on SQLite and PostgreSQL: a question still unanswered waits, an answered one or
one on a closed referral does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

import crocevia_referrals.adapters.tables as tables
from crocevia_common.db import Database
from crocevia_referrals.bootstrap import MIGRATIONS
from tests.kit.migrations import upgrade_to

CASA, CPIA = "pioltello-casa", "cpia2"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def test_questions_already_asked_are_filled_from_the_history(database_url: str) -> None:
    # (referral, status, events as (event, by agency, minutes after T0))
    stored = {
        "asked": ("received", [("info-requested", CPIA, 1)]),
        "asked-twice-answered-once": (
            "accepted",
            [("info-requested", CASA, 1), ("info-requested", CASA, 2), ("info-provided", CPIA, 3)],
        ),
        "answered": ("received", [("info-requested", CPIA, 1), ("info-provided", CASA, 2)]),
        "closed": ("rejected", [("info-requested", CPIA, 1)]),
    }
    db = Database(database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(upgrade_to, MIGRATIONS, "0002")
            for position, (rid, (status, events)) in enumerate(stored.items()):
                await conn.execute(
                    text(
                        "INSERT INTO referrals (id, direction, sender_agency, receiver_agency, service_id, priority,"
                        " status, legal_basis, our_step, their_step, created_at, updated_at) VALUES (:id,"
                        " 'incoming', :casa, :cpia, 'main-service', 'routine', :status, '{}', 0, 0, :at, :at)"
                    ),
                    {"id": rid, "casa": CASA, "cpia": CPIA, "status": status, "at": T0},
                )
                for n, (event, by, minutes) in enumerate(events):
                    await conn.execute(
                        text(
                            "INSERT INTO referral_history (referral_id, event_id, event, by_agency, status, at,"
                            " details) VALUES (:rid, :eid, :event, :by, :status, :at, '{}')"
                        ),
                        {
                            "rid": rid,
                            "eid": f"e-{position}-{n}",
                            "event": event,
                            "by": by,
                            "status": status,
                            "at": T0 + timedelta(minutes=minutes),
                        },
                    )
        await db.migrate(MIGRATIONS)
        async with db.engine.connect() as conn:
            r = tables.referrals.c
            rows = (await conn.execute(select(r.id, r.question_to_sender_at, r.question_to_receiver_at))).all()
    finally:
        await db.dispose()
    assert {row[0]: (row[1], row[2]) for row in rows} == {
        "asked": (T0 + timedelta(minutes=1), None),  # cpia2 asked: pioltello-casa owes the answer
        "asked-twice-answered-once": (None, T0 + timedelta(minutes=2)),
        "answered": (None, None),
        "closed": (None, None),
    }
