"""Response targets of every service, from the network directory's live view.

The audit only reads the directory, when it computes indicators; it never writes an entry.
"""

from __future__ import annotations

from crocevia_audit.domain.indicators import Target, TargetKey
from crocevia_common.directory import DirectoryView


def response_targets(directory: DirectoryView) -> dict[TargetKey, Target]:
    """(agency, service, priority) -> the service's response target, for every entry."""
    return {
        (entry.organization.id, service.id, priority.value): Target(target, entry.working_calendar)
        for entry in directory.all()
        for service in entry.services
        for priority, target in service.response_targets.items()
    }
