"""Node.js tools the tests run (the official AsyncAPI parser, an OpenID provider): each has a
folder under tests/kit with a committed package.json and package-lock.json, installed with
`npm ci` the first time a test needs it (never a download at import, never a skip)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

KIT = Path(__file__).resolve().parent


def node_tool(name: str) -> Path:
    """The folder of tests/kit/``name``, its locked packages installed."""
    folder = KIT / name
    if not (folder / "node_modules").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed: the tests need Node.js (https://nodejs.org) and npm")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=folder, check=True, capture_output=True
        )
    return folder


def node() -> str:
    found = shutil.which("node")
    if found is None:
        raise RuntimeError("node is not installed: the tests need Node.js (https://nodejs.org)")
    return found
