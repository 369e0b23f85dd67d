"""Per-person preferences: which event types on which channel, quiet hours, digests; and when a
notification on a channel is due under them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from crocevia_notifications.domain.routing import TOPICS


class Channel(StrEnum):
    INBOX = "inbox"
    EMAIL = "email"


class Digest(StrEnum):
    NONE = "none"
    HOURLY = "hourly"
    DAILY = "daily"


# E-mail by default for what asks someone to do something; the inbox hears of everything.
EMAIL_BY_DEFAULT = frozenset(
    {
        "requested",
        "rejected",
        "cancelled",
        "info-requested",
        "info-provided",
        "consent-withdrawn",
        "reminder",
        "escalation",
    }
)


def _clock_time(value: Any) -> Any:
    if isinstance(value, int):  # YAML 1.1 reads an unquoted 20:00 as the number 1200
        raise ValueError("write a time of day as a quoted 'HH:MM'")
    return value


LocalTime = Annotated[time, BeforeValidator(_clock_time)]


class QuietHours(BaseModel):
    """Local times between which nothing is sent by e-mail (held and sent after)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: LocalTime
    end: LocalTime

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # over midnight


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # event type (a lifecycle event, ``reminder`` or ``escalation``) -> channels; a type not
    # listed keeps the defaults.
    event_types: dict[str, list[Channel]] = Field(default_factory=dict)
    email_enabled: bool = Field(default=True, description="turn e-mail off for every topic")
    quiet_hours: QuietHours | None = None
    digest: Digest = Digest.NONE
    daily_digest_at: LocalTime = time(8, 0)

    @field_validator("event_types")
    @classmethod
    def _known_types(cls, value: dict[str, list[Channel]]) -> dict[str, list[Channel]]:
        unknown = sorted(set(value) - set(TOPICS))
        if unknown:
            raise ValueError(f"unknown event types {unknown}; event types are: {', '.join(TOPICS)}")
        return value

    def channels_for(self, topic: str) -> frozenset[Channel]:
        if topic in self.event_types:
            chosen = frozenset(self.event_types[topic])
        else:
            chosen = frozenset({Channel.INBOX, Channel.EMAIL} if topic in EMAIL_BY_DEFAULT else {Channel.INBOX})
        return chosen if self.email_enabled else chosen - {Channel.EMAIL}


@dataclass(frozen=True, slots=True)
class Schedule:
    """When to send, and the digest a notification joins (None: sent on its own)."""

    due_at: datetime
    digest_key: str | None = None


def after_quiet_hours(moment: datetime, quiet: QuietHours | None, zone: ZoneInfo) -> datetime:
    """``moment``, or the end of the quiet hours it falls in."""
    if quiet is None:
        return moment
    local = moment.astimezone(zone)
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return moment
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end = (local + timedelta(days=1)).replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    return end.astimezone(UTC)


def digest_window_end(prefs: Preferences, now: datetime, zone: ZoneInfo, hourly_seconds: float) -> datetime:
    """When the digest that a notification made at ``now`` goes out."""
    if prefs.digest is Digest.HOURLY:
        stamp = now.timestamp()
        return datetime.fromtimestamp((stamp // hourly_seconds + 1) * hourly_seconds, UTC)
    local = now.astimezone(zone)
    at = prefs.daily_digest_at
    send = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if send <= local:
        send = (local + timedelta(days=1)).replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return send.astimezone(UTC)


def schedule_email(
    prefs: Preferences, now: datetime, zone: ZoneInfo, *, hourly_seconds: float = 3600, urgent: bool = False
) -> Schedule:
    """When an e-mail made at ``now`` is sent. ``urgent`` (escalations) skips the digest,
    never the quiet hours."""
    if prefs.digest is Digest.NONE or urgent:
        return Schedule(after_quiet_hours(now, prefs.quiet_hours, zone))
    window = digest_window_end(prefs, now, zone, hourly_seconds)
    return Schedule(after_quiet_hours(window, prefs.quiet_hours, zone), f"{prefs.digest.value}:{window.isoformat()}")
