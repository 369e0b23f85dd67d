"""``crocevia backup`` and ``crocevia restore`` on a data directory's SQLite files."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from crocevia.cli import main
from crocevia.devnet import LOCK_FILE


def rows(database: Path) -> list[int]:
    with closing(sqlite3.connect(database)) as db:
        return [r[0] for r in db.execute("SELECT n FROM t ORDER BY n")]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "audit").mkdir(parents=True)
    (data / "audit" / "checkpoint-signing.key").write_text("key\n")
    (data / "nats").mkdir()
    (data / "nats" / "store").write_text("jetstream's own")
    (data / "logs").mkdir()
    (data / "dev-jwt.key").write_text("jwt key\n")
    with closing(sqlite3.connect(data / "audit.db")) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (n INTEGER)")
        db.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
        db.commit()
    return data


def test_a_backup_copies_what_is_committed_while_a_writer_is_mid_transaction(data: Path, tmp_path: Path) -> None:
    writer = sqlite3.connect(data / "audit.db")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (3)")  # not committed while the copy is taken
    try:
        assert main(["backup", "--data-dir", str(data), "--to", str(tmp_path / "copy")]) == 0
    finally:
        writer.rollback()
        writer.close()
    copy = tmp_path / "copy"
    assert rows(copy / "audit.db") == [1, 2]
    assert (copy / "audit.db").stat().st_mode & 0o777 == 0o600
    assert (copy / "audit" / "checkpoint-signing.key").read_text() == "key\n"
    assert (copy / "dev-jwt.key").exists()
    assert not (copy / "nats").exists() and not (copy / "logs").exists()


def test_a_backup_into_a_directory_that_holds_something_is_refused(data: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "audit.db").write_text("an older copy")
    assert main(["backup", "--data-dir", str(data), "--to", str(tmp_path / "copy")]) == 1
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "copy" / "audit.db").read_text() == "an older copy"


def test_a_restore_puts_the_copy_back_and_drops_the_stale_wal(data: Path, tmp_path: Path) -> None:
    assert main(["backup", "--data-dir", str(data), "--to", str(tmp_path / "copy")]) == 0
    with closing(sqlite3.connect(data / "audit.db")) as db:
        db.execute("INSERT INTO t VALUES (9)")
        db.commit()
    (data / "audit.db-wal").write_bytes(b"left by a killed process")
    assert main(["restore", "audit", "--data-dir", str(data), "--from", str(tmp_path / "copy")]) == 0
    assert not (data / "audit.db-wal").exists()
    assert rows(data / "audit.db") == [1, 2]


def test_a_restore_is_refused_while_a_network_runs_on_the_data_directory(data: Path, tmp_path: Path, capsys) -> None:
    assert main(["backup", "--data-dir", str(data), "--to", str(tmp_path / "copy")]) == 0
    fd = os.open(data / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as `crocevia up` holds it
    try:
        assert main(["restore", "audit", "--data-dir", str(data), "--from", str(tmp_path / "copy")]) == 1
    finally:
        os.close(fd)
    assert "stop it first" in capsys.readouterr().err


def test_a_restore_of_a_service_without_a_copy_says_so(data: Path, tmp_path: Path, capsys) -> None:
    assert main(["restore", "referrals-cpia2", "--data-dir", str(data), "--from", str(tmp_path)]) == 1
    assert "no backup" in capsys.readouterr().err
