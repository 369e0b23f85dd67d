"""Files and directories readable by their owner only: databases, keys, passwords."""

from __future__ import annotations

import os
from pathlib import Path


def make_private_dirs(path: Path) -> Path:
    """Create the missing directories of ``path``, each 0700; existing ones stay as they are."""
    for directory in reversed([path, *path.parents]):
        if not directory.exists():
            directory.mkdir(mode=0o700, exist_ok=True)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), never visible with a
    wider mode in between; an existing file is replaced."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    temporary.replace(path)
