"""A household pathway: referrals to several services for one person or household, sent
together by the agency that leads it, all or none; and the warning that a person already
has an open referral to a service.

Each receiver learns the pathway's id and its lead agency (``PathwayRef``, in its
``requested``); the other services and agencies of the pathway only when the person agreed
that they know of each other, and then sealed to it with the personal part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from crocevia_contracts import LegalBasis, Priority
from crocevia_contracts.directory import Service
from crocevia_contracts.events import PathwayRef
from crocevia_referrals.domain.caseload import folded
from crocevia_referrals.domain.errors import Invalid
from crocevia_referrals.domain.personal import PathwayMember, Person, PersonalPart
from crocevia_referrals.domain.sending import ReferralRequest, SendWarning

# The most services one pathway request may name.
MAX_SERVICES = 12


@dataclass(frozen=True)
class PathwayService:
    """One service of a pathway: where to, how urgent, and why (sealed to that agency only)."""

    to_agency: str
    service_id: str
    priority: Priority = Priority.ROUTINE
    reason: str = ""


@dataclass(frozen=True)
class PathwayRequest:
    """Referrals to ``services`` for the person of ``personal``, on one legal basis;
    ``shared``: the person agreed that the pathway's services know of each other."""

    services: list[PathwayService]
    legal_basis: LegalBasis
    personal: PersonalPart
    shared: bool = False

    def referrals(self, pathway: PathwayRef) -> list[ReferralRequest]:
        """One referral request per service, each in ``pathway``; raise Invalid when no
        service is named, too many are, or one is named twice."""
        if not self.services:
            raise Invalid("no-services", "a pathway needs at least one service", "services")
        if len(self.services) > MAX_SERVICES:
            raise Invalid("too-many-services", f"a pathway names at most {MAX_SERVICES} services", "services")
        named = [(s.to_agency, s.service_id) for s in self.services]
        twice = sorted({f"{agency}/{service}" for agency, service in named if named.count((agency, service)) > 1})
        if twice:
            raise Invalid("same-service-twice", f"named more than once: {', '.join(twice)}", "services")
        return [
            ReferralRequest(
                to_agency=s.to_agency,
                service_id=s.service_id,
                priority=s.priority,
                legal_basis=self.legal_basis,
                personal=self.personal.model_copy(update={"reason": s.reason, "pathway": self._others(s)}),
                pathway=pathway,
            )
            for s in self.services
        ]

    def _others(self, service: PathwayService) -> list[PathwayMember]:
        """What the receiver of ``service`` is told of the pathway's other services."""
        if not self.shared:
            return []
        return [PathwayMember(agency=s.to_agency, service_id=s.service_id) for s in self.services if s is not service]


def same_person(a: Person, b: Person) -> bool:
    """Whether two records are of one person: the same names (case, accents and spacing
    ignored) and the same birth date."""
    return _match_key(a) == _match_key(b)


def _match_key(person: Person) -> tuple[str, str, str]:
    return folded(person.given_name), folded(person.family_name), (person.birth_date or "").strip()


def already_referred(person: Person, open_ones: Iterable[Person], service: Service) -> SendWarning | None:
    """A warning when ``person`` is one of ``open_ones``, those with an open referral from
    this agency to ``service``."""
    if any(same_person(person, other) for other in open_ones):
        return SendWarning("open-referral", f"this person already has an open referral to {service.name}")
    return None
