"""What sending a referral needs: a legal basis that allows it, and a service of another
agency that takes referrals now; and what the sender is warned of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from crocevia_contracts import LegalBasis, LegalBasisKind, Priority
from crocevia_contracts.directory import AgencyEntry, Capacity, Service, ServiceStatus
from crocevia_contracts.events import PathwayRef
from crocevia_referrals.domain.errors import Invalid
from crocevia_referrals.domain.personal import PersonalPart


@dataclass(frozen=True)
class ReferralRequest:
    """A referral to send: where to, how urgent, on which legal basis, about whom."""

    to_agency: str
    service_id: str
    priority: Priority
    legal_basis: LegalBasis
    personal: PersonalPart
    previous_referral_id: str | None = None
    pathway: PathwayRef | None = None


WARNINGS = ("waitlist", "no-capacity", "routine-target", "open-referral")


@dataclass(frozen=True)
class SendWarning:
    """Something the sender should know about the service it sends to; ``code`` names it
    (``waitlist``, ``no-capacity``, ``routine-target``, ``open-referral``), ``text`` says it in English."""

    code: str
    text: str


def check_legal_basis(basis: LegalBasis, now: datetime) -> None:
    """Refuse a consent without who captured it and when, or a basis that has expired."""
    if basis.basis is LegalBasisKind.CONSENT:
        if not basis.captured_by or basis.captured_at is None:
            raise Invalid("legal-basis", "a consent basis needs captured_by and captured_at", "legal_basis")
        if _aware(basis.captured_at) > now:
            raise Invalid("legal-basis", "consent cannot be captured in the future", "legal_basis")
    if basis.expires_at is not None and _aware(basis.expires_at) <= now:
        expired = _aware(basis.expires_at).isoformat()
        raise Invalid("legal-basis", f"the legal basis expired at {expired}", "legal_basis")


def _aware(moment: datetime) -> datetime:
    """A time the caller gave without its zone is read as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_target(sender: str, request: ReferralRequest, entry: AgencyEntry | None) -> tuple[Service, list[SendWarning]]:
    """The service ``request`` goes to, in the receiving agency's directory ``entry``, and
    what the sender is warned of; raise Invalid when it cannot go there."""
    if request.to_agency == sender:
        raise Invalid("unknown-agency", "an agency cannot refer to itself", "to_agency")
    if entry is None:
        raise Invalid("unknown-agency", f"no agency {request.to_agency!r} in the directory", "to_agency")
    service = entry.service(request.service_id)
    if service is None:
        raise Invalid("unknown-service", f"{request.to_agency} offers no service {request.service_id!r}", "service_id")
    if not service.accepts_referrals or service.status is not ServiceStatus.ACTIVE:
        raise Invalid("service-closed", f"{service.name} does not accept referrals now", "service_id")
    warnings = []
    if service.capacity is Capacity.NO_CAPACITY:
        warnings.append(SendWarning("no-capacity", f"{service.name} reports no capacity: the referral may be rejected"))
    elif service.capacity is Capacity.WAITLIST:
        warnings.append(SendWarning("waitlist", f"{service.name} has a waiting list"))
    target = entry.target_for(service.id, request.priority.value)
    if target is not None and target.fallback:
        warnings.append(
            SendWarning(
                "routine-target",
                f"{service.name} states no target for {request.priority.value} referrals: its routine target applies",
            )
        )
    return service, warnings
