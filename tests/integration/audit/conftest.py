from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from crocevia_audit.bootstrap import create_app
from crocevia_audit.settings import AuditSettings
from tests.kit.services import Tokens, serve

AuditFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def audit_settings(tmp_path: Path, nats_url: str, tokens: Tokens) -> Callable[..., AuditSettings]:
    def make(database_url: str | None = None, **overrides: Any) -> AuditSettings:
        values: dict[str, Any] = {
            "nats_url": nats_url,
            "database_url": database_url or f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}",
            "data_dir": tmp_path / "audit-data",  # where the checkpoint key file is made
            "auth_dev_key_file": tokens.key_file,
            "dev_signin": True,
            "redelivery_delay_seconds": 0.2,
            "outbox_poll_seconds": 0.2,
            "fetch_wait_seconds": 0.5,
            "checkpoint_every_seconds": 0.5,
            "origin": "crocevia.test/trail",
        }
        return AuditSettings(**{**values, **overrides})

    return make


@pytest.fixture
def audit_factory(audit_settings: Callable[..., AuditSettings]) -> AuditFactory:
    """Start the audit service in this process, on real NATS and the given database."""

    def start(database_url: str | None = None, **overrides: Any) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        return serve(create_app(audit_settings(database_url, **overrides)))

    return start


@pytest.fixture
async def trail_db(database_url: str):
    """The audit's database, migrated, on SQLite and on PostgreSQL."""
    from crocevia_audit.bootstrap import MIGRATIONS
    from crocevia_common.db import Database

    db = Database(database_url)
    await db.migrate(MIGRATIONS)
    try:
        yield db
    finally:
        await db.dispose()
