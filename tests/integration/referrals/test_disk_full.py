"""A node's SQLite file on a disk that fills up (a tmpfs of its own, filled to the last byte):
the API refuses what it cannot write with 503 ``/problems/storage-full`` and Retry-After,
never a 500, still answers what it can read, and takes the same request once space is back;
what was refused left nothing behind."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.referrals.conftest import referral_body
from tests.kit.disk import SmallDisk, mountable, truncate_wal
from tests.kit.hostile import assert_problem
from tests.kit.services import eventually


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    if why := mountable():
        pytest.skip(f"no disk of its own for the node: {why}")
    small = SmallDisk(tmp_path / "disk", megabytes=16).mount()
    try:
        yield small
    finally:
        small.unmount()


async def test_a_node_whose_disk_is_full_refuses_writes_with_a_problem_then_recovers(node_factory, tokens, disk):
    staff = tokens.bearer("pioltello-casa")
    database = disk.path / "casa.db"
    async with (
        node_factory("pioltello-casa", database_url=f"sqlite+aiosqlite:///{database}") as casa,
        node_factory("cpia2"),
    ):
        made = await casa.post("/referrals", json=referral_body(), headers=staff)
        assert made.status_code == 201, made.text

        async def received() -> bool:
            seen = await casa.get(f"/referrals/{made.json()['id']}", headers=staff)
            return seen.json()["status"] == "received"

        await eventually(received)  # the exchange is over: the node is quiet
        # In a thread: the node runs on this event loop, and a transaction it holds open
        # must be able to finish for the checkpoint to truncate the log.
        assert await asyncio.to_thread(truncate_wal, database)
        assert disk.fill() > 0
        key = {**staff, "Idempotency-Key": "disk-full-1"}
        refused = await casa.post("/referrals", json=referral_body(reason="while full"), headers=key)
        assert_problem(refused, 503, "storage-full")
        assert refused.headers["retry-after"] == "30"
        assert "while full" not in refused.text
        read = await casa.get(f"/referrals/{made.json()['id']}", headers=staff)
        assert read.status_code in (200, 503), read.text  # a read that logs its access writes too
        if read.status_code == 503:
            assert_problem(read, 503, "storage-full")
        disk.free()
        again = await casa.post("/referrals", json=referral_body(reason="while full"), headers=key)
        assert again.status_code == 201, again.text
        listed = (await casa.get("/referrals", params={"direction": "outgoing"}, headers=staff)).json()["items"]
        assert sorted(r["id"] for r in listed) == sorted([made.json()["id"], again.json()["id"]])
