"""A witness run as its own process (``crocevia-witness serve``), on a free loopback port,
as the party that runs one would start it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.kit.nats import free_port

WITNESS_NAME = "prefettura.test/witness"


def witness_command() -> str:
    """The ``crocevia-witness`` script of this environment."""
    found = shutil.which("crocevia-witness", path=str(Path(sys.executable).parent))
    if not found:
        raise RuntimeError("crocevia-witness not found next to python; run `uv sync`")
    return found


@dataclass
class WitnessProcess:
    """One witness: its name, key file and database, and the logs (verifier keys) it witnesses."""

    workdir: Path
    database_url: str
    log_keys: list[str]
    name: str = WITNESS_NAME
    logs: list[dict[str, Any]] | None = None  # CROCEVIA_WITNESS_LOGS, when not just ``log_keys``
    port: int = field(default_factory=free_port)
    key_path: Path | None = None  # default: witness.key in ``workdir``
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def key_file(self) -> Path:
        return self.key_path or self.workdir / "witness.key"

    def environment(self) -> dict[str, str]:
        logs = self.logs if self.logs is not None else [{"keys": [key]} for key in self.log_keys]
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CROCEVIA_")}
        return {
            **clean,
            "CROCEVIA_WITNESS_NAME": self.name,
            "CROCEVIA_WITNESS_KEY_FILE": str(self.key_file),
            "CROCEVIA_WITNESS_DATABASE_URL": self.database_url,
            "CROCEVIA_WITNESS_LOGS": json.dumps(logs),
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``crocevia-witness ARGS`` with this witness's settings, to completion."""
        return subprocess.run(
            [witness_command(), *args], env=self.environment(), capture_output=True, text=True, timeout=60
        )

    def start(self) -> WitnessProcess:
        """Start the process and wait until it answers."""
        self.launch()
        self.wait_until_healthy()
        return self

    def launch(self) -> WitnessProcess:
        """Start the process without waiting for it to answer."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "witness.log").open("ab")
        self.process = subprocess.Popen(
            [witness_command(), "serve", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.environment(),
            cwd=self.workdir,
        )
        return self

    def wait_until_healthy(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the witness exited with {self.process.returncode}: {self.log_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"the witness did not answer within {timeout}s: {self.log_text()}")

    def log_text(self) -> str:
        path = self.workdir / "witness.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
