"""Backups of a network's data directory while it runs, and their restore.

Each SQLite database is copied with SQLite's online backup API in one step: one read
transaction, so the copy is the state of one commit, taken while the service keeps writing
(in WAL mode a reader never blocks the writer). The copy is checked (``PRAGMA
integrity_check``) before it takes its name. The keys and secrets beside the databases (the
audit's checkpoint key, NATS passwords, the operator's key, the development token key) are
copied as files. Not copied: the NATS store (``nats/``, JetStream's own), the logs, and
what a running launcher owns (its lock, ``network.json``). Everything is readable by its
owner only."""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from crocevia.devnet import LOCK_FILE
from crocevia.nats_secrets import private_directory

SKIPPED = {"nats", "logs", LOCK_FILE, "network.json", "network.json.tmp"}


class BackupError(RuntimeError):
    """A backup or a restore could not be made; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class Copied:
    name: str  # file name in the data directory, e.g. ``referrals-cpia2.db``
    size: int  # bytes


def backup(data_dir: Path, to: Path) -> list[Copied]:
    """Copy ``data_dir``'s databases (online) and key files into ``to``, a new or empty
    directory; what was copied."""
    databases = sorted(data_dir.glob("*.db"))
    if not databases:
        raise BackupError(f"no database (*.db) in {data_dir}")
    if to.exists() and any(to.iterdir()):
        raise BackupError(f"{to} is not empty: back up into a new directory")
    private_directory(to)
    copied = [_copy_database(db, to / db.name) for db in databases]
    for path in sorted(data_dir.iterdir()):
        if path.name in SKIPPED or path.suffix == ".db" or path.name.endswith((".db-wal", ".db-shm", ".db-journal")):
            continue
        if path.is_dir():
            shutil.copytree(path, to / path.name, copy_function=shutil.copy2)
        elif path.is_file():
            shutil.copy2(path, to / path.name)
        else:
            continue
        copied.append(Copied(path.name, _size(to / path.name)))
    return copied


def restore(backup_dir: Path, data_dir: Path, services: list[str]) -> list[Copied]:
    """Put ``services``' databases back from ``backup_dir`` into ``data_dir``; refused while
    a network runs on ``data_dir`` (its launcher holds the directory's lock)."""
    lock = data_dir / LOCK_FILE
    if lock.exists():
        fd = os.open(lock, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"a network runs on {data_dir}: stop it first") from None
        finally:
            os.close(fd)
    return [restore_database(backup_dir / f"{name}.db", data_dir) for name in services]


def restore_database(copy: Path, data_dir: Path) -> Copied:
    """Replace the database of the same name in ``data_dir`` (and its WAL) with ``copy``.
    Its service must be stopped."""
    if not copy.is_file():
        raise BackupError(f"no backup {copy}")
    _check(copy)
    target = data_dir / copy.name
    for leftover in (target.with_name(f"{target.name}-wal"), target.with_name(f"{target.name}-shm")):
        leftover.unlink(missing_ok=True)
    partial = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(copy, partial)
    partial.chmod(0o600)
    partial.replace(target)
    return Copied(target.name, _size(target))


def _copy_database(source: Path, target: Path) -> Copied:
    partial = target.with_name(f".{target.name}.partial")
    try:
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)) as reader,
            closing(sqlite3.connect(partial)) as writer,
        ):
            reader.backup(writer)  # one step: one read transaction, one commit's state
        partial.chmod(0o600)
        _check(partial)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"{source.name}: {exc}") from None
    partial.replace(target)
    return Copied(target.name, _size(target))


def _check(database: Path) -> None:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        verdict = db.execute("PRAGMA integrity_check").fetchone()
    if verdict != ("ok",):
        raise BackupError(f"{database.name} fails SQLite's integrity check: {verdict}")


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
