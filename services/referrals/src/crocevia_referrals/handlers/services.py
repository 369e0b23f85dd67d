"""A supervisor keeps the agency's services current in the directory: the change is kept at
the node (a restart publishes it again) and published at once, so every node sees it live."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from crocevia_contracts.directory import AgencyEntry, Service
from crocevia_referrals.domain.errors import Invalid
from crocevia_referrals.domain.services import ServiceChange, with_changes


class OwnEntry(Protocol):
    def get(self, agency_id: str) -> AgencyEntry | None: ...

    async def publish_agency(self, entry: AgencyEntry) -> AgencyEntry: ...


class KeptChanges(Protocol):
    async def load(self) -> dict[str, dict[str, Any]]: ...

    async def keep(self, service_id: str, values: dict[str, Any], by: str, at: datetime) -> dict[str, Any]:
        """Add ``values`` to what is kept for the service; all of it now."""
        ...


@dataclass
class OwnServices:
    agency_id: str
    directory: OwnEntry
    kept: KeptChanges
    clock: Callable[[], datetime]

    async def publish(self, entry: AgencyEntry) -> AgencyEntry:
        """Publish the agency's entry with the changes kept at the node."""
        return await self.directory.publish_agency(with_changes(entry, await self.kept.load()))

    def services(self) -> tuple[Service, ...]:
        entry = self.directory.get(self.agency_id)
        return entry.services if entry else ()

    async def change(self, service_id: str, change: ServiceChange, by: str) -> Service:
        """Change one of the agency's services; Invalid (``service-not-found``) for another."""
        current = self.directory.get(self.agency_id)
        if current is None or current.service(service_id) is None:
            raise Invalid("service-not-found", f"{self.agency_id} has no service {service_id}", "service_id")
        kept = await self.kept.keep(service_id, change.values(), by, self.clock())
        published = await self.directory.publish_agency(with_changes(current, {service_id: kept}))
        changed = published.service(service_id)
        assert changed is not None
        return changed
