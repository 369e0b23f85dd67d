"""Revision 0010 fills the folded names of the person of each referral already stored (what
the look-up before sending compares), on SQLite and PostgreSQL, a thousand at a time; an
erased referral has none."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select, text

import crocevia_referrals.adapters.tables as tables
from crocevia_common.db import Database
from crocevia_referrals.bootstrap import MIGRATIONS
from crocevia_referrals.domain.caseload import person_key_start
from crocevia_referrals.domain.personal import Person
from tests.kit.migrations import upgrade_to

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
AMINA = {"given_name": " Amìna ", "family_name": "KHALIL  Ben", "birth_date": "1990-02-03"}


async def test_the_names_of_the_people_of_referrals_already_held_are_filled(database_url: str) -> None:
    stored = {"held": json.dumps({"person": AMINA, "reason": "course"}), "erased": None, "erased-json-null": "null"}
    many = {f"many-{i:04d}": {**AMINA, "given_name": f"Ada{i}"} for i in range(1200)}  # more than one chunk
    stored |= {rid: json.dumps({"person": person}) for rid, person in many.items()}
    db = Database(database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(upgrade_to, MIGRATIONS, "0009")
            await conn.execute(
                text(
                    "INSERT INTO referrals (id, direction, sender_agency, receiver_agency, service_id, priority,"
                    " status, legal_basis, personal, our_step, their_step, created_at, updated_at) VALUES (:id,"
                    " 'outgoing', 'pioltello-casa', 'cpia2', 'main-service', 'routine', 'requested', '{}',"
                    " :personal, 1, 0, :at, :at)"
                ),
                [{"id": rid, "personal": personal, "at": T0} for rid, personal in stored.items()],
            )
        await db.migrate(MIGRATIONS)
        async with db.engine.connect() as conn:
            r = tables.referrals.c
            rows = dict((await conn.execute(select(r.id, r.person_names))).all())
    finally:
        await db.dispose()
    expected = {rid: person_key_start(Person(**person)) for rid, person in many.items()}
    expected |= {"held": person_key_start(Person(**AMINA)), "erased": None, "erased-json-null": None}
    assert rows == expected
    assert rows["held"] == "amina | khalil ben" and rows["many-1199"] == "ada1199 | khalil ben"
