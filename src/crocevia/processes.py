"""Child processes of the development network, each in its own process group.

A child runs in a new session, so Ctrl-C in a terminal reaches only the launcher, which
then stops the children in order (services first, NATS last). On Linux a child started
from the main thread also gets SIGTERM if the launcher dies without cleaning up.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

_PR_SET_PDEATHSIG = 1


class NetworkError(RuntimeError):
    """The network could not start or a process of it stopped; the message says which and
    why, with the end of its log when there is one."""


def _die_with_parent() -> None:
    """In the child, before exec: ask the kernel for SIGTERM when the parent dies."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:  # pragma: no cover - best effort, never blocks the start
        pass


def _preexec() -> Callable[[], None] | None:
    # The death signal follows the thread that forked: only the main thread lives as long
    # as the launcher itself.
    if sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread():
        return _die_with_parent
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, as the system hands them out."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """Whether something could listen on ``host:port`` now (SO_REUSEADDR, as servers bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def port_answers(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


@dataclass
class ChildProcess:
    """One program the launcher runs, logging to its own file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log_start: int = field(default=0, repr=False)

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def start(self) -> None:
        """Start the program with stdout and stderr appended to ``log_path``."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._log_start = log.tell()
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            log.write(f"=== {stamp} crocevia up: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_preexec(),
            )

    def exit_code(self) -> int | None:
        """None while the program runs, else its exit code (negative: killed by a signal)."""
        return self.popen.poll() if self.popen else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the child's process group, only while the child has not been
        reaped (so its id cannot belong to anyone else yet)."""
        if self.running():
            assert self.popen is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)

    def log_tail(self, lines: int = 25) -> str:
        """The last ``lines`` lines this run of the child wrote to its log."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(self._log_start, log.tell() - 64 * 1024))
                text = log.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def stop_processes(children: Sequence[ChildProcess], timeout: float, hurry: threading.Event | None = None) -> None:
    """Terminate ``children`` together; kill those still alive after ``timeout`` seconds
    (or as soon as ``hurry`` is set). Returns when every one has exited."""
    alive = [c for c in children if c.running()]
    for child in alive:
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive and time.monotonic() < deadline and not (hurry and hurry.is_set()):
        time.sleep(0.05)
        alive = [c for c in alive if c.running()]
    for child in alive:
        child.signal_group(signal.SIGKILL)
    for child in children:
        if child.popen is not None:
            child.popen.wait()


# Loopback only: never through an HTTP proxy from the environment.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def readyz(base_url: str) -> str | None:
    """None when ``GET <base_url>/readyz`` answers 200, else what it answered."""
    try:
        with _direct.open(f"{base_url}/readyz", timeout=2) as response:
            if response.status == 200:
                return None
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.read(300).decode(errors='replace')}"
    except (urllib.error.URLError, OSError) as exc:
        return f"no answer ({getattr(exc, 'reason', exc)})"


def check_alive(process: ChildProcess) -> None:
    """Raise NetworkError, with the end of its log, when ``process`` has exited."""
    code = process.exit_code()
    if code is not None:
        raise NetworkError(
            f"{process.name} exited with code {code}; last lines of {process.log_path}:\n{process.log_tail()}"
        )


def wait_until_ready(
    services: Sequence[tuple[ChildProcess, str]],
    timeout: float,
    progress: Callable[[str], None],
    pause: Callable[[float], None] = time.sleep,
) -> None:
    """Return once every service (a process and its base URL) answers ``GET /readyz`` with
    200, telling ``progress`` as each one is; raise NetworkError when one exits or is not
    ready within ``timeout`` seconds."""
    began = time.monotonic()
    deadline = began + timeout
    pending = list(services)
    last: dict[str, str] = {}
    told = began
    while pending:
        for service in list(pending):
            process, url = service
            check_alive(process)
            answer = readyz(url)
            if answer is None:
                pending.remove(service)
                progress(f"  ready: {process.name} ({time.monotonic() - began:.1f} s, {len(pending)} to go)")
            else:
                last[process.name] = answer
        if pending and time.monotonic() - told >= 5:
            told = time.monotonic()
            progress(f"  waiting for: {', '.join(p.name for p, _ in pending)}")
        if pending and time.monotonic() > deadline:
            # A service that answers "not ready" says more than one that does not answer yet.
            pending.sort(key=lambda s: not last.get(s[0].name, "").startswith("HTTP"))
            (process, url), others = pending[0], ", ".join(p.name for p, _ in pending[1:])
            raise NetworkError(
                f"{process.name} was not ready within {timeout:.0f}s (GET {url}/readyz: {last.get(process.name, '?')})"
                + (f"; not ready either: {others}" if others else "")
                + f"\nlast lines of {process.log_path}:\n{process.log_tail()}"
            )
        if pending:
            pause(0.2)
