"""What every consumer of referral events and notices checks before it touches state.

In this order, each failure a reason naming fields and never values:

1. the raw bytes: no larger than any event, JSON no deeper than any event;
2. the contracts' parse of the envelope;
3. the subject against the envelope (publisher, event, parties, which side publishes it);
4. the ``Crocevia-Signature`` header against the publisher's pinned key (``KeyRing``);

then, in the consumer's own transaction, against what it already knows:

5. the parties and service against the referral's (``check_parties``): a node compares with
   its stored referral, the audit and the notifications with the referral's ``requested``;
6. the publisher's sequence number not used by another event (``claim``).

An access log's anchor (``notice.v1.<agency>.access-log-anchored``) goes where notices go:
step 3 holds it to be published by the agency it anchors, step 4 to that agency's key; it
is about no referral, so step 5 has nothing to compare. A caseload notice
(``caseload.v1.<agency>.referral-assigned``, read by the notifications only) likewise: step 3
holds it to be published by the agency whose assignment it states, step 4 to that agency's
key; step 5 is the consumer's (the agency must be a party of the referral).

A message that fails goes to a dead letter (``Unprocessable``); one that may pass later (a
key not in the directory yet) is retried a bounded number of times (``NotYet``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.messaging.inbox import applied_as, mark_all_applied, mark_applied
from crocevia_common.messaging.tables import MessagingTables
from crocevia_common.trust import KeyRing, NoKeys
from crocevia_contracts import Envelope, EnvelopeError, EventName, read_event
from crocevia_contracts.anchors import AnchorEnvelope, is_anchor_subject, read_anchor
from crocevia_contracts.caseload import CaseloadEnvelope, read_caseload
from crocevia_contracts.directory import service_party
from crocevia_contracts.notices import NOTICE_PREFIX, NoticeEnvelope, read_notice
from crocevia_contracts.sealing import SIGNATURE_HEADER, SealError


class Unprocessable(Exception):
    """A message that can never be applied; ``reason`` (fields, never values) goes with its
    dead letter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotYet(Exception):
    """A message that may apply later (a key or an earlier event still on its way): retried
    a bounded number of times, then dead-lettered with this reason."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as the stream delivered it."""

    subject: str
    payload: bytes
    stream_sequence: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    deliveries: int = 1
    stream: str = ""


@dataclass(frozen=True, slots=True)
class Verified:
    """A message that passed the checks that need no state: a signed, well-formed referral
    event, notice or anchor on the subject it claims."""

    delivery: Delivery
    publisher: str  # an agency id, or ``service.<name>``
    message: Envelope | NoticeEnvelope | AnchorEnvelope | CaseloadEnvelope
    raw: dict[str, Any] | None = None  # a referral event's JSON object as parsed, unknown fields included

    @property
    def envelope(self) -> Envelope | None:
        """The referral event, or None for a notice."""
        return self.message if isinstance(self.message, Envelope) else None

    @property
    def caseload(self) -> CaseloadEnvelope | None:
        """The caseload notice, or None for anything else."""
        return self.message if isinstance(self.message, CaseloadEnvelope) else None

    @property
    def id(self) -> str:
        return self.message.id

    @property
    def source(self) -> str:
        return self.message.source

    @property
    def sequence(self) -> int:
        return self.message.sequence

    @property
    def referral_id(self) -> str:
        """The referral it is about; "" for an anchor, which is about no referral."""
        if isinstance(self.message, AnchorEnvelope):
            return ""
        return self.message.data.referral_id

    @property
    def parties(self) -> Parties:
        if isinstance(self.message, AnchorEnvelope | CaseloadEnvelope):
            return Parties(self.publisher, self.publisher, "")
        data = self.message.data
        return Parties(data.sender_agency, data.receiver_agency, data.service_id)


def is_notice(subject: str) -> bool:
    return subject.startswith(NOTICE_PREFIX + ".")


