"""What the network's processes use, read from ``/proc``: CPU seconds and resident memory,
and the machine and the versions the figures were measured with."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path

from crocevia.devnet import nats_server_binary

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def rss_mib(pid: int) -> float:
    """The process's resident memory now."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20


def own_cpu_seconds() -> float:
    """User and system CPU time this process (the bench's client) has used so far."""
    times = os.times()
    return times.user + times.system


def machine_ticks() -> tuple[int, int]:
    """The machine's busy and total CPU ticks so far, over every core (``/proc/stat``)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def busy_cores(before: tuple[int, int], after: tuple[int, int]) -> float:
    """How many of the machine's cores were busy on average between two readings."""
    busy, total = after[0] - before[0], after[1] - before[1]
    return (os.cpu_count() or 1) * busy / total if total else 0.0


def cpu_of(pids: Mapping[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def memory_of(pids: Mapping[str, int]) -> dict[str, float]:
    return {name: rss_mib(pid) for name, pid in pids.items()}


class PeakMemory:
    """The largest resident memory of each process while it runs (sampled twice a second)."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self.peak: dict[str, float] = {name: 0.0 for name in pids}
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            for name, mib in memory_of(self.pids).items():
                self.peak[name] = max(self.peak[name], mib)
            await asyncio.sleep(0.5)

    async def __aenter__(self) -> PeakMemory:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        for name, mib in memory_of(self.pids).items():
            self.peak[name] = max(self.peak[name], mib)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine() -> dict[str, object]:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_gib": round(int(meminfo["MemTotal"].split()[0]) / 2**20, 1),
        "kernel": platform.release(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def versions() -> dict[str, str]:
    """Python, nats-server and the libraries that shape the figures (database versions are
    added by the run that uses them)."""
    out = subprocess.run([nats_server_binary(), "--version"], capture_output=True, text=True, check=False)
    found = {"python": platform.python_version(), "nats-server": out.stdout.strip().split()[-1]}
    for package in ("fastapi", "uvicorn", "pydantic", "sqlalchemy", "aiosqlite", "asyncpg", "nats-py", "faststream"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found
