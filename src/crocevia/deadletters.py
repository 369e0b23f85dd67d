"""The operator's tool for dead letters: list and read them, put them back once the cause is
fixed (they go through the same checks again), and empty a consumer's once handled.

A dead letter (stream ``DEADLETTERS``, subject ``deadletter.<consumer>``) holds the message as
it arrived, its subject and headers, and why the consumer could not apply it. A replay puts
the message on ``replay.<consumer>`` (stream ``REPLAYS``), which only that consumer reads,
through its intake: signature, parties, sequence, then its use case, as if it came again.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nats.aio.client import Client
from nats.js.errors import NotFoundError

from crocevia.streams import connect_as
from crocevia_common.messaging.connection import NatsLogin
from crocevia_common.messaging.consumer import REPLAYED_FROM, REPLAYED_SUBJECT
from crocevia_contracts.stream import DEAD_LETTERS
from crocevia_contracts.subjects import dead_letter_subject, replay_subject


class DeadLetterProblem(Exception):
    """A dead-letter operation that cannot be done; the message says why."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    sequence: int  # in DEADLETTERS
    consumer: str
    subject: str
    reason: str
    at: datetime
    entry: dict[str, Any]

    @property
    def payload(self) -> bytes | None:
        copied = self.entry.get("payload_base64")
        return base64.b64decode(copied) if copied is not None else None

    def shown(self) -> dict[str, Any]:
        """The dead letter to read: the payload as text when it is (sealed parts stay sealed)."""
        shown = {k: v for k, v in self.entry.items() if k != "payload_base64"}
        payload = self.payload
        if payload is not None:
            try:
                shown["payload"] = json.loads(payload)
            except ValueError:
                shown["payload_base64"] = self.entry["payload_base64"]
        return {"sequence": self.sequence, **shown}


@dataclass(frozen=True, slots=True)
class Selection:
    consumer: str | None = None
    reason: str | None = None  # a part of the reason
    since: datetime | None = None
    sequences: tuple[int, ...] = ()

    def takes(self, letter: DeadLetter) -> bool:
        return (
            (not self.sequences or letter.sequence in self.sequences)
            and (self.consumer is None or letter.consumer == self.consumer)
            and (self.reason is None or self.reason.lower() in letter.reason.lower())
            and (self.since is None or letter.at >= self.since)
        )


async def letters(nc: Client) -> list[DeadLetter]:
    """Every dead letter held, oldest first."""
    js = nc.jetstream()
    state = (await js.stream_info(DEAD_LETTERS.name)).state
    found: list[DeadLetter] = []
    if not state.messages:
        return found
    for sequence in range(state.first_seq, state.last_seq + 1):
        try:
            message = await js.get_msg(DEAD_LETTERS.name, sequence)
        except NotFoundError:  # purged
            continue
        entry = json.loads(message.data or b"{}")
        found.append(
            DeadLetter(
                sequence,
                entry.get("consumer", ""),
                entry.get("subject", ""),
                entry.get("reason", ""),
                datetime.fromisoformat(entry.get("dead_lettered_at", "1970-01-01T00:00:00+00:00")),
                entry,
            )
        )
    return found


async def select(url: str, login: NatsLogin, selection: Selection) -> list[DeadLetter]:
    """The dead letters ``selection`` takes, oldest first."""
    nc = await connect_as(url, login, wait=5)
    try:
        return [letter for letter in await letters(nc) if selection.takes(letter)]
    finally:
        await nc.close()


async def replay(url: str, login: NatsLogin, selection: Selection) -> list[DeadLetter]:
    """Put the selected dead letters back for their consumers; return those put back. A
    dead letter replayed twice within a day is put back once."""
    nc = await connect_as(url, login, wait=5)
    try:
        chosen = [letter for letter in await letters(nc) if selection.takes(letter)]
        without_copy = [str(letter.sequence) for letter in chosen if letter.payload is None]
        if without_copy:
            raise DeadLetterProblem(
                f"dead letters {', '.join(without_copy)} hold no copy of their message (too large to be an event)"
            )
        js = nc.jetstream()
        for letter in chosen:
            headers = {k: str(v) for k, v in letter.entry.get("headers", {}).items() if k != "Nats-Msg-Id"}
            headers |= {
                REPLAYED_SUBJECT: letter.subject,
                REPLAYED_FROM: str(letter.sequence),
                "Nats-Msg-Id": f"replay:{letter.sequence}",
            }
            await js.publish(replay_subject(letter.consumer), letter.payload or b"", headers=headers, timeout=5)
        return chosen
    finally:
        await nc.close()


async def purge(url: str, login: NatsLogin, consumers: Iterable[str]) -> int:
    """Empty the dead letters of ``consumers`` (handled: replayed, or judged hostile); return
    how many went."""
    nc = await connect_as(url, login, wait=5)
    try:
        js = nc.jetstream()
        before = (await js.stream_info(DEAD_LETTERS.name)).state.messages
        for consumer in consumers:
            await js.purge_stream(DEAD_LETTERS.name, subject=dead_letter_subject(consumer))
        after = (await js.stream_info(DEAD_LETTERS.name)).state.messages
        return int(before - after)
    finally:
        await nc.close()
