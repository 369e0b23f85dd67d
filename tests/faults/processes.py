"""The network's processes killed with SIGKILL and started again, as a machine or an
operator's mistake would: by name (``nats``, ``audit``, ``notifications``,
``referrals-<agency>``), each restarted with the command and settings it first had."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Mapping
from typing import Any

import httpx

from crocevia.devnet import Network
from crocevia.processes import ChildProcess, port_answers


def process(network: Network, name: str) -> ChildProcess:
    (found,) = [p for p in network.processes() if p.name == name]
    return found


def url_of(urls: Mapping[str, Any], name: str) -> str:
    """The HTTP address of service ``name`` in ``network.json``."""
    if name.startswith("referrals-"):
        return str(urls["agencies"][name.removeprefix("referrals-")])
    return str(urls[name])


def kill(network: Network, name: str) -> None:
    """SIGKILL to the process of ``name``: no shutdown, no flush, no goodbye to NATS."""
    child = process(network, name)
    child.signal_group(signal.SIGKILL)
    assert child.popen is not None
    child.popen.wait()


async def start_again(network: Network, name: str, urls: Mapping[str, Any], timeout: float = 180.0) -> float:
    """Start ``name`` again; seconds until it listens (NATS) or answers ``/readyz`` 200."""
    child = process(network, name)
    began = time.monotonic()
    child.start()
    async with httpx.AsyncClient(timeout=2.0, trust_env=False) as http:
        while time.monotonic() - began < timeout:
            if child.exit_code() is not None:
                raise RuntimeError(f"{name} exited again:\n{child.log_tail()}")
            if await ready(http, network, name, urls):
                return time.monotonic() - began
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{name} not ready {timeout:.0f} s after its restart:\n{child.log_tail()}")


async def ready(http: httpx.AsyncClient, network: Network, name: str, urls: Mapping[str, Any]) -> bool:
    if name.startswith("nats"):  # the server, or a member of a cluster
        return port_answers(network.config.host, network.ports()[name])
    try:
        return (await http.get(f"{url_of(urls, name)}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


async def all_ready(network: Network, urls: Mapping[str, Any], timeout: float = 60.0) -> float:
    """Seconds until every service answers ``/readyz`` 200 (after NATS came back)."""
    began = time.monotonic()
    names = [p.name for p in network.processes() if not p.name.startswith("nats")]
    async with httpx.AsyncClient(timeout=2.0, trust_env=False) as http:
        while names:
            names = [n for n in names if not await ready(http, network, n, urls)]
            if names and time.monotonic() - began > timeout:
                raise TimeoutError(f"not ready {timeout:.0f} s after NATS came back: {', '.join(names)}")
            if names:
                await asyncio.sleep(0.1)
    return time.monotonic() - began
