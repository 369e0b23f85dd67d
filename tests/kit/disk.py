"""A small filesystem of its own (a ``tmpfs`` mounted for the test, so root only) that can be
filled to the last byte and emptied again: a real ``ENOSPC`` under a service's SQLite file,
as a full disk gives, rather than a stand-in such as ``PRAGMA max_page_count`` (a setting of
one connection, which another process cannot impose on the service's own)."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import tempfile
from pathlib import Path

FILLER = "filler"


def mountable() -> str | None:
    """Why a tmpfs cannot be mounted here, or None when it can."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    with tempfile.TemporaryDirectory() as probe:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe], capture_output=True)
        if done.returncode != 0:
            return f"mount -t tmpfs failed: {done.stderr.decode(errors='replace').strip()[:200]}"
        subprocess.run(["umount", probe], check=True)
    return None


class SmallDisk:
    """``mount()`` a tmpfs of ``megabytes`` at ``path`` (made 0700), ``fill()`` it, ``free()``
    it, ``unmount()`` it."""

    def __init__(self, path: Path, megabytes: int = 64) -> None:
        self.path = path
        self.megabytes = megabytes
        self.mounted = False

    def mount(self) -> SmallDisk:
        self.path.mkdir(parents=True, exist_ok=True)
        options = f"size={self.megabytes}m,mode=0700"
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(self.path)], check=True)
        self.mounted = True
        return self

    def fill(self) -> int:
        """Write a file until the filesystem refuses another byte; the bytes it took."""
        written = 0
        fd = os.open(self.path / FILLER, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 1 << 12, 1):
                chunk = b"\0" * size
                while True:
                    try:
                        written += os.write(fd, chunk)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(fd)
        return written

    def free(self) -> None:
        (self.path / FILLER).unlink(missing_ok=True)

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "--lazy", str(self.path)], check=True)
            self.mounted = False


def truncate_wal(database: Path, tries: int = 50) -> bool:
    """Checkpoint ``database``'s write-ahead log into the file and truncate it to nothing, as
    a node's log stands after a quiet moment: its next write must grow the log, so a full
    disk refuses it (a log that grew before is overwritten in place, needing no new space).
    Whether it was truncated (a writer or reader can hold it back)."""
    conn = sqlite3.connect(database, timeout=10.0, isolation_level=None)
    try:
        for _ in range(tries):
            busy, _frames, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy == 0:
                return True
        return False
    finally:
        conn.close()
