from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest

from crocevia_referrals.bootstrap import create_app
from crocevia_referrals.settings import ReferralsSettings
from tests.kit.services import Tokens, agency_file, serve


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
        return serve(app)

    start.apps = {}

    return start


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
