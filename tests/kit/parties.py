"""Parties of a test that publish on NATS themselves, as a node or the notifications service
would: each has its own keys, publishes them in the directory bucket, and signs what it
publishes (``Crocevia-Signature``), so the consumers' intake takes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nats.js import JetStreamContext

from crocevia_common.messaging.streams import directory_bucket
from crocevia_contracts.directory import SERVICE_KEY_PREFIX, AgencyEntry, ServiceEntry
from crocevia_contracts.sealing import SIGNATURE_HEADER, PartyKeys, sign_event


def minimal_entry(agency: str) -> AgencyEntry:
    return AgencyEntry.model_validate(
        {
            "organization": {"id": agency, "name": agency.upper()},
            "services": [
                {
                    "id": "main-service",
                    "name": f"Main service of {agency}",
                    "domain": "education",
                    "response_targets": {
                        "routine": {"receive_within_hours": 24, "decide_within_hours": 120},
                        "urgent": {"receive_within_hours": 4, "decide_within_hours": 24},
                    },
                }
            ],
        }
    )


@dataclass
class Signers:
    """Keys of every party a test publishes as; ``entries`` are what each agency states about
    itself (default: one service, ``main-service``)."""

    js: JetStreamContext
    entries: dict[str, AgencyEntry] = field(default_factory=dict)
    keys: dict[str, PartyKeys] = field(default_factory=dict)

    async def publish_keys(self, party: str, keys: PartyKeys | None = None) -> PartyKeys:
        """Give ``party`` keys (new ones unless given) and write its directory entry."""
        keys = keys or PartyKeys.generate()
        self.keys[party] = keys
        kv = await directory_bucket(self.js)
        if party.startswith(SERVICE_KEY_PREFIX):
            entry: AgencyEntry | ServiceEntry = ServiceEntry(
                service=party.removeprefix(SERVICE_KEY_PREFIX), public_keys=keys.public(), key_history=keys.history
            )
        else:
            known = self.entries.get(party) or minimal_entry(party)
            entry = known.model_copy(update={"public_keys": keys.public(), "key_history": keys.history})
        await kv.put(party, entry.model_dump_json().encode())
        return keys

    async def of(self, party: str) -> PartyKeys:
        """``party``'s keys, published on first use."""
        return self.keys.get(party) or await self.publish_keys(party)

    async def headers(self, party: str, payload: bytes, **extra: Any) -> dict[str, str]:
        """The headers of a message ``party`` publishes: its signature, and ``extra``."""
        return {SIGNATURE_HEADER: sign_event(await self.of(party), payload), **{k: str(v) for k, v in extra.items()}}

    async def publish(self, party: str, subject: str, payload: bytes, msg_id: str | None = None) -> None:
        headers = await self.headers(party, payload)
        if msg_id is not None:
            headers["Nats-Msg-Id"] = msg_id
        await self.js.publish(subject, payload, headers=headers)
