from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from crocevia_referrals.bootstrap import create_app
from crocevia_referrals.settings import ReferralsSettings
from tests.kit.services import Tokens, agency_file, eventually, serve


@pytest.fixture
def tokens(tmp_path: Path) -> Tokens:
    return Tokens(tmp_path / "dev-jwt.key")


@pytest.fixture
def node_factory(
    tmp_path: Path, nats_url: str, tokens: Tokens
) -> Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]:
    """Start a referrals node of an agency, in this process, on real NATS and SQLite."""

    def start(agency_id: str, database_url: str | None = None, services: list | None = None, **overrides):
        settings = ReferralsSettings(
            agency_id=agency_id,
            agency_file=agency_file(tmp_path / "agencies", agency_id, services),
            nats_url=nats_url,
            database_url=database_url or f"sqlite+aiosqlite:///{tmp_path / f'{agency_id}.db'}",
            auth_dev_key_file=tokens.key_file,
            dev_signin=True,
            redelivery_delay_seconds=0.2,
            outbox_poll_seconds=0.2,
        )
        app = create_app(settings.model_copy(update=overrides))
        start.apps[agency_id] = app
        return started(agency_id, app)

    running: dict[str, FastAPI] = {}

    @asynccontextmanager
    async def started(agency_id: str, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
        async with serve(app) as client:
            running[agency_id] = app
            try:
                # A node publishes its entry as it starts and learns the others' as they come:
                # the test begins once the running nodes all know each other, as in a network
                # that has been up a while.
                await eventually(lambda: _know_each_other(running))
                yield client
            finally:
                running.pop(agency_id, None)

    start.apps = {}

    return start


async def _know_each_other(running: dict[str, FastAPI]) -> bool:
    return all(app.state.runtime.directory.get(other) is not None for app in running.values() for other in running)


def referral_body(to_agency: str = "cpia2", service_id: str = "main-service", **overrides) -> dict:
    body = {
        "to_agency": to_agency,
        "service_id": service_id,
        "priority": "routine",
        "reason": "Italian course A1",
        "legal_basis": {"basis": "consent", "captured_by": "op-1", "captured_at": "2026-11-01T10:00:00Z"},
        "person": {"given_name": "Amina", "family_name": "K.", "languages": ["ar", "fr"]},
    }
    body.update(overrides)
    return body
