"""The audit's Ed25519 checkpoint key: made on first start, kept in its own database."""

from __future__ import annotations

from datetime import UTC, datetime

from nacl.signing import SigningKey
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from crocevia_audit.adapters.tables import signing_keys
from crocevia_common.db import Database


async def load_or_create_signing_key(db: Database, name: str) -> SigningKey:
    """The key named ``name`` (the log's origin); a new one the first time."""
    async with db.sessions() as session:
        seed = (await session.execute(select(signing_keys.c.seed).where(signing_keys.c.name == name))).scalar()
    if seed is not None:
        return SigningKey(bytes(seed))
    key = SigningKey.generate()
    try:
        async with db.transaction() as session:
            await session.execute(
                insert(signing_keys).values(
                    name=name,
                    seed=bytes(key),
                    public_key=bytes(key.verify_key),
                    created_at=datetime.now(UTC),
                )
            )
    except IntegrityError:  # another replica made it first
        return await load_or_create_signing_key(db, name)
    return key
