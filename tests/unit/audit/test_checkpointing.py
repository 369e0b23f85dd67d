"""When the log signs a checkpoint, on in-memory stores: the empty tree at first start, then
every N entries or on time, never twice the same size, never without the write lock when
it might be due, and never a tree that does not extend the last checkpoint."""

from __future__ import annotations

import pytest
from nacl.signing import SigningKey

from crocevia_audit.handlers.append import TrailWriter
from crocevia_audit.handlers.checkpoints import Checkpointer, TrailCorrupted
from crocevia_common.tlog.checkpoint import open_checkpoint
from crocevia_common.tlog.merkle import EMPTY_ROOT
from crocevia_common.tlog.note import parse_verifier_key
from tests.integration.audit.events import Network, checked
from tests.unit.audit.fakes import FakeTrail

ORIGIN = "crocevia.test/trail"


class Log:
    """A trail on in-memory stores, its writer and its signer."""

    def __init__(self, every_entries: int = 10) -> None:
        self.trail = FakeTrail()
        self.writer = TrailWriter(self.trail.uow)
        self.woken = 0
        self.signer = Checkpointer(
            self.trail.uow,
            self.writer,
            SigningKey(b"k" * 32),
            ORIGIN,
            every_entries=every_entries,
            every_seconds=60,
            wake=self.wake,
        )
        self.net = Network()

    def wake(self) -> None:
        self.woken += 1

    async def append(self, count: int) -> None:
        start = len(self.trail.state.entries)
        await self.writer.append(checked([self.net.event("requested", f"ref-{start + i}") for i in range(count)]))

    def signed_sizes(self) -> list[int]:
        return sorted(self.trail.state.checkpoints)


async def test_the_first_start_signs_the_empty_tree_and_queues_it_for_publication() -> None:
    log = Log()
    signed = await log.signer.sign_if_due()
    assert signed is not None and (signed.size, signed.root) == (0, EMPTY_ROOT)
    [message] = log.trail.published()
    assert (message.id, message.subject, message.content_type) == ("checkpoint-0", "audit.v1.checkpoint", "text/plain")
    assert open_checkpoint(message.payload, [parse_verifier_key(log.signer.vkey)], origin=ORIGIN).size == 0
    assert log.woken == 1  # the relay is told at once


async def test_a_checkpoint_is_signed_every_n_entries_and_on_time_for_what_waits() -> None:
    log = Log(every_entries=10)
    await log.signer.sign_if_due()
    for _ in range(25):
        await log.append(1)
        await log.signer.sign_if_due()
    assert log.signed_sizes() == [0, 10, 20]
    signed = await log.signer.sign_if_due(on_time=True)
    assert signed is not None and signed.size == 25
    assert signed.root == (await log.writer.head())[1]
    assert await log.signer.sign_if_due(on_time=True) is None  # nothing new waits
    assert [m.id for m in log.trail.published()] == ["checkpoint-0", "checkpoint-10", "checkpoint-20", "checkpoint-25"]


async def test_when_too_few_entries_wait_the_write_lock_is_not_taken() -> None:
    log = Log(every_entries=10)
    await log.signer.sign_if_due()
    await log.append(3)
    units = log.trail.units
    assert await log.signer.sign_if_due() is None
    assert log.trail.units == units


async def test_a_batch_of_more_than_n_entries_is_signed_at_its_full_size() -> None:
    log = Log(every_entries=10)
    await log.signer.sign_if_due()
    await log.append(23)
    signed = await log.signer.sign_if_due()
    assert signed is not None and signed.size == 23


async def test_the_log_refuses_to_sign_a_tree_that_does_not_extend_its_last_checkpoint() -> None:
    log = Log(every_entries=10)
    await log.append(12)
    assert (await log.signer.sign_if_due()).size == 12
    log.trail.state.nodes[(3, 0)] = b"\x07" * 32  # someone rewrites history behind the log's back
    await log.append(1)
    with pytest.raises(TrailCorrupted, match="does not extend the checkpoint of size 12"):
        await log.signer.sign_if_due(on_time=True)
    assert log.signed_sizes() == [12]
    assert [m.id for m in log.trail.published()] == ["checkpoint-12"]


async def test_a_checkpoint_that_cannot_be_stored_is_not_published_either() -> None:
    log = Log(every_entries=1)
    await log.append(2)
    log.trail.fail_on = "checkpoints"
    with pytest.raises(ConnectionError):
        await log.signer.sign_if_due()
    assert (log.signed_sizes(), log.trail.published(), log.signer.signed) == ([], [], 0)
    assert (await log.signer.sign_if_due()).size == 2
