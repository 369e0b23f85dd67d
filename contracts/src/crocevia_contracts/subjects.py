"""The subject scheme: ``referral.v1.<from-agency>.<to-agency>.<event>``.

``from`` is the agency that published the event, ``to`` the party that must act on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crocevia_contracts.events import EventName
from crocevia_contracts.lifecycle import PUBLISHERS, side_of

if TYPE_CHECKING:
    from crocevia_contracts.envelope import Envelope

PREFIX = "referral"
VERSION = "v1"
ALL_REFERRAL_EVENTS = f"{PREFIX}.{VERSION}.>"
DEAD_LETTER_PREFIX = "deadletter"
ALL_DEAD_LETTERS = f"{DEAD_LETTER_PREFIX}.>"

AGENCY_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


class SubjectError(ValueError):
    """A subject that does not follow the scheme."""


def check_agency_id(agency_id: str) -> str:
    """Return ``agency_id`` when it can stand in a subject token, else raise SubjectError."""
    if not AGENCY_ID.match(agency_id):
        raise SubjectError("not a valid agency id")
    return agency_id


@dataclass(frozen=True, slots=True)
class ReferralSubject:
    from_agency: str
    to_agency: str
    event: EventName

    def __str__(self) -> str:
        return referral_subject(self.from_agency, self.to_agency, self.event)


def referral_subject(from_agency: str, to_agency: str, event: EventName | str) -> str:
    """Build the subject an event is published on."""
    name = EventName(event)
    return ".".join((PREFIX, VERSION, check_agency_id(from_agency), check_agency_id(to_agency), name.value))


def parse_referral_subject(subject: str) -> ReferralSubject:
    """Split a subject into its parties and event name; raise SubjectError if it is not one."""
    parts = subject.split(".")
    if len(parts) != 5 or parts[0] != PREFIX or parts[1] != VERSION:
        raise SubjectError(f"not a {PREFIX}.{VERSION} subject")
    try:
        event = EventName(parts[4])
    except ValueError:
        raise SubjectError("unknown event in the subject's last token") from None
    try:
        return ReferralSubject(check_agency_id(parts[2]), check_agency_id(parts[3]), event)
    except SubjectError:
        raise SubjectError("the subject's parties are not agency ids") from None


def inbound_filter(agency_id: str) -> str:
    """What a node of ``agency_id`` listens to: everything addressed to it."""
    return f"{PREFIX}.{VERSION}.*.{check_agency_id(agency_id)}.>"


def dead_letter_subject(consumer: str) -> str:
    """Where a consumer puts a message it can never apply."""
    return f"{DEAD_LETTER_PREFIX}.{consumer}"


REPLAY_PREFIX = "replay"
ALL_REPLAYS = f"{REPLAY_PREFIX}.>"


def replay_subject(consumer: str) -> str:
    """Where the operator puts a dead letter back for ``consumer`` to try again, through the
    same checks (``crocevia deadletters replay``)."""
    return f"{REPLAY_PREFIX}.{consumer}"


def read_event(subject: str, payload: bytes | str) -> tuple[ReferralSubject, Envelope, dict[str, Any]]:
    """Parse a message and check that it is what its subject says: no larger or deeper than
    any event, published by the subject's ``from`` agency on the side of the referral that
    may publish this event, the subject's event, between the referral's two parties; with
    the JSON object as parsed (unknown fields included). Raise EnvelopeError with the reason
    otherwise."""
    from crocevia_contracts.envelope import EnvelopeError, envelope_of, read_json

    try:
        route = parse_referral_subject(subject)
    except SubjectError as exc:
        raise EnvelopeError(str(exc)) from None
    raw = read_json(payload)
    envelope = envelope_of(raw)
    data = envelope.data
    if envelope.source_agency != route.from_agency:
        raise EnvelopeError("source names another agency than the subject's publisher")
    if route.event.value != data.event:
        raise EnvelopeError("the subject's event is not data.event")
    if {data.sender_agency, data.receiver_agency} != {route.from_agency, route.to_agency}:
        raise EnvelopeError("the referral's parties are not the subject's parties")
    side = side_of(route.from_agency, data.sender_agency, data.receiver_agency)
    if side not in PUBLISHERS[route.event]:
        raise EnvelopeError(f"the {side} of a referral does not publish {route.event.value}")
    return route, envelope, raw


def replay_consumer(consumer: str) -> str:
    """The durable that takes ``consumer``'s replays."""
    return f"{consumer}-replay"
