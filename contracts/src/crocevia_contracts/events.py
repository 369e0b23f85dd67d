"""Version 1 of the referral lifecycle events: the ``data`` of each envelope.

Only public facts travel in clear. Anything about the person (who they are, their needs,
free-text notes, answers) travels in ``sealed``: encrypted to the receiving agency and
signed by the sending one.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Everything that travels in clear is an id, a code, a time or a number: bounded, and shaped
# so that it cannot carry free text about a person (that goes in ``sealed``).
AgencyId = Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")]
ReferralId = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9._:-]{0,62}[A-Za-z0-9])?$", description="a node's referral id")
]
Code = Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$", description="a code, e.g. no-capacity")]
ServiceId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")]
StaffId = Annotated[
    str, Field(pattern=r"^[!-~]{1,200}$", description="a staff member's id (a token subject): no spaces, ASCII")
]


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
    MESSAGE_SENT = "message-sent"

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
    """Why the referral may be shared. Travels in clear, so it holds only codes, staff ids and
    times: the consent's scope and document reference, which may describe the person, travel
    sealed with the personal part."""

    basis: LegalBasisKind
    captured_by: StaffId | None = None
    captured_at: datetime | None = None
    expires_at: datetime | None = None


_BASE64 = r"^[A-Za-z0-9+/]*={0,2}$"
_KEY_ID = r"^[0-9a-f]{16}$"
# The largest sealed part an event may carry (base64 characters): the whole event must stay
# under ``MAX_EVENT_BYTES`` (envelope.py).
MAX_SEALED_CHARS = 96 * 1024


class SealedPart(Contract):
    """Personal content encrypted to the recipient (libsodium sealed box) and signed.

    ``signature`` is Ed25519 by the sender over the referral id, the event name and the
    ciphertext, so a sealed part cannot be moved to another referral or event.
    """

    ciphertext: str = Field(max_length=MAX_SEALED_CHARS, pattern=_BASE64, description="base64 of the sealed box")
    signature: str = Field(max_length=100, pattern=_BASE64, description="base64 Ed25519 signature")
    signer_key_id: str = Field(pattern=_KEY_ID, description="key id of the sender's signing key")
    recipient_key_id: str = Field(pattern=_KEY_ID, description="key id of the recipient's box key")


class ReferralEvent(Contract):
    """What every lifecycle event says about the referral it belongs to."""

    referral_id: ReferralId
    sender_agency: AgencyId
    receiver_agency: AgencyId
    service_id: ServiceId
    domain: Code | None = None
    priority: Priority
    occurred_at: datetime
    step: int | None = Field(
        default=None,
        ge=1,
        description="how many events the publisher has sent about this referral, this one included: "
        "the receiver applies them in this order",
    )
    sealed: SealedPart | None = None

    @model_validator(mode="after")
    def _two_parties(self) -> ReferralEvent:
        if self.sender_agency == self.receiver_agency:
            raise ValueError("sender_agency and receiver_agency must differ")
        return self


class PathwayRef(Contract):
    """The household pathway a referral belongs to: its id and the agency that leads it.
    Nothing about the pathway's other referrals travels with it."""

    id: ReferralId = Field(description="the pathway's id at the lead agency")
    lead_agency: AgencyId


class Requested(ReferralEvent):
    event: Literal["requested"] = "requested"
    legal_basis: LegalBasis
    requested_by: StaffId | None = Field(
        default=None, description="the sending agency's user who created it (token subject)"
    )
    previous_referral_id: ReferralId | None = Field(
        default=None, description="the rejected referral this one redirects"
    )
    pathway: PathwayRef | None = Field(default=None, description="the pathway this referral belongs to, if any")


class Received(ReferralEvent):
    event: Literal["received"] = "received"


class Accepted(ReferralEvent):
    event: Literal["accepted"] = "accepted"


class Rejected(ReferralEvent):
    event: Literal["rejected"] = "rejected"
    reason_code: Code
    suggested_agency: AgencyId | None = None


class InProgress(ReferralEvent):
    event: Literal["in-progress"] = "in-progress"


class OnHold(ReferralEvent):
    event: Literal["on-hold"] = "on-hold"
    reason_code: Code | None = None


class Completed(ReferralEvent):
    event: Literal["completed"] = "completed"
    outcome: Code


class Failed(ReferralEvent):
    event: Literal["failed"] = "failed"
    reason_code: Code


class Cancelled(ReferralEvent):
    event: Literal["cancelled"] = "cancelled"
    reason_code: Code


class InfoRequested(ReferralEvent):
    event: Literal["info-requested"] = "info-requested"


class InfoProvided(ReferralEvent):
    event: Literal["info-provided"] = "info-provided"


class ConsentWithdrawn(ReferralEvent):
    event: Literal["consent-withdrawn"] = "consent-withdrawn"


class PersonalDataErased(ReferralEvent):
    event: Literal["personal-data-erased"] = "personal-data-erased"
    reason: Code = Field(description="why, e.g. consent-withdrawn")


class MessageSent(ReferralEvent):
    """A message from one party to the other: its text, and the references of its attachments
    (each with the key that opens it), travel only in ``sealed``; the files themselves travel
    encrypted through the receiver's object store bucket (``attachments_bucket``)."""

    event: Literal["message-sent"] = "message-sent"


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
    | PersonalDataErased
    | MessageSent,
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
    EventName.MESSAGE_SENT: MessageSent,
}

EVENT_TYPES: dict[str, EventName] = {name.event_type: name for name in EventName}
