"""Directory entries for the audit's tests, looked up as the service's directory view does."""

from __future__ import annotations

from typing import Any

from crocevia_audit.domain.indicators import TargetOf
from crocevia_contracts.directory import AgencyEntry, ServiceTarget

ROUTINE = {"routine": {"receive_within_hours": 24, "decide_within_hours": 120}}
URGENT = {"urgent": {"receive_within_hours": 4, "decide_within_hours": 24}}


def entry(agency: str, response_targets: dict[str, Any], service: str = "main-service") -> AgencyEntry:
    """An agency offering one education service with these targets (on the clock unless said)."""
    return AgencyEntry.model_validate(
        {
            "organization": {"id": agency, "name": agency.upper()},
            "services": [
                {"id": service, "name": "Italian courses", "domain": "education", "response_targets": response_targets}
            ],
        }
    )


def targets_of(*entries: AgencyEntry) -> TargetOf:
    """What ``DirectoryView.target_for`` answers over these entries: the receiving agency's
    ``AgencyEntry.target_for``, None for an agency not in the directory."""
    by_agency = {e.organization.id: e for e in entries}

    def target_for(agency: str, service_id: str, priority: str) -> ServiceTarget | None:
        found = by_agency.get(agency)
        return None if found is None else found.target_for(service_id, priority)

    return target_for
