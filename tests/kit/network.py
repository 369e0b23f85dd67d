"""The whole network as ``make up`` starts it: ``crocevia up`` as a process, on free ports.

Its NATS takes no anonymous client: a test that connects to it directly logs in as the
operator (or an agency), with the password ``crocevia up`` keeps in the data directory
(``nats_login``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.kit.nats import free_port, free_port_block

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@contextmanager
def crocevia_up(data: Path, *, seed: bool = False, **env: str) -> Iterator[tuple[dict, subprocess.Popen[str]]]:
    """Start the network in ``data``; give its ``network.json`` and the launcher process.
    With ``seed``, a new ``data`` gets the demo households as with ``make up`` (network.json
    appears once they are seeded); without, the network starts empty.
    The network is stopped with SIGINT afterwards, unless the caller stopped it already."""
    base = free_port_block(12)  # notifications, audit, the agencies, the witness
    proc = subprocess.Popen(
        [
            str(BIN / "crocevia"),
            "up",
            "--data-dir",
            str(data),
            "--nats-port",
            str(free_port()),
            "--base-port",
            str(base),
            "--ready-timeout",
            "240",
            *([] if seed else ["--no-seed"]),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        start_new_session=True,
    )
    # Generous: on a loaded 2-core machine the services take minutes; seeding comes before network.json.
    deadline = time.monotonic() + 300
    while not (data / "network.json").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"crocevia up did not start:\n{proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.2)
    try:
        yield json.loads((data / "network.json").read_text()), proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)


def nats_login(network: dict, user: str = "admin") -> dict[str, str]:
    """``user``, its password and its reply subjects (a user reads only ``_INBOX.<user>``),
    as ``nats.connect`` takes them, for the network ``network`` describes (its
    ``network.json``; by default as the operator)."""
    password = Path(network["nats_password_files"][user]).read_text().strip()
    return {"user": user, "password": password, "inbox_prefix": f"_INBOX.{user}"}
