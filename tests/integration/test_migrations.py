"""Each service's Alembic revisions, run from an empty database, build exactly the tables
its code uses (on SQLite and on PostgreSQL), and a revision that changes a table keeps
the rows already there."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, select, text
from sqlalchemy.engine import Connection

import crocevia_audit.adapters.tables as audit_tables
import crocevia_audit.bootstrap as audit
import crocevia_notifications.adapters.tables as notification_tables
import crocevia_notifications.bootstrap as notifications
import crocevia_referrals.adapters.tables as referral_tables
import crocevia_referrals.bootstrap as referrals
import crocevia_witness.adapters.tables as witness_tables
import crocevia_witness.bootstrap as witness
from crocevia_common.db import Database
from tests.kit.migrations import upgrade_to

SERVICES = {
    "referrals": (referrals.MIGRATIONS, referral_tables.metadata),
    "notifications": (notifications.MIGRATIONS, notification_tables.metadata),
    "audit": (audit.MIGRATIONS, audit_tables.metadata),
    "witness": (witness.MIGRATIONS, witness_tables.metadata),
}


def newest_revision(location: Path) -> str:
    return max(p.name.split("_")[0] for p in Path(location, "versions").glob("0*.py"))


def _drift(connection: Connection, metadata: MetaData) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_the_migrations_build_the_tables_the_code_uses(database_url: str, service: str) -> None:
    location, metadata = SERVICES[service]
    newest = newest_revision(location)
    db = Database(database_url)
    try:
        await db.migrate(location)
        await db.migrate(location)  # a second start finds nothing to do
        async with db.engine.connect() as conn:
            drift = await conn.run_sync(_drift, metadata)
            revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    finally:
        await db.dispose()
    assert drift == [], f"{service}: the tables differ from what the migrations build: {drift}"
    assert revision == newest


async def test_webhooks_registered_before_rotation_existed_keep_working(database_url: str) -> None:
    """Revision 0003 adds the rotation columns to a webhooks table that already has rows."""
    db = Database(database_url)

    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(upgrade_to, notifications.MIGRATIONS, "0002")
            await conn.execute(
                text(
                    "INSERT INTO webhooks (id, agency, url, topics, secret, active, created_by, created_at)"
                    " VALUES ('w-1', 'cpia2', 'https://hooks.example/crocevia', '[]', 'whsec_c2VjcmV0', :on,"
                    " 'admin-cpia2', :at)"
                ),
                {"on": True, "at": datetime(2026, 1, 5, 9, 0, tzinfo=UTC)},
            )
        await db.migrate(notifications.MIGRATIONS)
        async with db.engine.connect() as conn:
            row = (await conn.execute(select(notification_tables.webhooks))).mappings().one()
    finally:
        await db.dispose()
    assert (row["id"], row["secret"], row["active"]) == ("w-1", "whsec_c2VjcmV0", True)
    assert row["previous_secret"] is None and row["previous_secret_until"] is None
