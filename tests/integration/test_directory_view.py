"""A directory view holds every entry of the bucket once started, even when the watch it
follows marks the end of the initial values without having delivered one of them (nats-py's
watch drops a value whose handler waited longer than the JetStream timeout for the watch's
consumer info, as happens on a loaded machine)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
from nats.js.kv import KeyValue

from crocevia_common.directory import DirectoryView
from crocevia_common.messaging.streams import directory_bucket
from crocevia_referrals.adapters.directory import load_agency_file
from tests.kit.nats import NatsProcess
from tests.kit.services import agency_file


class LosingTheFirstValue:
    """The real bucket, whose watch loses its first initial value and goes on."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def watchall(self) -> AsyncIterator[Any]:
        watcher = await self.kv.watchall()

        async def losing() -> AsyncIterator[Any]:
            lost = False
            async for update in watcher:
                if update is not None and not lost:
                    lost = True
                    continue
                yield update

        return losing()

    async def get(self, key: str) -> Any:
        return await self.kv.get(key)


async def test_a_view_reads_the_entries_its_watch_lost_before_marking_the_initial_values_done(tmp_path: Path) -> None:
    server = NatsProcess(workdir=tmp_path / "nats").start()
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        kv = await directory_bucket(js)
        for agency in ("agency-one", "agency-two", "agency-three"):
            entry = load_agency_file(agency_file(tmp_path / "agencies", agency))
            await kv.put(agency, entry.model_dump_json().encode())
        await kv.put("agency-gone", b"{}")
        await kv.delete("agency-gone")  # a removed key: nothing to read
        view = DirectoryView(LosingTheFirstValue(kv), js)  # type: ignore[arg-type]
        await view.start()
        listed = [entry.organization.id for entry in view.all()]
        await view.stop()
        await nc.close()
    finally:
        server.stop()
    assert listed == ["agency-one", "agency-three", "agency-two"]
