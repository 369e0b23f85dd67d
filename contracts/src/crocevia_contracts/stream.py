"""The JetStream streams every party relies on, as plain data (no NATS client needed)."""

from __future__ import annotations

from dataclasses import dataclass

from crocevia_contracts.subjects import ALL_DEAD_LETTERS, ALL_REFERRAL_EVENTS


@dataclass(frozen=True, slots=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    storage: str  # "file" or "memory"
    duplicate_window_seconds: float
    description: str


REFERRAL_EVENTS = StreamSpec(
    name="REFERRALS",
    subjects=(ALL_REFERRAL_EVENTS,),
    storage="file",
    # Nats-Msg-Id (= event id) is deduplicated within this window; the outbox relay
    # republishes only rows it could not confirm, so a day covers any realistic outage.
    duplicate_window_seconds=24 * 3600,
    description="Referral lifecycle events between agencies (CloudEvents, structured mode)",
)

DEAD_LETTERS = StreamSpec(
    name="DEADLETTERS",
    subjects=(ALL_DEAD_LETTERS,),
    storage="file",
    duplicate_window_seconds=120,
    description="Messages a consumer could never apply, with the reason",
)

NOTICES = StreamSpec(
    name="NOTICES",
    subjects=("notice.v1.>",),
    storage="file",
    duplicate_window_seconds=24 * 3600,
    description="Reminders and escalations of referrals past their response targets",
)

AUDIT_CHECKPOINT_SUBJECT = "audit.v1.checkpoint"  # a signed note (text/plain)
AUDIT_GAP_SUBJECT = "audit.v1.gap"  # a source's sequence has stayed broken past the grace period
AUDIT_GAP_CLOSED_SUBJECT = "audit.v1.gap-closed"  # a late event filled an announced gap
AUDIT_ANOMALY_SUBJECT = "audit.v1.anomaly"  # a duplicate event id or a reused sequence number

AUDIT_ANNOUNCEMENTS = StreamSpec(
    name="AUDIT",
    subjects=("audit.v1.>",),
    storage="file",
    duplicate_window_seconds=24 * 3600,
    description="What the audit announces: signed checkpoints and gaps in sources' sequences",
)

DIRECTORY_BUCKET = "directory"
