"""Running the services in the test process against real NATS and real databases."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from crocevia_common.auth import TokenVerifier, ensure_dev_key, issue_dev_token
from crocevia_common.serving import HTTP
from crocevia_common.settings import ServiceSettings
from crocevia_common.web.session_cookie import Sessions


def agency_file(
    directory: Path, agency_id: str, services: list[dict[str, Any]] | None = None, name: str | None = None
) -> Path:
    """Write a small directory entry for ``agency_id`` and return its path."""
    services = services or [
        {
            "id": "main-service",
            "name": f"Main service of {agency_id}",
            "domain": "education",
            "languages": ["it", "en"],
            "response_targets": {
                "routine": {"receive_within_hours": 24, "decide_within_hours": 120},
                "urgent": {"receive_within_hours": 4, "decide_within_hours": 24},
            },
        }
    ]
    path = directory / f"{agency_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump({"organization": {"id": agency_id, "name": name or agency_id.upper()}, "services": services})
    )
    return path


class Tokens:
    """Development tokens signed with a key file of the test's own."""

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self.key = ensure_dev_key(key_file)

    def bearer(self, agency: str, *roles: str, sub: str | None = None) -> dict[str, str]:
        token = issue_dev_token(
            self.key,
            agency=agency,
            roles=list(roles or ("operator",)),
            sub=sub or f"{(roles or ('operator',))[0]}-{agency}",
        )
        return {"Authorization": f"Bearer {token}"}

    def session(self, agency: str, *roles: str, sub: str | None = None) -> str:
        """A pages' session cookie value, as the development sign-in of a service using this
        key starts it (with the development token the bell relays)."""
        settings = ServiceSettings(
            auth_dev_key_file=self.key_file, auth_jwks_url=None, oidc_client_id=None, session_key_file=None
        )
        token = self.bearer(agency, *roles, sub=sub)["Authorization"].removeprefix("Bearer ")
        sessions = Sessions.of(settings)
        return sessions.encode(sessions.start(TokenVerifier(settings).verify(token), "dev", bearer=token))


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Start ``app``'s lifespan (database, NATS, consumers) and give an HTTP client to it."""
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Wait until ``check`` returns a truthy value; return it, or fail with the last value.
    The default bound is generous: other jobs share this machine's two cores, and a wait
    that ends as soon as the condition holds costs nothing when it holds early."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


@asynccontextmanager
async def listening(app: FastAPI, port: int) -> AsyncIterator[str]:
    """``app`` behind a real uvicorn with its access log on, as ``crocevia up`` runs it."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=True, http=HTTP)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
