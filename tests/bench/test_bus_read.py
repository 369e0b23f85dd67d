"""The bench's and the fault suite's reader of a stream hands out each message once and in
order even when its consumer goes away under it (as when a cluster has no consumer leader
for a while after a member was killed): it goes on from the next message with a new one."""

from __future__ import annotations

import nats
from nats.js.api import StreamConfig

from bench.net.bus import Bus


async def test_a_read_goes_on_from_the_next_message_when_its_consumer_is_gone(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        bus = Bus(nc)
        await bus.js.add_stream(StreamConfig(name="READ", subjects=["read.>"]))
        for i in range(2500):
            await bus.js.publish(f"read.{i % 3}", str(i).encode())
        seen, removed = [], 0
        async for msg in bus.read("READ", first=2, patience=10):
            seen.append(int(msg.data))
            if len(seen) in (1, 1500):  # its consumer deleted mid-read, twice
                for name in await bus.js.consumers_info("READ"):
                    await bus.js.delete_consumer("READ", name.name)
                    removed += 1
    finally:
        await nc.close()
    assert removed == 2
    assert seen == list(range(1, 2500))
