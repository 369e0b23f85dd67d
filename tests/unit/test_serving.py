"""The tests run on the event loop the services are served on."""

from __future__ import annotations

import asyncio

import uvloop


async def test_an_async_test_runs_on_uvloop():
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
