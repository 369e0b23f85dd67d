"""The project's benchmarks (``python -m bench``), run on demand, never by the test suite."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def add_section(name: str, report: str) -> None:
    """Add one run's ``report`` to ``bench/results/<name>.txt`` under a heading with the date
    and the revision it ran at; earlier runs stay in the file to compare with."""
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    section = f"# bench/{name}.py, {time.strftime('%Y-%m-%d %H:%M')}, at {revision.stdout.strip()}\n{report}"
    path = RESULTS / f"{name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    earlier = path.exists()
    with path.open("a") as results:
        results.write(("\n" if earlier else "") + section)
