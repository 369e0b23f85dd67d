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


# The public facts of a referral that every notice repeats.
REFERRAL_FACTS = ("referral_id", "sender_agency", "receiver_agency", "service_id", "priority", "status")


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
        facts = {name: getattr(referral, name) for name in REFERRAL_FACTS if name not in ("referral_id", "status")}
        return cls(
            id=id,
            kind=kind,
            event=event,
            referral_id=referral.id,
            status=referral.status.value,
            **facts,
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

    def referral_facts(self) -> dict[str, str]:
        """What the notice says of its referral: ids, the service, priority and status."""
        return {name: getattr(self, name) for name in REFERRAL_FACTS}

    def facts(self) -> dict[str, str | None]:
        """The public facts, as an inbox item or a webhook payload carries them."""
        return {
            **self.referral_facts(),
            "event": self.topic,
            "stage": self.event if self.kind is not NoticeKind.EVENT else None,
            "reason_code": self.reason_code,
        }
