"""The node's key pairs, made on its first start and kept in its own database."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from sqlalchemy import insert, select

from crocevia_common.db import Database
from crocevia_referrals.adapters.sealing import NodeKeys
from crocevia_referrals.adapters.tables import node_keys


async def load_or_create_keys(db: Database, agency_id: str) -> NodeKeys:
    async with db.transaction() as session:
        row = (await session.execute(select(node_keys).where(node_keys.c.agency_id == agency_id))).mappings().first()
        if row is not None:
            return NodeKeys.from_secrets(base64.b64decode(row["box_secret"]), base64.b64decode(row["signing_seed"]))
        keys = NodeKeys.generate()
        await session.execute(
            insert(node_keys).values(
                agency_id=agency_id,
                box_secret=base64.b64encode(bytes(keys.box)).decode(),
                signing_seed=base64.b64encode(bytes(keys.signing)).decode(),
                created_at=datetime.now(UTC),
            )
        )
        return keys
