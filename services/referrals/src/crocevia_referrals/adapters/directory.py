"""The network directory in the NATS key-value bucket: each node writes its own entry and
keeps a live view of every entry (a KV watch, not polling)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from pathlib import Path

import yaml
from nats.js.kv import KeyValue
from pydantic import ValidationError

from crocevia_contracts.directory import AgencyEntry, PublicKeys, read_entry

log = logging.getLogger(__name__)


def load_agency_file(path: Path) -> AgencyEntry:
    """Read an agency's directory entry from YAML or JSON; raise ValueError with the reason."""
    try:
        raw = yaml.safe_load(path.read_text())
        return AgencyEntry.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"cannot load agency file {path}: {exc}") from exc


class Directory:
    """A live view of the directory bucket."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv
        self._entries: dict[str, AgencyEntry] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    async def publish_own(self, entry: AgencyEntry, keys: PublicKeys) -> AgencyEntry:
        own = entry.model_copy(update={"public_keys": keys, "updated_at": datetime.now(UTC)})
        await self._kv.put(own.organization.id, own.model_dump_json().encode())
        self._entries[own.organization.id] = own
        return own

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

    def _apply(self, key: str, value: bytes | None, operation: str | None) -> None:
        if operation in ("DEL", "PURGE") or not value:
            self._entries.pop(key, None)
            return
        try:
            self._entries[key] = read_entry(value)
        except (ValueError, ValidationError) as exc:
            log.warning("directory entry %s is not valid, ignored: %s", key, exc)

    async def stop(self) -> None:
        if self._watcher:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    def get(self, agency_id: str) -> AgencyEntry | None:
        return self._entries.get(agency_id)

    async def fetch(self, agency_id: str) -> AgencyEntry | None:
        """The entry of ``agency_id``, asking the bucket if the live view lacks it yet."""
        found = self._entries.get(agency_id)
        if found is not None:
            return found
        try:
            kv_entry = await self._kv.get(agency_id)
        except Exception:
            return None
        self._apply(agency_id, kv_entry.value, None)
        return self._entries.get(agency_id)

    def all(self) -> list[AgencyEntry]:
        return [self._entries[k] for k in sorted(self._entries)]
