"""Crocevia contracts: the language every party of the network speaks."""

from crocevia_contracts.envelope import (
    CONTENT_TYPE,
    Envelope,
    EnvelopeError,
    agency_source,
    new_event_id,
    parse_envelope,
)
from crocevia_contracts.events import (
    EVENT_MODELS,
    EVENT_TYPES,
    EventName,
    LegalBasis,
    LegalBasisKind,
    Priority,
    ReferralEvent,
    SealedPart,
)
from crocevia_contracts.subjects import (
    ReferralSubject,
    SubjectError,
    dead_letter_subject,
    inbound_filter,
    parse_referral_subject,
    read_event,
    referral_subject,
)

__all__ = [
    "CONTENT_TYPE",
    "EVENT_MODELS",
    "EVENT_TYPES",
    "Envelope",
    "EnvelopeError",
    "EventName",
    "LegalBasis",
    "LegalBasisKind",
    "Priority",
    "ReferralEvent",
    "ReferralSubject",
    "SealedPart",
    "SubjectError",
    "agency_source",
    "dead_letter_subject",
    "inbound_filter",
    "new_event_id",
    "parse_envelope",
    "parse_referral_subject",
    "read_event",
    "referral_subject",
]
