"""A stand-in service for the launcher's tests: answers ``/readyz`` and shows the
``CROCEVIA_*`` settings it was started with on ``/env``, and what serves it on ``/serving``
(its event loop's class, and whether uvicorn's httptools protocol is loaded).

``DEVNET_TEST_CRASH`` and ``DEVNET_TEST_NOT_READY`` (comma-separated service names) make
the named services fail to start or never become ready.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _named(variable: str, name: str) -> bool:
    return name in os.environ.get(variable, "").split(",")


def create_app() -> Callable[[dict[str, Any], Receive, Send], Awaitable[None]]:
    name = os.environ["CROCEVIA_SERVICE_NAME"]
    if _named("DEVNET_TEST_CRASH", name):
        raise RuntimeError(f"{name} refuses to start")
    ready = not _named("DEVNET_TEST_NOT_READY", name)

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["path"] == "/readyz":
            status, body = (200, {"status": "ready"}) if ready else (503, {"status": "waiting for nats"})
        elif scope["path"] == "/env":
            status, body = 200, {k: v for k, v in os.environ.items() if k.startswith("CROCEVIA_")}
        elif scope["path"] == "/serving":
            loop = type(asyncio.get_running_loop())
            httptools = "uvicorn.protocols.http.httptools_impl" in sys.modules
            h11 = "uvicorn.protocols.http.h11_impl" in sys.modules
            status, body = 200, {"loop": f"{loop.__module__}.{loop.__qualname__}", "httptools": httptools, "h11": h11}
        else:
            status, body = 404, {}
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})

    return app
