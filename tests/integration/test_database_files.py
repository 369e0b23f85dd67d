"""A service's SQLite file holds its private keys: it and its WAL files are readable by
their owner only, in a directory only the owner can enter when the service made it."""

from __future__ import annotations

from pathlib import Path
from stat import S_IMODE

from sqlalchemy import text

from crocevia_common.db import Database


def mode(path: Path) -> int:
    return S_IMODE(path.stat().st_mode)


async def test_a_new_database_and_its_wal_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "made" / "here" / "node.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE node_keys (secret TEXT)"))
            await session.execute(text("INSERT INTO node_keys VALUES ('private')"))
        files = {p.name: mode(p) for p in path.parent.iterdir()}
    finally:
        await db.dispose()

    assert files == {"node.db": 0o600, "node.db-wal": 0o600, "node.db-shm": 0o600}
    assert mode(tmp_path / "made") == mode(tmp_path / "made" / "here") == 0o700


def readable_by_others(directory: Path, *files: Path) -> None:
    for file in files:
        file.touch()
        file.chmod(0o644)
    directory.chmod(0o755)


async def test_an_existing_database_made_readable_by_others_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    readable_by_others(tmp_path, path, tmp_path / "audit.db-wal")

    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.dispose()

    assert mode(path) == mode(tmp_path / "audit.db-wal") == 0o600
    assert mode(tmp_path) == 0o755  # a directory it did not make is left as it is
