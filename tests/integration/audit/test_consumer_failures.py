"""What the shared consumer does when applying a batch fails (the audit's case): an outage
is waited out, a message that keeps failing goes to the dead-letter subject alone, and the
rest are applied. The server's side is replaced by fakes here: the policy is what is tested;
redelivery on a real server is tested in tests/security."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy.exc import OperationalError

from crocevia_common.messaging.consumer import StreamConsumer
from crocevia_common.messaging.intake import Delivery, Verified, parse
from crocevia_contracts.stream import REFERRAL_EVENTS
from tests.integration.audit.events import Network


@dataclass
class FakeMsg:
    subject: str
    data: bytes
    stream: int
    headers: dict[str, str] = field(default_factory=dict)
    acked: bool = False

    @property
    def metadata(self) -> Any:
        return SimpleNamespace(sequence=SimpleNamespace(stream=self.stream), num_delivered=1, stream="REFERRALS")

    async def ack(self) -> None:
        self.acked = True

    async def in_progress(self) -> None:
        pass


class FakeJetStream:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str], timeout: float) -> None:
        self.published.append((subject, json.loads(payload)))


class ParsingIntake:
    """The intake without signatures (what is tested here is what follows it)."""

    async def verify(self, delivery: Delivery) -> Verified:
        return parse(delivery)


class FlakyWriter:
    """Fails while the database is 'down', and always on the poisoned payload."""

    def __init__(self, outages: int, poison: bytes | None) -> None:
        self.outages = outages
        self.poison = poison
        self.appended: list[int | None] = []

    async def apply(self, items: Sequence[Verified]) -> list[str | None]:
        if self.outages:
            self.outages -= 1
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database away"))
        if any(i.delivery.payload == self.poison for i in items):
            raise RuntimeError("this row cannot be stored: Mario Rossi")
        self.appended += [i.delivery.stream_sequence for i in items]
        return [None for _ in items]


def batch(count: int) -> list[FakeMsg]:
    net = Network()
    return [
        FakeMsg(d.subject, d.payload, i + 1)
        for i, d in enumerate(net.event("requested", f"r{i}") for i in range(count))
    ]


def consumer(writer: FlakyWriter) -> StreamConsumer:
    return StreamConsumer(
        name="audit",
        stream=REFERRAL_EVENTS,
        filter_subject="referral.v1.>",
        intake=ParsingIntake(),  # type: ignore[arg-type]
        apply=writer.apply,
        batch_size=10,
        batched=True,
        retry_delay=0.001,
        max_deliveries=3,
    )


async def test_a_database_outage_is_waited_out_and_nothing_is_dead_lettered():
    messages, js = batch(3), FakeJetStream()
    writer = FlakyWriter(outages=7, poison=None)
    await consumer(writer).process(js, messages)  # type: ignore[arg-type]
    assert writer.appended == [1, 2, 3]
    assert all(m.acked for m in messages) and js.published == []


async def test_a_message_that_keeps_failing_is_dead_lettered_alone_and_the_others_appended():
    messages, js = batch(3), FakeJetStream()
    writer = FlakyWriter(outages=0, poison=messages[1].data)
    subject = consumer(writer)
    await subject.process(js, messages)  # type: ignore[arg-type]
    assert writer.appended == [1, 3]
    assert all(m.acked for m in messages)
    [(where, letter)] = js.published
    assert where == "deadletter.audit" and letter["stream_sequence"] == 2
    assert letter["reason"].startswith("gave up after 3 tries: RuntimeError at test_consumer_failures.py:")
    assert "Mario" not in json.dumps(letter), "an exception's message never reaches a dead letter"
    assert subject.dead_lettered == 1
