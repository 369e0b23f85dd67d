"""Where a service's CPU goes: ``py-spy record`` attached to the running process (sampling
without pausing it), summarised as the frames and packages the samples fell in.

py-spy leaves out threads the system shows asleep; what is left where a thread waits (an
event loop back from ``epoll`` waiting for a core on a busy machine) is counted apart, so
the shares are of time spent running. Time in C code (SQLite, libsodium, ``json``'s
encoder) counts for the Python frame that called it."""

from __future__ import annotations

import inspect
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite.core

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")
# Packages summarised one level deeper, so that the summary names the part of them.
DEEPER = ("crocevia_", "sqlalchemy", "nats", "opentelemetry", "pydantic")
# What every stack of a service starts with: not worth listing as "on the stack".
ENTRY = frozenset({"<frozen runpy>", "runpy", "click", "uvicorn", "asyncio", "threading", "concurrent"})


def _line_of(function: Callable[..., object], text: str) -> int | None:
    """The line of ``function``'s source holding ``text`` (where a thread waits)."""
    try:
        lines, first = inspect.getsourcelines(function)
    except (OSError, TypeError):
        return None
    return next((first + i for i, line in enumerate(lines) if text in line), None)


# Where a thread waits rather than runs: its event loop waiting for I/O, the database
# driver's thread waiting for work, a thread waiting on a lock. Under a loaded machine a
# thread that has just woken up but waits for a core is sampled there too.
WAITS = {
    ("selectors", "EpollSelector.select"),
    ("selectors", "PollSelector.select"),
    ("selectors", "SelectSelector.select"),
    ("threading", "Condition.wait"),
    ("threading", "Event.wait"),
    ("threading", "Thread._wait_for_tstate_lock"),
    ("queue", "Queue.get"),
}
AIOSQLITE_WAIT = (
    "aiosqlite.core",
    "_connection_worker_thread",
    _line_of(aiosqlite.core._connection_worker_thread, "tx.get()"),
)


# The consumer's own frames, on the stack of every message it applies: left out of the list
# of our functions on the stack, which then names the use cases.
PLUMBING = frozenset(
    f"crocevia_common.messaging.consumer:{name}"
    for name in (
        "StreamConsumer.run",
        "StreamConsumer.process",
        "StreamConsumer._apply_batch",
        "StreamConsumer._apply_one",
        "StreamConsumer._attempt",
        "one_at_a_time.<locals>.apply",
    )
)


def module_of(path: str) -> str:
    """``sqlalchemy/orm/session.py`` or ``/x/site-packages/sqlalchemy/orm/session.py`` →
    ``sqlalchemy.orm.session``; a workspace file by its package path."""
    for marker in ("/site-packages/", "/src/", "/lib/python3.11/", "/lib/python3.12/", "/lib/python3.13/"):
        if marker in path:
            path = path.rsplit(marker, 1)[1]
            break
    return path.removesuffix(".py").replace("/__init__", "").strip("/").replace("/", ".")


def package_of(module: str) -> str:
    parts = module.split(".")
    deeper = any(parts[0].startswith(p) for p in DEEPER) and len(parts) > 2
    return ".".join(parts[:2]) if deeper else parts[0]


@dataclass(frozen=True)
class Frame:
    module: str
    function: str
    line: int | None

    @property
    def name(self) -> str:
        return f"{self.module}:{self.function}"

    def waits(self) -> bool:
        return (self.module, self.function) in WAITS or (self.module, self.function, self.line) == AIOSQLITE_WAIT


def frames(stack: str) -> list[Frame]:
    """The frames of a collapsed stack, outermost first."""
    out = []
    for text in stack.split(";"):
        match = FRAME.match(text.strip())
        if match:
            line = int(match["line"]) if match["line"] else None
            out.append(Frame(module_of(match["file"]), match["function"], line))
        else:
            out.append(Frame("?", text.strip(), None))
    return out


@dataclass
class Summary:
    """A service's samples on the CPU: the function they were in (self), the packages on the
    stack (inclusive) or at its top (self), the innermost function of ours on the stack
    (what of ours was running, or had called what was), and our functions on the stack (the
    use cases). Samples where a thread waits are counted apart."""

    samples: int = 0
    waiting: int = 0
    functions: Counter[str] = field(default_factory=Counter)
    packages_self: Counter[str] = field(default_factory=Counter)
    packages_inclusive: Counter[str] = field(default_factory=Counter)
    own_innermost: Counter[str] = field(default_factory=Counter)
    own_inclusive: Counter[str] = field(default_factory=Counter)

    def add(self, stack: str, count: int) -> None:
        found = frames(stack)
        if not found:
            return
        if found[-1].waits():
            self.waiting += count
            return
        self.samples += count
        top = found[-1]
        self.functions[top.name] += count
        self.packages_self[package_of(top.module)] += count
        for package in {package_of(f.module) for f in found} - ENTRY:
            self.packages_inclusive[package] += count
        ours = [f for f in found if f.module.startswith("crocevia")]
        for name in {f.name for f in ours if f.name not in PLUMBING}:
            self.own_inclusive[name] += count
        self.own_innermost[ours[-1].name if ours else f"(none of ours: {package_of(top.module)})"] += count

    def merge(self, other: Summary) -> None:
        self.samples += other.samples
        self.waiting += other.waiting
        self.functions.update(other.functions)
        self.packages_self.update(other.packages_self)
        self.packages_inclusive.update(other.packages_inclusive)
        self.own_innermost.update(other.own_innermost)
        self.own_inclusive.update(other.own_inclusive)

    def as_json(self, top: int = 15) -> dict[str, object]:
        def share(counter: Counter[str]) -> list[list[object]]:
            return [[k, round(100 * v / max(self.samples, 1), 1)] for k, v in counter.most_common(top)]

        return {
            "samples": self.samples,
            "waiting_samples": self.waiting,
            "self_functions_pct": share(self.functions),
            "self_packages_pct": share(self.packages_self),
            "inclusive_packages_pct": share(self.packages_inclusive),
            "innermost_crocevia_function_pct": share(self.own_innermost),
            "inclusive_crocevia_function_pct": share(self.own_inclusive),
        }


def summarise(lines: Iterable[str]) -> Summary:
    summary = Summary()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if stack and count.isdigit():
            summary.add(stack, int(count))
    return summary


class Profiler:
    """``py-spy record`` on some processes until ``stop()``; then their summaries."""

    def __init__(self, out_dir: Path, rate: int = 100) -> None:
        found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
        if not found:
            raise RuntimeError("py-spy not found: run `uv sync` (it is a development dependency)")
        self.binary = found
        self.out_dir = out_dir
        self.rate = rate
        self._running: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}

    def start(self, name: str, pid: int, rate: int | None = None) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        output = self.out_dir / f"{name}.txt"
        argv = [self.binary, "record", "--pid", str(pid), "--rate", str(rate or self.rate), "--nonblocking"]
        argv += ["--full-filenames", "--format", "raw", "--output", str(output)]
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._running[name] = (process, output)

    def stop(self) -> dict[str, Summary]:
        """Stop every recording (py-spy writes its samples on SIGINT) and summarise them."""
        for process, _ in self._running.values():
            process.send_signal(signal.SIGINT)
        summaries = {}
        for name, (process, output) in self._running.items():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            summaries[name] = summarise(output.read_text().splitlines()) if output.exists() else Summary()
        self._running = {}
        return summaries


def merged(summaries: Iterable[Summary]) -> Summary:
    """Several processes' samples as one (e.g. every node)."""
    total = Summary()
    for summary in summaries:
        total.merge(summary)
    return total
