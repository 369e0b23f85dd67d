"""Backup and restore under load: ``crocevia backup`` copies a running network's databases
consistently, and a node and the audit restored from a backup resume: the node publishes no
event twice and skips no sequence number (its outbox publishes again what it had not seen
confirmed, and JetStream drops the copies), the audit's trail verifies and catches up."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sqlite3
import subprocess
import sys
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.net import launch
from bench.net.bus import REFERRALS, Bus
from bench.net.client import Client
from bench.net.load import Context
from crocevia.backup import restore_database
from tests.faults import verdict
from tests.faults.load import Load
from tests.faults.processes import kill, process, start_again
from tests.faults.progress import all_caught_up
from tests.faults.suite import Params
from tests.kit.services import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
BIN = Path(sys.executable).parent
NODE, AUDIT = "referrals-cpia2", "audit"


def crocevia_backup(data: Path, to: Path) -> None:
    done = subprocess.run(
        [str(BIN / "crocevia"), "backup", "--data-dir", str(data), "--to", str(to)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert f"{NODE}.db" in done.stdout and "audit.db" in done.stdout


def outbox(database: Path) -> list[tuple[int, str, bool]]:
    """The sequence number, event id and whether it was seen published, of each outbox row."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT payload, event_id, published_at IS NOT NULL FROM outbox ORDER BY position").fetchall()
    return [(json.loads(payload)["sequence"], event_id, bool(published)) for payload, event_id, published in rows]


async def stream_sequences(bus: Bus) -> dict[str, list[tuple[int, str]]]:
    """Each source's sequence numbers and event ids, as the stream holds them."""
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    async for msg in bus.read(REFERRALS):
        event = json.loads(msg.data)
        found[event["source"]].append((event["sequence"], event["id"]))
    return found


@dataclass(frozen=True)
class Restored:
    restored: list[tuple[int, str, bool]]  # the node's outbox in the backup it was restored from
    after: list[tuple[int, str, bool]]  # and at the end
    streams: dict[str, list[tuple[int, str]]]  # each source's numbers and event ids in the stream
    referrals: dict[str, Any]  # verdict.referrals
    trail: dict[str, Any]  # verdict.trail

    def unconfirmed_already_published(self) -> list[str]:
        """Rows the backup held as not published whose event the stream holds already."""
        published = {i for pairs in self.streams.values() for _, i in pairs}
        return [i for _, i, seen in self.restored if not seen and i in published]


async def exercise(run: launch.Running, workdir: Path) -> Restored:
    client, bus = Client(run.urls, run.key_file), await Bus.connect(run.urls)
    ctx = Context(client, bus, {}, None)
    data = run.network.data_dir
    try:
        await client.learn_services()
        load = Load(ctx, rate=2.0, rng=random.Random(1))
        load.start()
        await asyncio.sleep(2)
        # 1. A copy taken while everything writes is one commit's state: gapless sequences.
        await asyncio.to_thread(crocevia_backup, data, workdir / "running")
        taken = outbox(workdir / "running" / f"{NODE}.db")
        assert [s for s, _, _ in taken] == list(range(1, len(taken) + 1)) and taken

        # 2. The node and the audit stop in the middle of their work: NATS is paused first,
        #    so that the node's last publications are sent but their acknowledgements not read
        #    (NATS stores them once it runs again). The copy is taken, then their disks are
        #    lost: what they held unconfirmed is only in the copy.
        process(run.network, "nats").signal_group(signal.SIGSTOP)
        await asyncio.sleep(1)
        for name in (NODE, AUDIT):
            process(run.network, name).signal_group(signal.SIGSTOP)
        process(run.network, "nats").signal_group(signal.SIGCONT)
        await asyncio.to_thread(crocevia_backup, data, workdir / "frozen")
        for name in (NODE, AUDIT):
            kill(run.network, name)
            for suffix in ("", "-wal", "-shm"):
                (data / f"{name}.db{suffix}").unlink(missing_ok=True)
        await asyncio.sleep(1.5)  # the other nodes keep sending to cpia2 meanwhile
        for name in (NODE, AUDIT):
            restore_database(workdir / "frozen" / f"{name}.db", data)
            await start_again(run.network, name, run.urls)
        await asyncio.sleep(2)
        await load.stop()
        await load.settled()
        await all_caught_up(ctx)
        # The relay writes what JetStream confirmed once per mark interval: wait for it.
        await eventually(lambda: asyncio.sleep(0, all(seen for _, _, seen in outbox(data / f"{NODE}.db"))))

        return Restored(
            restored=outbox(workdir / "frozen" / f"{NODE}.db"),
            after=outbox(data / f"{NODE}.db"),
            streams=await stream_sequences(bus),
            referrals=await verdict.referrals(ctx),
            trail=await verdict.trail(ctx, landed_copies=0),
        )
    finally:
        await client.close()
        await bus.close()


def test_a_node_and_the_audit_restored_from_a_backup_taken_under_load_resume_without_a_copy_or_a_gap(
    tmp_path: Path,
) -> None:
    settings = {"CROCEVIA_CONSUMER_ACK_WAIT_SECONDS": str(Params.ack_wait_seconds)}
    agencies = ["cpia2", "pioltello-casa"]
    with launch.running("sqlite", tmp_path, agencies, launch.DEFAULT_POSTGRES, lambda _: None, settings) as run:
        seen = asyncio.run(exercise(run, tmp_path))
    for source, pairs in seen.streams.items():
        sequences = sorted(s for s, _ in pairs)
        assert sequences == list(range(1, len(sequences) + 1)), f"{source}: a sequence number twice or skipped"
        assert len({i for _, i in pairs}) == len(pairs), f"{source}: an event published twice"
    mine = sorted(s for s, _ in seen.streams["/agencies/cpia2"])
    assert [s for s, _, _ in seen.after] == mine, "the node's outbox and the stream hold the same numbers"
    assert all(published for _, _, published in seen.after), "every row published after the restore"
    assert len(mine) > len(seen.restored), "the node went on from its backup"
    again = seen.unconfirmed_already_published()
    assert again, "the backup held publications it had not seen confirmed"
    unconfirmed = sum(1 for _, _, published in seen.restored if not published)
    print(
        f"restored {len(seen.restored)} outbox rows, {unconfirmed} unconfirmed ({len(again)} already in the "
        f"stream: published again, dropped)\n{verdict.as_text('referrals', seen.referrals)}\n"
        f"{verdict.as_text('trail', seen.trail)}"
    )
    assert seen.referrals["ok"], seen.referrals
    assert seen.trail["ok"], seen.trail
