"""A party's own key pairs, kept in its database (a file the service alone may read): made
on first start, rotated on request, each new generation endorsed by the one before."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from crocevia_common.db import Database
from crocevia_common.messaging.tables import MessagingTables
from crocevia_contracts.directory import KeyEndorsement
from crocevia_contracts.sealing import PartyKeys
from crocevia_contracts.trust import endorse


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def load_keys(db: Database, tables: MessagingTables, party: str) -> PartyKeys | None:
    """The party's current keys with its earlier box keys and endorsements, or None."""
    t = tables.own_keys
    async with db.connect() as session:
        rows = (await session.execute(select(t).where(t.c.party == party).order_by(t.c.generation))).all()
    if not rows:
        return None
    *earlier, current = rows
    keys = PartyKeys.from_secrets(base64.b64decode(current.box_secret), base64.b64decode(current.signing_seed))
    return PartyKeys(
        box=keys.box,
        signing=keys.signing,
        earlier_boxes=tuple(
            PartyKeys.from_secrets(base64.b64decode(r.box_secret), base64.b64decode(r.signing_seed)).box
            for r in reversed(earlier)
        ),
        history=tuple(KeyEndorsement.model_validate(r.endorsement) for r in rows if r.endorsement is not None),
    )


async def _store(
    db: Database,
    tables: MessagingTables,
    party: str,
    generation: int,
    keys: PartyKeys,
    endorsement: KeyEndorsement | None,
) -> None:
    async with db.transaction() as session:
        await session.execute(
            insert(tables.own_keys).values(
                party=party,
                generation=generation,
                box_secret=_b64(bytes(keys.box)),
                signing_seed=_b64(bytes(keys.signing)),
                endorsement=endorsement.model_dump(mode="json") if endorsement else None,
                created_at=datetime.now(UTC),
            )
        )


async def load_or_create_keys(db: Database, tables: MessagingTables, party: str) -> PartyKeys:
    """The party's keys; new ones the first time (another replica may make them at once)."""
    found = await load_keys(db, tables, party)
    if found is not None:
        return found
    try:
        await _store(db, tables, party, 1, PartyKeys.generate(), None)
    except IntegrityError:
        pass  # another replica made them first
    made = await load_keys(db, tables, party)
    assert made is not None
    return made


async def rotate_keys(db: Database, tables: MessagingTables, party: str) -> PartyKeys:
    """Make the party's next keys, endorsed by its current signing key; the earlier box keys
    are kept to open what was sealed to them."""
    current = await load_or_create_keys(db, tables, party)
    generation = 1 + len(current.earlier_boxes) + 1
    new = PartyKeys.generate()
    await _store(db, tables, party, generation, new, endorse(current.signing, party, new.public()))
    rotated = await load_keys(db, tables, party)
    assert rotated is not None
    return rotated
