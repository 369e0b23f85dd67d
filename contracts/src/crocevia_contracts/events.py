"""Version 1 of the referral lifecycle events: the ``data`` of each envelope.

Only public facts travel in clear. Anything about the person (who they are, their needs,
free-text notes, answers) travels in ``sealed``: encrypted to the receiving agency and
signed by the sending one.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

AgencyId = Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")]


class EventName(StrEnum):
    """The last token of a subject; the lifecycle step an event reports."""

    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INFO_REQUESTED = "info-requested"
    INFO_PROVIDED = "info-provided"
    CONSENT_WITHDRAWN = "consent-withdrawn"
    PERSONAL_DATA_ERASED = "personal-data-erased"

    @property
    def event_type(self) -> str:
        """The CloudEvents ``type`` of this event."""
        return f"org.crocevia.referral.{self.value}.v1"


class Priority(StrEnum):
    """FHIR request priority codes."""

    ROUTINE = "routine"
    URGENT = "urgent"
    ASAP = "asap"
    STAT = "stat"


class LegalBasisKind(StrEnum):
    CONSENT = "consent"
    LEGAL_OBLIGATION = "legal-obligation"
    VITAL_INTEREST = "vital-interest"
    PUBLIC_TASK = "public-task"


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LegalBasis(Contract):
    """Why the referral may be shared. Travels in clear: it names staff, not the person."""

    basis: LegalBasisKind
    captured_by: str | None = Field(default=None, max_length=200)
    captured_at: datetime | None = None
    scope: str | None = Field(default=None, max_length=500)
    expires_at: datetime | None = None
    document_ref: str | None = Field(default=None, max_length=500)


class SealedPart(Contract):
    """Personal content encrypted to the recipient (libsodium sealed box) and signed.

    ``signature`` is Ed25519 by the sender over the referral id, the event name and the
    ciphertext, so a sealed part cannot be moved to another referral or event.
    """

    ciphertext: str = Field(description="base64 of the sealed box")
    signature: str = Field(description="base64 Ed25519 signature")
    signer_key_id: str = Field(description="key id of the sender's signing key")
    recipient_key_id: str = Field(description="key id of the recipient's box key")


class ReferralEvent(Contract):
    """What every lifecycle event says about the referral it belongs to."""

    referral_id: str = Field(min_length=1, max_length=64)
    sender_agency: AgencyId
    receiver_agency: AgencyId
    service_id: str = Field(min_length=1, max_length=100)
    domain: str | None = Field(default=None, max_length=40)
    priority: Priority
    occurred_at: datetime
    step: int | None = Field(
        default=None,
        ge=1,
        description="how many events the publisher has sent about this referral, this one included: "
        "the receiver applies them in this order",
    )
    sealed: SealedPart | None = None


class Requested(ReferralEvent):
    event: Literal["requested"] = "requested"
    legal_basis: LegalBasis
    requested_by: str | None = Field(
        default=None, max_length=200, description="the sending agency's user who created it (token subject)"
    )
    previous_referral_id: str | None = Field(default=None, description="the rejected referral this one redirects")


class Received(ReferralEvent):
    event: Literal["received"] = "received"


class Accepted(ReferralEvent):
    event: Literal["accepted"] = "accepted"


class Rejected(ReferralEvent):
    event: Literal["rejected"] = "rejected"
    reason_code: str = Field(max_length=40)
    suggested_agency: AgencyId | None = None


class InProgress(ReferralEvent):
    event: Literal["in-progress"] = "in-progress"


class OnHold(ReferralEvent):
    event: Literal["on-hold"] = "on-hold"
    reason_code: str | None = Field(default=None, max_length=40)


class Completed(ReferralEvent):
    event: Literal["completed"] = "completed"
    outcome: str = Field(max_length=40)


class Failed(ReferralEvent):
    event: Literal["failed"] = "failed"
    reason_code: str = Field(max_length=40)


class Cancelled(ReferralEvent):
    event: Literal["cancelled"] = "cancelled"
    reason_code: str = Field(max_length=40)


class InfoRequested(ReferralEvent):
    event: Literal["info-requested"] = "info-requested"


class InfoProvided(ReferralEvent):
    event: Literal["info-provided"] = "info-provided"


class ConsentWithdrawn(ReferralEvent):
    event: Literal["consent-withdrawn"] = "consent-withdrawn"


class PersonalDataErased(ReferralEvent):
    event: Literal["personal-data-erased"] = "personal-data-erased"
    reason: str = Field(max_length=40, description="why, e.g. consent-withdrawn")


EventData = Annotated[
    Requested
    | Received
    | Accepted
    | Rejected
    | InProgress
    | OnHold
    | Completed
    | Failed
    | Cancelled
    | InfoRequested
    | InfoProvided
    | ConsentWithdrawn
    | PersonalDataErased,
    Field(discriminator="event"),
]

EVENT_MODELS: dict[EventName, type[ReferralEvent]] = {
    EventName.REQUESTED: Requested,
    EventName.RECEIVED: Received,
    EventName.ACCEPTED: Accepted,
    EventName.REJECTED: Rejected,
    EventName.IN_PROGRESS: InProgress,
    EventName.ON_HOLD: OnHold,
    EventName.COMPLETED: Completed,
    EventName.FAILED: Failed,
    EventName.CANCELLED: Cancelled,
    EventName.INFO_REQUESTED: InfoRequested,
    EventName.INFO_PROVIDED: InfoProvided,
    EventName.CONSENT_WITHDRAWN: ConsentWithdrawn,
    EventName.PERSONAL_DATA_ERASED: PersonalDataErased,
}

EVENT_TYPES: dict[str, EventName] = {name.event_type: name for name in EventName}
