"""A notice: what a notification says. Public facts about a referral, never anything about
the person referred (no name, no contact, no needs, no free text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from crocevia_notifications.domain.referral import Followed


class NoticeKind(StrEnum):
    EVENT = "event"  # a lifecycle event of the referral
    REMINDER = "reminder"  # a response target passed
    ESCALATION = "escalation"  # the next target passed too


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell people about. ``id`` is the event id (or the reminder's id): the
    key that makes every notification of it unique per person and channel."""

    id: str
    kind: NoticeKind
    event: str  # the lifecycle event, or the stage ("receive", "decide") of a reminder
    referral_id: str
    sender_agency: str
    receiver_agency: str
    service_id: str
    priority: str
    status: str
    acting_agency: str  # the party that must act: the ``to`` of the event's subject
    by_agency: str  # the party the notice comes from
    occurred_at: datetime
    reason_code: str | None = None

    @classmethod
    def about(
        cls,
        referral: Followed,
        *,
        id: str,
        kind: NoticeKind,
        event: str,
        acting_agency: str,
        by_agency: str,
        occurred_at: datetime,
        reason_code: str | None = None,
    ) -> Notice:
        """A notice of ``referral`` as it stands now (its public facts and status)."""
        return cls(
            id=id,
            kind=kind,
            event=event,
            referral_id=referral.id,
            sender_agency=referral.sender_agency,
            receiver_agency=referral.receiver_agency,
            service_id=referral.service_id,
            priority=referral.priority,
            status=referral.status.value,
            acting_agency=acting_agency,
            by_agency=by_agency,
            occurred_at=occurred_at,
            reason_code=reason_code,
        )

    @property
    def topic(self) -> str:
        """What preferences and subscriptions filter on: the event name, or
        ``reminder`` / ``escalation``."""
        return self.event if self.kind is NoticeKind.EVENT else self.kind.value

    def facts(self) -> dict[str, str | None]:
        """The public facts, as an inbox item or a webhook payload carries them."""
        return {
            "referral_id": self.referral_id,
            "event": self.topic,
            "stage": self.event if self.kind is not NoticeKind.EVENT else None,
            "sender_agency": self.sender_agency,
            "receiver_agency": self.receiver_agency,
            "service_id": self.service_id,
            "priority": self.priority,
            "status": self.status,
            "reason_code": self.reason_code,
        }
