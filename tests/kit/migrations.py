"""A database brought to an earlier revision of a service's migrations, for a test that
stores rows as that revision left them and checks what the next revisions make of them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection


def upgrade_to(connection: Connection, migrations: str | Path, revision: str) -> None:
    """Run ``migrations`` on ``connection`` up to ``revision`` (``conn.run_sync`` it)."""
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
