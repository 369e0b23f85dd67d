"""``crocevia up``: the development network launcher, with stand-in services on free ports."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from stat import S_IMODE
from typing import Any

import nats
import pytest

from crocevia.devnet import AppFactories, Network, NetworkConfig, NetworkError, StopRequested
from crocevia.processes import port_is_free
from crocevia_common.key_files import read_key_file
from crocevia_common.messaging.stream_specs import bucket_stream, weaknesses
from crocevia_common.tlog.cosignature import parse_cosigner_key
from crocevia_common.tlog.note import verifier_key
from crocevia_contracts.stream import DIRECTORY, NETWORK_STREAMS
from tests.kit.nats import free_port_block
from tests.kit.network import nats_login

ROOT = Path(__file__).resolve().parents[2]
FAKE = "tests.integration.devnet_app:create_app"
AGENCIES = ("cpia2", "coop-abitare")


@pytest.fixture
def agencies_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "agencies"
    directory.mkdir()
    for agency in AGENCIES:
        shutil.copy(ROOT / "deploy/demo/agencies" / f"{agency}.yaml", directory)
    return directory


@pytest.fixture
def config(tmp_path: Path, agencies_dir: Path) -> NetworkConfig:
    base = free_port_block(len(AGENCIES) + 4)
    return NetworkConfig(
        data_dir=tmp_path / "data",
        agencies_dir=agencies_dir,
        nats_port=base + len(AGENCIES) + 3,
        base_port=base,
        ready_timeout=30,
        stop_timeout=5,
        apps=AppFactories(FAKE, FAKE, FAKE),
    )


@contextmanager
def listening_on(port: int) -> Iterator[None]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        yield


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def assert_all_stopped(network: Network) -> None:
    assert network.processes(), "the network started nothing"
    for process in network.processes():
        assert process.exit_code() is not None, f"{process.name} still runs"


def test_the_network_runs_every_service_and_describes_it_in_network_json(config: NetworkConfig) -> None:
    network = Network(config)
    base = config.base_port
    data = config.data_dir.resolve()
    secrets = data / "secrets" / "nats"
    with network:
        described = json.loads((config.data_dir / "network.json").read_text())
        assert described == {
            "nats": f"nats://127.0.0.1:{config.nats_port}",
            "nats_password_files": {
                user: str(secrets / user) for user in ("admin", "coop-abitare", "cpia2", "notifications", "audit")
            },
            "agencies": {"coop-abitare": f"http://127.0.0.1:{base + 2}", "cpia2": f"http://127.0.0.1:{base + 3}"},
            "notifications": f"http://127.0.0.1:{base}",
            "audit": f"http://127.0.0.1:{base + 1}",
            "witness": f"http://127.0.0.1:{base + 4}",
        }

        # Served as crocevia_common.serving says: uvloop's event loop, httptools' parser.
        assert get_json(described["audit"] + "/serving") == {"loop": "uvloop.Loop", "httptools": True, "h11": False}

        node = get_json(described["agencies"]["cpia2"] + "/env")
        assert node["CROCEVIA_AGENCY_ID"] == "cpia2"
        assert node["CROCEVIA_AGENCY_FILE"] == str((config.agencies_dir / "cpia2.yaml").resolve())
        assert node["CROCEVIA_DATABASE_URL"] == f"sqlite+aiosqlite:///{data}/referrals-cpia2.db"
        assert node["CROCEVIA_SERVICE_NAME"] == "referrals-cpia2"
        assert node["CROCEVIA_NATS_URL"] == described["nats"]
        assert node["CROCEVIA_NATS_USER"] == "cpia2"
        assert node["CROCEVIA_NATS_PASSWORD_FILE"] == str(secrets / "cpia2")
        assert Path(node["CROCEVIA_AUTH_DEV_KEY_FILE"]) == data / "dev-jwt.key"
        assert (data / "dev-jwt.key").exists()

        audit = get_json(described["audit"] + "/env")
        assert audit["CROCEVIA_DATABASE_URL"] == f"sqlite+aiosqlite:///{data}/audit.db"
        assert audit["CROCEVIA_AGENCIES_DIR"] == str(config.agencies_dir.resolve())
        assert "CROCEVIA_AGENCY_ID" not in audit
        assert (audit["CROCEVIA_NATS_USER"], audit["CROCEVIA_NATS_PASSWORD_FILE"]) == ("audit", str(secrets / "audit"))
        # The witness, the real program in its own process, knows the audit's log key; the
        # audit knows the witness's address and key.
        with urllib.request.urlopen(described["witness"] + "/key", timeout=5) as response:
            witness_key = parse_cosigner_key(response.read().decode())
        assert json.loads(audit["CROCEVIA_WITNESSES"]) == [{"url": described["witness"], "key": str(witness_key)}]
        log_key = verifier_key(
            audit["CROCEVIA_ORIGIN"], bytes(read_key_file(Path(audit["CROCEVIA_AUDIT_SIGNING_KEY_FILE"])).verify_key)
        )
        assert json.loads(network.witness.witness_settings()["CROCEVIA_WITNESS_LOGS"]) == [{"keys": [log_key]}]
        notifications = get_json(described["notifications"] + "/env")
        assert notifications["CROCEVIA_NATS_USER"] == "notifications"

        specs = [*NETWORK_STREAMS, bucket_stream(DIRECTORY)]

        async def weak_streams() -> dict[str, list]:
            nc = await nats.connect(described["nats"], **nats_login(described))
            try:
                js = nc.jetstream()
                return {spec.name: weaknesses(spec, (await js.stream_info(spec.name)).config) for spec in specs}
            finally:
                await nc.close()

        # The operator created them before the services started.
        assert asyncio.run(weak_streams()) == {spec.name: [] for spec in specs}
        assert (data / "nats" / "jetstream").is_dir()
        assert {p.name for p in (data / "logs").iterdir()} == {
            "nats.log",
            "notifications.log",
            "audit.log",
            "witness.log",
            "referrals-cpia2.log",
            "referrals-coop-abitare.log",
        }

    assert_all_stopped(network)
    assert not (config.data_dir / "network.json").exists()
    assert all(port_is_free("127.0.0.1", port) for port in network.ports().values())


def passwords(data: Path) -> dict[str, str]:
    return {p.name: p.read_text().strip() for p in (data / "secrets" / "nats").iterdir()}


async def connects(url: str, **credentials: str) -> bool:
    try:
        nc = await nats.connect(url, allow_reconnect=False, connect_timeout=2, error_cb=ignore, **credentials)
    except nats.errors.Error:
        return False
    await nc.close()
    return True


async def ignore(_error: Exception) -> None:
    pass


def test_nats_refuses_anonymous_clients_and_each_user_has_a_private_password(config: NetworkConfig) -> None:
    data = config.data_dir.resolve()
    with Network(config) as network:
        url = network.urls.nats
        secret = passwords(data)
        assert asyncio.run(connects(url)) is False
        assert asyncio.run(connects(url, user="cpia2", password="cpia2")) is False
        assert asyncio.run(connects(url, user="cpia2", password=secret["cpia2"])) is True
        assert asyncio.run(connects(url, **nats_login(network.urls.as_json(), "notifications"))) is True
        written = [(data / "network.json").read_text(), *(p.read_text() for p in (data / "logs").iterdir())]

    assert set(secret) == {"admin", "system", "notifications", "audit", "cpia2", "coop-abitare"}
    assert len(set(secret.values())) == len(secret) and all(len(p) >= 32 for p in secret.values())
    assert not [p for p in secret.values() if any(p in text for text in written)], "a password was written out"
    for directory in (data, data / "secrets", data / "secrets" / "nats", data / "nats", data / "logs"):
        assert S_IMODE(directory.stat().st_mode) == 0o700, directory
    for file in [*(data / "secrets" / "nats").iterdir(), data / "dev-jwt.key"]:
        assert S_IMODE(file.stat().st_mode) == 0o600, file


def test_passwords_are_kept_across_restarts(config: NetworkConfig) -> None:
    with Network(config):
        first = passwords(config.data_dir)
    with Network(config) as network:
        assert passwords(config.data_dir) == first
        assert asyncio.run(connects(network.urls.nats, user="admin", password=first["admin"])) is True


def test_a_taken_port_stops_the_start_before_anything_runs(config: NetworkConfig) -> None:
    network = Network(config)
    with listening_on(config.base_port + 1), pytest.raises(NetworkError) as failure:
        network.start()

    assert f"{config.base_port + 1} (audit)" in str(failure.value)
    assert network.processes() == []


def test_a_service_never_ready_is_named_with_the_end_of_its_log(
    config: NetworkConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVNET_TEST_NOT_READY", "audit")
    network = Network(dataclasses.replace(config, ready_timeout=10))

    with pytest.raises(NetworkError) as failure:
        network.start()

    message = str(failure.value)
    assert message.startswith("audit was not ready within 10s")
    assert "HTTP 503" in message and "waiting for nats" in message
    assert 'GET /readyz HTTP/1.1" 503' in message  # the tail of audit.log
    assert_all_stopped(network)


def test_a_service_that_cannot_start_is_named_with_its_error(
    config: NetworkConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVNET_TEST_CRASH", "referrals-cpia2")
    network = Network(config)

    with pytest.raises(NetworkError, match=r"referrals-cpia2 exited with code \d+") as failure:
        network.start()

    assert "RuntimeError: referrals-cpia2 refuses to start" in str(failure.value)
    assert_all_stopped(network)


def test_a_stop_request_while_starting_stops_what_was_started(
    config: NetworkConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVNET_TEST_NOT_READY", "notifications")
    network = Network(config)
    threading.Timer(1.0, network.request_stop).start()

    with pytest.raises(StopRequested):
        network.start()

    assert_all_stopped(network)


def test_a_service_that_dies_ends_the_wait(config: NetworkConfig) -> None:
    with Network(config) as network:
        victim = next(p for p in network.processes() if p.name == "referrals-coop-abitare")
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)

        with pytest.raises(NetworkError, match="referrals-coop-abitare exited with code -9"):
            network.wait()

    assert_all_stopped(network)


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_crocevia_up_stops_everything_it_started_on_a_signal(config: NetworkConfig, signum: int) -> None:
    command = [
        str(Path(sys.executable).parent / "crocevia"),
        "up",
        "--data-dir",
        str(config.data_dir),
        "--agencies-dir",
        str(config.agencies_dir),
        "--nats-port",
        str(config.nats_port),
        "--base-port",
        str(config.base_port),
        "--ready-timeout",
        "30",
        "--no-seed",  # the stand-in apps have no referrals API
        "--referrals-app",
        FAKE,
        "--notifications-app",
        FAKE,
        "--audit-app",
        FAKE,
    ]
    launcher = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        network_file = config.data_dir / "network.json"
        deadline = time.monotonic() + 60
        while not network_file.exists():
            assert launcher.poll() is None, launcher.communicate()[0]
            assert time.monotonic() < deadline, "network.json never appeared"
            time.sleep(0.1)
        started = children_of(launcher.pid)
        assert len(started) == len(AGENCIES) + 4  # nats, notifications, audit, the witness, the nodes

        launcher.send_signal(signum)
        output, _ = launcher.communicate(timeout=30)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()

    assert launcher.returncode == 0, output
    assert "crocevia token --agency coop-abitare --role operator --key-file" in output
    secrets = config.data_dir.resolve() / "secrets" / "nats"
    assert f"nats://coop-abitare:$(cat {secrets}/coop-abitare)@127.0.0.1:{config.nats_port}" in output
    assert f"nats://admin:$(cat {secrets}/admin)@127.0.0.1:{config.nats_port}" in output
    assert not [p for p in passwords(config.data_dir).values() if p in output]
    assert f"referrals-cpia2         http://127.0.0.1:{config.base_port + 3}" in output
    assert not [pid for pid in started if alive(pid)]
    assert not network_file.exists()


def test_a_second_network_on_the_same_data_directory_is_refused_naming_the_first(config: NetworkConfig) -> None:
    other_ports = dataclasses.replace(config, nats_port=config.nats_port + 100, base_port=config.base_port + 100)
    with Network(config):
        second = Network(other_ports)
        with pytest.raises(NetworkError) as refused:
            second.start()
        assert second.processes() == [], "the second launcher started nothing"
        assert (config.data_dir / "network.json").exists(), "and left the first one's file alone"
    message = str(refused.value)
    assert message.startswith(f"a network already runs on {config.data_dir.resolve()} (pid {os.getpid()}")
    assert f"NATS on port {config.nats_port}" in message
    with Network(other_ports):  # once the first has stopped, the directory is free again
        pass


def test_a_broken_agency_file_is_reported_in_one_line_before_anything_starts(config: NetworkConfig) -> None:
    (config.agencies_dir / "cpia2.yaml").write_text("organization: {id: cpia2}\nservices: not-a-list\n")
    network = Network(config)
    with pytest.raises(NetworkError) as refused:
        network.start()
    assert network.processes() == []
    assert not config.data_dir.exists(), "nothing was written either"
    message = str(refused.value)
    assert "cpia2.yaml" in message and "\n" not in message


def test_an_unusable_data_directory_is_reported_in_one_line_before_anything_starts(
    config: NetworkConfig, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    network = Network(dataclasses.replace(config, data_dir=blocker / "data"))
    with pytest.raises(NetworkError) as refused:
        network.start()
    assert network.processes() == []
    assert str(refused.value).startswith(f"cannot write {blocker / 'data'}") and "\n" not in str(refused.value)


def test_the_start_says_what_is_ready_and_what_it_waits_for(config: NetworkConfig) -> None:
    lines: list[str] = []
    with Network(dataclasses.replace(config, progress=lines.append)):
        pass
    assert lines[0].startswith("  ready: nats (nats://127.0.0.1:")
    ready = {line.split()[1] for line in lines if line.startswith("  ready: ") and "(" in line}
    assert {"nats", "notifications", "audit", "referrals-cpia2", "referrals-coop-abitare"} <= ready


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups")
def test_one_ctrl_c_reaching_the_launcher_twice_still_stops_every_service_gracefully(config: NetworkConfig) -> None:
    """A Ctrl-C without a terminal reaches the launcher from its process group and again from
    ``uv run``: one stop, in order, not a kill."""
    launcher = subprocess.Popen(
        [*_up_command(config)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (config.data_dir / "network.json").exists():
            assert launcher.poll() is None, launcher.communicate()[0]
            assert time.monotonic() < deadline
            time.sleep(0.1)
        os.killpg(launcher.pid, signal.SIGINT)
        os.killpg(launcher.pid, signal.SIGINT)
        output, _ = launcher.communicate(timeout=30)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    assert launcher.returncode == 0, output
    logs = config.data_dir / "logs"
    for service in ("notifications", "audit", "referrals-cpia2", "referrals-coop-abitare"):
        assert "Finished server process" in (logs / f"{service}.log").read_text(), f"{service} was killed"


def _up_command(config: NetworkConfig) -> list[str]:
    return [
        str(Path(sys.executable).parent / "crocevia"),
        "up",
        "--data-dir",
        str(config.data_dir),
        "--agencies-dir",
        str(config.agencies_dir),
        "--nats-port",
        str(config.nats_port),
        "--base-port",
        str(config.base_port),
        "--ready-timeout",
        "30",
        "--no-seed",  # the stand-in apps have no referrals API
        "--referrals-app",
        FAKE,
        "--notifications-app",
        FAKE,
        "--audit-app",
        FAKE,
    ]
