"""An agency's own services as its supervisors keep them current: capacity (available,
waiting list, none), whether they take referrals, and their status. The agency file gives
the starting values; a change made at the node stays until it is changed again there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from crocevia_contracts.directory import AgencyEntry, Capacity, ServiceStatus

CHANGEABLE = ("capacity", "accepts_referrals", "status")


class ServiceChange(BaseModel):
    """What a supervisor changes of one service; at least one field."""

    model_config = ConfigDict(extra="forbid")

    capacity: Capacity | None = None
    accepts_referrals: bool | None = None
    status: ServiceStatus | None = None

    @model_validator(mode="after")
    def _something(self) -> ServiceChange:
        if not self.values():
            raise ValueError(f"change at least one of {', '.join(CHANGEABLE)}")
        return self

    def values(self) -> dict[str, Any]:
        """The fields changed, as the directory entry spells them."""
        return self.model_dump(mode="json", exclude_none=True)


def with_changes(entry: AgencyEntry, changes: Mapping[str, Mapping[str, Any]]) -> AgencyEntry:
    """``entry`` with each service's kept changes (by service id) applied; changes to a
    service the entry no longer lists are left out."""
    services = tuple(
        service.model_validate({**service.model_dump(mode="json"), **changes[service.id]})
        if service.id in changes
        else service
        for service in entry.services
    )
    return entry.model_copy(update={"services": services})