class Intake:
    """Checks 1 to 4 for one consumer: ``addressed_to`` confines it to events for one agency
    (a node); ``notices`` lets it take the notifications' notices and the nodes' anchors too
    (the audit); ``caseload`` takes the nodes' caseload notices only (the notifications)."""

    def __init__(
        self, keys: KeyRing, *, addressed_to: str | None = None, notices: bool = False, caseload: bool = False
    ) -> None:
        self.keys = keys
        self.addressed_to = addressed_to
        self.notices = notices
        self.caseload = caseload

    async def verify(self, delivery: Delivery) -> Verified:
        """The checked message; raise Unprocessable or NotYet."""
        verified = parse(delivery, addressed_to=self.addressed_to, notices=self.notices, caseload=self.caseload)
        try:
            await self.keys.verify(verified.publisher, delivery.headers.get(SIGNATURE_HEADER), delivery.payload)
        except SealError as exc:
            raise Unprocessable(f"refused: {exc}") from None
        except NoKeys as exc:
            raise NotYet(str(exc)) from None
        return verified


def parse(
    delivery: Delivery, *, addressed_to: str | None = None, notices: bool = False, caseload: bool = False
) -> Verified:
    """Checks 1 to 3 (everything but the signature); raise Unprocessable."""
    try:
        if caseload:
            assigned = read_caseload(delivery.subject, delivery.payload)
            return Verified(delivery, assigned.source_agency, assigned)
        if notices and is_anchor_subject(delivery.subject):
            anchor = read_anchor(delivery.subject, delivery.payload)
            return Verified(delivery, anchor.source_agency, anchor)
        if notices and is_notice(delivery.subject):
            notice = read_notice(delivery.subject, delivery.payload)
            return Verified(delivery, service_party(notice.source_service), notice)
        route, envelope, raw = read_event(delivery.subject, delivery.payload)
    except EnvelopeError as exc:
        raise Unprocessable(str(exc)) from None
    if addressed_to is not None and route.to_agency != addressed_to:
        raise Unprocessable("addressed to another agency")
    return Verified(delivery, envelope.source_agency, envelope, raw)


@dataclass(frozen=True, slots=True)
class Parties:
    """Who a referral is between, and for which service."""

    sender: str
    receiver: str
    service_id: str


def check_parties(item: Verified, known: Parties | None) -> None:
    """Check 5: a referral is requested once, and every other event about it names the
    parties and service of its ``requested``, which came before it in the stream. A notice
    travels on another stream, which a consumer may read ahead of the events: one about a
    referral not seen yet is taken on its signature alone. Raise Unprocessable otherwise."""
    if item.envelope is not None and item.envelope.name is EventName.REQUESTED:
        if known is not None:
            raise Unprocessable("the referral was requested already")
        return
    if known is None:
        if item.envelope is None:
            return
        raise Unprocessable("no requested event of this referral came before it")
    if known != item.parties:
        raise Unprocessable("the parties or the service are not the referral's")


def sequence_reused(item: Verified) -> str:
    """Why an event whose publisher's sequence number names another event is refused."""
    return f"sequence {item.sequence} of {item.source} belongs to another event"


async def claim(session: AsyncConnection, tables: MessagingTables, consumer: str, item: Verified) -> bool:
    """Check 6 and the inbox, in the caller's transaction: False when the event was applied
    already (a redelivery); raise Unprocessable when its publisher's sequence number belongs
    to another event; else record it as applied and return True (one statement then)."""
    if await mark_applied(session, tables, consumer, item.id, item.source, item.sequence):
        return True
    applied = await applied_as(session, tables, consumer, item.id, item.source, item.sequence)
    if item.id in applied:
        return False
    raise Unprocessable(sequence_reused(item))


class Claims:
    """A consumer's claims in one transaction: ``claim_ahead`` records a batch of events as
    applied in one statement, and each ``claim`` of one of them is then answered without
    another; any other goes through ``claim``."""

    def __init__(self, session: AsyncConnection, tables: MessagingTables, consumer: str) -> None:
        self.session = session
        self.tables = tables
        self.consumer = consumer
        self._claimed: set[str] = set()  # recorded as applied by ``claim_ahead``, not claimed yet

    async def claim_ahead(self, items: Sequence[Verified]) -> None:
        events = [(item.id, item.source, item.sequence) for item in items]
        self._claimed |= await mark_all_applied(self.session, self.tables, self.consumer, events)

    async def claim(self, item: Verified) -> bool:
        if item.id in self._claimed:  # once: a copy of it later in the batch was applied already
            self._claimed.discard(item.id)
            return True
        return await claim(self.session, self.tables, self.consumer, item)
