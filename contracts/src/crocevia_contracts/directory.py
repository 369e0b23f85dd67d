"""A directory entry: one agency and its services, shaped after Open Referral HSDS 3.0.

Each node writes its own entry to the ``directory`` key-value bucket under its agency id.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from crocevia_contracts.events import AgencyId, Contract, Priority


class Domain(StrEnum):
    HOUSING = "housing"
    WORK = "work"
    CITIZENSHIP = "citizenship"
    EDUCATION = "education"
    HEALTH = "health"
    LEGAL = "legal"
    MEDIATION = "mediation"


class Capacity(StrEnum):
    AVAILABLE = "available"
    WAITLIST = "waitlist"
    NO_CAPACITY = "no-capacity"


class ServiceStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DEFUNCT = "defunct"
    TEMPORARILY_CLOSED = "temporarily closed"


class ResponseTarget(Contract):
    """How fast the service answers a referral of one priority, in hours."""

    receive_within_hours: float = Field(gt=0)
    decide_within_hours: float = Field(gt=0, description="accept or reject within")


class Service(Contract):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=100)
    name: str
    description: str = ""
    domain: Domain
    status: ServiceStatus = ServiceStatus.ACTIVE
    eligibility_description: str = ""
    minimum_age: int | None = None
    maximum_age: int | None = None
    languages: tuple[str, ...] = Field(default=(), description="ISO 639-1 codes")
    capacity: Capacity = Capacity.AVAILABLE
    accepts_referrals: bool = True
    response_targets: dict[Priority, ResponseTarget] = Field(default_factory=dict)


class Organization(Contract):
    id: AgencyId
    name: str
    description: str = ""
    email: str | None = None
    url: str | None = None


class PublicKeys(Contract):
    """Base64 raw public keys of a node: X25519 for sealed boxes, Ed25519 for signatures."""

    box: str
    signing: str


class AgencyEntry(Contract):
    organization: Organization
    services: tuple[Service, ...]
    public_keys: PublicKeys | None = None
    updated_at: datetime | None = None

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)
