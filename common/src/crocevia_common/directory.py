"""The network directory, as every service sees it: a live view of the ``directory``
key-value bucket (a KV watch, not polling), read ignoring fields this version does not know.

The bucket holds three kinds of keys: ``<agency>`` (an agency's entry, written by its node),
``service.<name>`` (a service that signs what it publishes) and ``confirmed.<party>`` (the
network operator's confirmation of a party's new keys). Entries say what a party publishes
about itself; which keys a consumer trusts is decided by ``crocevia_common.trust``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from nats.js import JetStreamContext
from nats.js.errors import InvalidKeyError, KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import ValidationError

from crocevia_common.messaging.stream_specs import bucket_stream
from crocevia_contracts.directory import (
    CONFIRMATION_KEY_PREFIX,
    SERVICE_KEY_PREFIX,
    AgencyEntry,
    KeyConfirmation,
    KeyEndorsement,
    PublicKeys,
    ServiceEntry,
    ServiceTarget,
    read_confirmation,
    read_entry,
    read_service_entry,
)
from crocevia_contracts.stream import DIRECTORY

log = logging.getLogger(__name__)


class DirectoryUnavailable(Exception):
    """The directory bucket could not be read (NATS is away): not the same as a party that
    is not in the directory."""


class DirectoryView:
    """Every entry of the directory bucket, kept current by a watch."""

    def __init__(self, kv: KeyValue, js: JetStreamContext) -> None:
        self._kv = kv
        self._js = js
        self._seen: set[str] = set()  # the keys the view has applied a value or a removal of
        self._agencies: dict[str, AgencyEntry] = {}
        self._services: dict[str, ServiceEntry] = {}
        self._confirmations: dict[str, KeyConfirmation] = {}
        self._watcher: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()  # set at every change; whoever waits clears it

    async def start(self) -> None:
        """Load every entry and keep following changes."""
        watcher = await self._kv.watchall()
        first = asyncio.get_running_loop().create_future()

        async def follow() -> None:
            async for update in watcher:
                if update is None:  # end of the initial values
                    if not first.done():
                        first.set_result(None)
                    continue
                self._apply(update.key, update.value, update.operation)

        self._watcher = asyncio.create_task(follow(), name="directory-watch")
        await asyncio.wait_for(first, timeout=10)
        await self._read_missed()

    async def _read_missed(self) -> None:
        """Read each key the bucket holds that the watch has not delivered. nats-py's watch
        drops an initial value whose handler waited longer than the JetStream timeout for the
        watch's consumer info (a loaded machine), and still marks the end of the initial
        values: without this, the view would lack that party until its entry next changes."""
        stream = bucket_stream(DIRECTORY)
        prefix = stream.subjects[0].removesuffix(">")
        info = await self._js.stream_info(stream.name, subjects_filter=stream.subjects[0])
        for subject in sorted(info.state.subjects or {}):
            key = subject.removeprefix(prefix)
            if key not in self._seen:
                await self._read(key)

    async def stop(self) -> None:
        if self._watcher:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    def _apply(self, key: str, value: bytes | None, operation: str | None) -> None:
        self._seen.add(key)
        removed = operation in ("DEL", "PURGE") or not value
        try:
            if key.startswith(SERVICE_KEY_PREFIX):
                name = key.removeprefix(SERVICE_KEY_PREFIX)
                if removed:
                    self._services.pop(name, None)
                else:
                    self._services[name] = read_service_entry(value or b"")
            elif key.startswith(CONFIRMATION_KEY_PREFIX):
                party = key.removeprefix(CONFIRMATION_KEY_PREFIX)
                if removed:
                    self._confirmations.pop(party, None)
                else:
                    self._confirmations[party] = read_confirmation(value or b"")
            elif removed:
                self._agencies.pop(key, None)
            else:
                entry = read_entry(value or b"")
                if entry.organization.id != key:
                    raise ValueError("the entry names another agency than its key")
                self._agencies[key] = entry
        except (ValueError, ValidationError):
            log.warning("directory entry %s is not valid, ignored", key)
        self.changed.set()

    # -- what parties publish -------------------------------------------------------------

    def get(self, agency_id: str) -> AgencyEntry | None:
        return self._agencies.get(agency_id)

    async def fetch(self, agency_id: str) -> AgencyEntry | None:
        """The entry of ``agency_id``, asking the bucket if the live view lacks it yet; raise
        DirectoryUnavailable when the bucket cannot be asked."""
        found = self._agencies.get(agency_id)
        if found is not None:
            return found
        await self._read(agency_id)
        return self._agencies.get(agency_id)

    async def _read(self, key: str) -> None:
        try:
            entry = await self._kv.get(key)
        except (KeyNotFoundError, InvalidKeyError):  # no such party, or not a name one can have
            return
        except Exception as exc:
            raise DirectoryUnavailable(f"the directory bucket cannot be read: {type(exc).__name__}") from exc
        self._apply(key, entry.value, None)

    def all(self) -> list[AgencyEntry]:
        return [self._agencies[k] for k in sorted(self._agencies)]

    def names(self, *agency_ids: str) -> tuple[dict[str, str], dict[str, str]]:
        """The names of these agencies, and of their services by service id."""
        agencies: dict[str, str] = {}
        services: dict[str, str] = {}
        for agency_id in dict.fromkeys(agency_ids):
            entry = self._agencies.get(agency_id)
            if entry is not None:
                agencies[agency_id] = entry.organization.name
                services.update({s.id: s.name for s in entry.services})
        return agencies, services

    def target_for(self, agency_id: str, service_id: str, priority: str) -> ServiceTarget | None:
        """The target a referral to that service is held to (``AgencyEntry.target_for``)."""
        entry = self._agencies.get(agency_id)
        return entry.target_for(service_id, priority) if entry else None

    def published_keys(self, party: str) -> tuple[PublicKeys | None, tuple[KeyEndorsement, ...]]:
        """The keys ``party`` (an agency id or ``service.<name>``) publishes, with its rotations."""
        if party.startswith(SERVICE_KEY_PREFIX):
            service = self._services.get(party.removeprefix(SERVICE_KEY_PREFIX))
            return (service.public_keys, service.key_history) if service else (None, ())
        entry = self._agencies.get(party)
        return (entry.public_keys, entry.key_history) if entry else (None, ())

    async def refresh(self, party: str) -> None:
        """Read ``party``'s entry from the bucket now (the watch may lag behind a message)."""
        await self._read(party)
        await self._read(CONFIRMATION_KEY_PREFIX + party)

    def services(self) -> list[str]:
        """The names of the services that publish keys (``service.<name>`` entries)."""
        return sorted(self._services)

    def confirmation(self, party: str) -> KeyConfirmation | None:
        return self._confirmations.get(party)

    # -- what this service publishes ------------------------------------------------------

    async def publish_agency(self, entry: AgencyEntry) -> AgencyEntry:
        """Write this node's own entry (NATS permissions let it write only its own key)."""
        own = entry.model_copy(update={"updated_at": datetime.now(UTC)})
        await self._kv.put(own.organization.id, own.model_dump_json().encode())
        self._agencies[own.organization.id] = own
        return own

    async def publish_service(self, entry: ServiceEntry) -> ServiceEntry:
        """Write this service's own entry under ``service.<name>``."""
        own = entry.model_copy(update={"updated_at": datetime.now(UTC)})
        await self._kv.put(SERVICE_KEY_PREFIX + own.service, own.model_dump_json().encode())
        self._services[own.service] = own
        return own

    async def put_confirmation(self, confirmation: KeyConfirmation) -> None:
        """Write the operator's confirmation of a party's keys (only the operator may)."""
        await self._kv.put(CONFIRMATION_KEY_PREFIX + confirmation.party, confirmation.model_dump_json().encode())
        self._confirmations[confirmation.party] = confirmation
