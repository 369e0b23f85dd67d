"""Agencies and their services: the network directory first (each node keeps its own entry
there), then the agency files this service was given."""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from pydantic import ValidationError

from crocevia_common.directory import DirectoryView
from crocevia_contracts.directory import AgencyEntry, ServiceTarget
from crocevia_notifications.domain.templates import Names

log = logging.getLogger(__name__)


def load_agencies_dir(directory: Path) -> dict[str, AgencyEntry]:
    """Every valid agency file (YAML or JSON) in ``directory``; invalid ones are logged and
    skipped, so one bad file does not silence the whole network."""
    found: dict[str, AgencyEntry] = {}
    if not directory.is_dir():
        log.warning("no agencies directory at %s", directory)
        return found
    for path in sorted(directory.iterdir()):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        try:
            entry = AgencyEntry.model_validate(yaml.safe_load(path.read_text()))
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            log.warning("agency file %s ignored: %s", path, exc)
            continue
        found[entry.organization.id] = entry
    return found


class AgencyDirectory:
    """Agencies as the network directory describes them, else as this service's agency files
    do (staff files may name an agency whose node has not started yet)."""

    def __init__(self, view: DirectoryView | None, files: dict[str, AgencyEntry]) -> None:
        self.view = view
        self._files = files

    async def fetch(self, agency_id: str) -> AgencyEntry | None:
        found = await self.view.fetch(agency_id) if self.view is not None else None
        return found or self._files.get(agency_id)

    async def knows(self, agency_id: str) -> bool:
        return await self.fetch(agency_id) is not None

    async def names(self, *agency_ids: str) -> Names:
        agencies: dict[str, str] = {}
        services: dict[str, str] = {}
        for agency_id in dict.fromkeys(agency_ids):
            entry = await self.fetch(agency_id)
            if entry is None:
                continue
            agencies[agency_id] = entry.organization.name
            services.update({s.id: s.name for s in entry.services})
        return Names(agencies, services)

    async def target_for(self, agency_id: str, service_id: str, priority: str) -> ServiceTarget | None:
        """The target a referral to that service is held to (``AgencyEntry.target_for``)."""
        entry = await self.fetch(agency_id)
        return entry.target_for(service_id, priority) if entry else None
