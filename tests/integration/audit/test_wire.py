"""The audit's tests publish events signed the way the network signs them (``wire.py``):
the keys they sign with must be in the directory of the NATS server they publish to, or
the audit refuses every event ("no keys of ... in the directory")."""

from __future__ import annotations

from pathlib import Path

from crocevia_common.messaging.streams import directory_bucket
from tests.integration.audit.wire import jetstream, signers
from tests.kit.nats import NatsProcess


async def directory_keys(url: str) -> set[str]:
    async with jetstream(url) as js:
        return set(await (await directory_bucket(js)).keys())


async def test_a_server_on_the_port_of_an_earlier_one_gets_the_keys_in_its_own_directory(tmp_path: Path) -> None:
    earlier = NatsProcess(workdir=tmp_path / "earlier").start()
    try:
        async with jetstream(earlier.url) as js:
            await (await signers(js)).headers("pioltello-casa", b"{}")
    finally:
        earlier.stop()
    later = NatsProcess(workdir=tmp_path / "later", port=earlier.port).start()
    try:
        async with jetstream(later.url) as js:
            await (await signers(js)).headers("pioltello-casa", b"{}")
        assert "pioltello-casa" in await directory_keys(later.url)
    finally:
        later.stop()


async def test_every_connection_to_one_server_signs_with_the_same_keys(nats_process: NatsProcess) -> None:
    async with jetstream(nats_process.url) as first, jetstream(nats_process.url) as second:
        one = await (await signers(first)).of("cpia2")
        two = await (await signers(second)).of("cpia2")
    nats_process.stop()
    nats_process.start()  # the same server again, its directory kept
    async with jetstream(nats_process.url) as after:
        three = await (await signers(after)).of("cpia2")
    assert one.public() == two.public() == three.public()
