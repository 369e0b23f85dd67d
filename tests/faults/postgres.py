"""A PostgreSQL server of the fault suite's own (never the machine's shared one), so that
it can be killed: ``initdb`` into a temporary directory, ``postgres`` on a free loopback
port in its own process group, trust authentication for ``postgres`` on loopback only.
PostgreSQL refuses to run as root: as root it runs as the ``postgres`` system user."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.kit.nats import free_port


def _binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise RuntimeError(f"{name} not found: install PostgreSQL's server binaries")
    return found[-1]


class PrivateServer:
    """The server's files live in a directory of their own under the system's temporary
    directory (the ``postgres`` user cannot enter a test's private one); ``remove`` drops it."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="crocevia-faults-pg-"))
        self.data = self.workdir / "pgdata"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def create(self) -> PrivateServer:
        if self._as_user:
            shutil.chown(self.workdir, "postgres")
        subprocess.run(
            [*self._as_user, _binary("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        return self

    def start(self, timeout: float = 30.0) -> None:
        log = (self.workdir / "postgres.log").open("ab")
        options = ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.workdir}"]
        self.process = subprocess.Popen(
            [*self._as_user, _binary("postgres"), "-D", str(self.data), "-p", str(self.port), *options],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self._accepts():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not start: see {self.workdir / 'postgres.log'}")
            time.sleep(0.1)

    def _accepts(self) -> bool:
        ready = subprocess.run(
            [_binary("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"], capture_output=True
        )
        return ready.returncode == 0 and _answers(self.port)

    def kill(self) -> None:
        """SIGKILL to the server and all its backends at once, as a machine crash."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None
        self._wait_postmaster_gone()

    def _wait_postmaster_gone(self, timeout: float = 10.0) -> None:
        """The postmaster (a child of ``runuser``) is reaped by init a moment after the kill;
        a new one refuses to start while that pid lives."""
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return
        pid = pid_file.read_text().split("\n", 1)[0].strip()
        deadline = time.monotonic() + timeout
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
