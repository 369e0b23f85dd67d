"""The whole network as ``make up`` runs it: real processes, a real NATS server, and the
walk a new user takes in the README."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import pytest

from tests.kit.network import nats_login

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def crocevia(*args: str) -> str:
    done = subprocess.run([str(BIN / "crocevia"), *args], capture_output=True, text=True, check=True, cwd=ROOT)
    return done.stdout.strip()


def token(network: dict, agency: str, role: str) -> dict[str, str]:
    value = crocevia("token", "--agency", agency, "--role", role, "--key-file", network["_key"])
    return {"Authorization": f"Bearer {value}"}


def wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {last!r}")


def test_network_json_names_every_service(network):
    assert network["nats"].startswith("nats://127.0.0.1:") and not network["nats"].endswith(":4222")
    required = {"pioltello-casa", "pioltello-sociali", "cpia2", "csl-lavoro", "prefettura-mediazione"}
    assert required <= set(network["agencies"])
    for url in [*network["agencies"].values(), network["notifications"], network["audit"]]:
        assert httpx.get(f"{url}/readyz", timeout=5).json()["status"] == "ready"


def test_a_referral_walks_from_pioltello_casa_to_cpia2_and_everyone_sees_it(network):
    casa, cpia = network["agencies"]["pioltello-casa"], network["agencies"]["cpia2"]
    services = httpx.get(f"{cpia}/directory/services?agency=cpia2", timeout=5).json()
    service_id = services[0]["id"]
    body = {
        "to_agency": "cpia2",
        "service_id": service_id,
        "priority": "routine",
        "reason": "Italian course A1",
        "legal_basis": {"basis": "consent", "captured_by": "op-1", "captured_at": datetime.now(UTC).isoformat()},
        "person": {"given_name": "Amina", "family_name": "K.", "languages": ["ar", "fr"]},
    }
    created = httpx.post(f"{casa}/referrals", json=body, headers=token(network, "pioltello-casa", "operator"))
    assert created.status_code == 201, created.text
    referral = created.json()
    assert referral["status"] == "requested"
    rid = referral["id"]

    seen = wait_for(
        lambda: (
            (r := httpx.get(f"{casa}/referrals/{rid}", headers=token(network, "pioltello-casa", "operator")).json())[
                "status"
            ]
            == "received"
            and r
        )
    )
    assert seen["status"] == "received"

    incoming = httpx.get(f"{cpia}/referrals?direction=incoming", headers=token(network, "cpia2", "operator")).json()
    mine = [i for i in incoming["items"] if i["id"] == rid]
    assert mine and mine[0]["person"]["given_name"] == "Amina"

    auditor = token(network, "steering-committee", "network-auditor")
    trail = wait_for(
        lambda: (
            (t := httpx.get(f"{network['audit']}/trail", params={"referral_id": rid}, headers=auditor).json())
            and len(t["items"]) >= 2
            and t
        )
    )
    assert [e["type"].split(".")[-2] for e in sorted(trail["items"], key=lambda e: e["position"])] == [
        "requested",
        "received",
    ]
    assert "Amina" not in json.dumps(trail) and "Italian course" not in json.dumps(trail)

    inbox = wait_for(
        lambda: (
            (b := httpx.get(f"{network['notifications']}/inbox", headers=token(network, "cpia2", "operator")).json())
            and any(i.get("referral_id") == rid for i in b["items"])
            and b
        )
    )
    assert "Amina" not in json.dumps(inbox)


def test_nats_refuses_an_anonymous_client_and_an_agency_writing_anothers_key(network):
    """The hole an anonymous client used to replace cpia2's directory key is closed."""

    async def attempt() -> tuple[str, bytes]:
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(network["nats"], allow_reconnect=False, error_cb=_ignore)
        casa = await nats.connect(network["nats"], **nats_login(network, "pioltello-casa"), error_cb=_ignore)
        try:
            kv = await casa.jetstream().key_value("directory")
            with pytest.raises((TimeoutError, nats.errors.TimeoutError)):  # nats-server drops it
                await asyncio.wait_for(kv.put("cpia2", b"forged"), 2)
            return "refused", (await kv.get("cpia2")).value
        finally:
            await casa.close()

    outcome, entry = asyncio.run(attempt())
    assert outcome == "refused" and b"forged" not in entry and b"cpia2" in entry


async def _ignore(_error: Exception) -> None:
    pass


def test_ctrl_c_stops_every_process_the_network_started(network):
    proc = network["_proc"]
    pids = json.loads((network["_data"] / "network.json").read_text()) and _child_pids(proc.pid)
    assert pids, "the launcher runs child processes"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    for pid in pids:
        assert not _alive(pid), f"process {pid} outlived the launcher"


def _child_pids(parent: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"
