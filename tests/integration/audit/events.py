"""Building referral events for the audit's tests, as a node would publish them, and
notices (reminders, escalations) as the notifications service publishes them."""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crocevia_common.messaging.intake import Delivery, Verified, parse
from crocevia_contracts import (
    EVENT_MODELS,
    Envelope,
    EventName,
    LegalBasis,
    SealedPart,
    new_event_id,
    referral_subject,
)
from crocevia_contracts.notices import Notice, NoticeEnvelope, NoticeKind, notice_subject

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "Amina K., Via Roma 1, needs an Italian course"
NOTIFICATIONS = "/services/notifications"


def sealed() -> SealedPart:
    return SealedPart(
        ciphertext=base64.b64encode(SECRET.encode()).decode(),
        signature="c2ln",
        signer_key_id="a" * 16,
        recipient_key_id="b" * 16,
    )


def checked(deliveries: list[Delivery]) -> list[Verified]:
    """Deliveries as the consumer hands them to the trail writer: parsed and checked (the
    signature is the consumer's, tested over NATS)."""
    return [parse(d, notices=True) for d in deliveries]


@dataclass
class Network:
    """Numbers each agency's events 1, 2, 3... like a node's outbox does."""

    sequences: dict[str, itertools.count[int]] = field(default_factory=dict)
    stream: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def event(
        self,
        name: str,
        referral_id: str,
        *,
        sender: str = "pioltello-casa",
        receiver: str = "cpia2",
        at: datetime = T0,
        service_id: str = "main-service",
        domain: str = "education",
        priority: str = "routine",
        sequence: int | None = None,
        event_id: str | None = None,
        **public: Any,
    ) -> Delivery:
        """One event of ``referral_id``, published by the side that acts on ``name``."""
        event = EventName(name)
        by_receiver = event in (
            EventName.RECEIVED,
            EventName.ACCEPTED,
            EventName.REJECTED,
            EventName.IN_PROGRESS,
            EventName.ON_HOLD,
            EventName.COMPLETED,
            EventName.FAILED,
            EventName.PERSONAL_DATA_ERASED,
        )
        publisher, counterpart = (receiver, sender) if by_receiver else (sender, receiver)
        if event is EventName.REQUESTED:
            public.setdefault("legal_basis", LegalBasis(basis="consent", captured_by="op-1", captured_at=at))
            public.setdefault("sealed", sealed())
        data = EVENT_MODELS[event](
            referral_id=referral_id,
            sender_agency=sender,
            receiver_agency=receiver,
            service_id=service_id,
            domain=domain,
            priority=priority,
            occurred_at=at,
            **public,
        )
        if sequence is None:
            sequence = next(self.sequences.setdefault(publisher, itertools.count(1)))
        envelope = Envelope.build(source_agency=publisher, sequence=sequence, data=data, event_id=event_id, time=at)
        return Delivery(referral_subject(publisher, counterpart, event), envelope.to_json(), next(self.stream))

    def notice(
        self,
        kind: str,
        referral_id: str,
        *,
        sender: str = "pioltello-casa",
        receiver: str = "cpia2",
        agency: str | None = None,
        at: datetime = T0,
        stage: str = "requested",
        status: str = "requested",
        target_hours: float = 24,
        service_id: str = "main-service",
        priority: str = "routine",
        sequence: int | None = None,
        event_id: str | None = None,
    ) -> Delivery:
        """A reminder or escalation about ``referral_id`` sent at ``at`` to ``agency`` (the
        receiver unless said), numbered like the notifications service's outbox does."""
        notice = NoticeKind(kind)
        agency = agency or receiver
        if sequence is None:
            sequence = next(self.sequences.setdefault(NOTIFICATIONS, itertools.count(1)))
        envelope = NoticeEnvelope(
            id=event_id or new_event_id(),
            source=NOTIFICATIONS,
            type=notice.event_type,
            time=at,
            subject=referral_id,
            sequence=sequence,
            data=Notice(
                notice=notice,
                stage=stage,
                agency=agency,
                referral_id=referral_id,
                sender_agency=sender,
                receiver_agency=receiver,
                service_id=service_id,
                priority=priority,
                status=status,
                due_at=at,
                target_hours=target_hours,
                notified=2,
            ),
        )
        payload = envelope.model_dump_json(exclude_none=True).encode()
        return Delivery(notice_subject(agency, notice), payload, next(self.stream))

    def story(self, referral_id: str, steps: list[tuple[str, float]], **common: Any) -> list[Delivery]:
        """Events of one referral: (event, hours after T0 or after ``at``) pairs."""
        start = common.pop("at", T0)
        extras = common.pop("extras", {})
        return [
            self.event(name, referral_id, at=start + timedelta(hours=hours), **common, **extras.get(name, {}))
            for name, hours in steps
        ]
