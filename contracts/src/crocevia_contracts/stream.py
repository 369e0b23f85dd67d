"""The JetStream streams every party relies on, as plain data (no NATS client needed).

Only the network's operator creates them; every service checks at start that the streams
it finds are no weaker than these specs (``crocevia_common.messaging.streams``).
"""

from __future__ import annotations

from dataclasses import dataclass

from crocevia_contracts.subjects import ALL_DEAD_LETTERS, ALL_REFERRAL_EVENTS, ALL_REPLAYS, check_agency_id

UNLIMITED = -1


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """What a stream must be. Limits of 0 (``max_age_seconds``) or -1 (the others) mean
    none: every message is kept for ever."""

    name: str
    subjects: tuple[str, ...]
    storage: str  # "file" or "memory"
    duplicate_window_seconds: float
    description: str
    retention: str = "limits"  # never "interest" or "workqueue": a read must not delete
    max_age_seconds: float = 0
    max_msgs: int = UNLIMITED
    max_bytes: int = UNLIMITED
    max_msg_size: int = UNLIMITED
    max_msgs_per_subject: int = UNLIMITED
    discard: str = "old"  # "old" or "new": what goes when a limit is reached
    deny_delete: bool = True  # no message can be deleted one by one
    deny_purge: bool = False  # the stream cannot be emptied
    allow_rollup: bool = False  # a "Nats-Rollup" header would purge earlier messages
    allow_msg_ttl: bool = False  # a "Nats-TTL" header would let a message expire


REFERRAL_EVENTS = StreamSpec(
    name="REFERRALS",
    subjects=(ALL_REFERRAL_EVENTS,),
    storage="file",
    # Nats-Msg-Id (= event id) is deduplicated within this window; the outbox relay
    # republishes only rows it could not confirm, so a day covers any realistic outage.
    duplicate_window_seconds=24 * 3600,
    description="Referral lifecycle events between agencies (CloudEvents, structured mode)",
    # The governance trail is built from this stream: nothing may empty it.
    deny_purge=True,
)

DEAD_LETTERS = StreamSpec(
    name="DEADLETTERS",
    subjects=(ALL_DEAD_LETTERS,),
    storage="file",
    duplicate_window_seconds=120,
    description="Messages a consumer could never apply, with the reason",
    # The operator empties a consumer's dead letters once handled (`crocevia deadletters purge`).
    deny_purge=False,
)

REPLAYS = StreamSpec(
    name="REPLAYS",
    subjects=(ALL_REPLAYS,),
    storage="file",
    # Replaying one dead letter twice within a day publishes it once (Nats-Msg-Id).
    duplicate_window_seconds=24 * 3600,
    description="Dead letters the operator puts back for one consumer, checked like any message",
    deny_purge=False,
)

NOTICES = StreamSpec(
    name="NOTICES",
    subjects=("notice.v1.>",),
    storage="file",
    duplicate_window_seconds=24 * 3600,
    description="Reminders and escalations of referrals past their response targets",
    deny_purge=True,
)

# Who of its staff an agency assigned a referral to: read by the notifications service only.
CASELOAD = StreamSpec(
    name="CASELOAD",
    subjects=("caseload.v1.>",),
    storage="file",
    duplicate_window_seconds=24 * 3600,
    description="Assignments of referrals to an agency's staff, for its notifications",
    deny_purge=True,
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
    # Published checkpoints are what a tampered trail is compared with.
    deny_purge=True,
)

# Attachments wait, encrypted to the agency they go to, in that agency's object store bucket
# until its node has kept them (then it deletes them); one never fetched expires.
ATTACHMENTS_MAX_AGE_SECONDS = 14 * 24 * 3600


def attachments_bucket(agency_id: str) -> str:
    """The object store bucket where the files sent to ``agency_id`` wait."""
    return f"attachments-{check_agency_id(agency_id)}"


def attachments_stream(agency_id: str) -> StreamSpec:
    """The stream behind ``agency_id``'s attachments bucket, as an object store keeps it
    (chunks and their meta, rollups for a meta's update), its objects expiring."""
    bucket = attachments_bucket(agency_id)
    return StreamSpec(
        name=f"OBJ_{bucket}",
        subjects=(f"$O.{bucket}.C.>", f"$O.{bucket}.M.>"),
        storage="file",
        duplicate_window_seconds=120,
        description=f"Attachments sent to {agency_id}, encrypted, until its node keeps them",
        max_age_seconds=ATTACHMENTS_MAX_AGE_SECONDS,
        discard="new",
        deny_delete=True,
        allow_rollup=True,
    )


# The streams the operator creates for every network (the directory bucket besides).
NETWORK_STREAMS = (REFERRAL_EVENTS, DEAD_LETTERS, NOTICES, CASELOAD, AUDIT_ANNOUNCEMENTS, REPLAYS)


@dataclass(frozen=True, slots=True)
class BucketSpec:
    """A JetStream key-value bucket: ``history`` values kept per key, never expiring."""

    bucket: str
    history: int
    storage: str
    description: str


DIRECTORY = BucketSpec(
    bucket="directory",
    history=5,
    storage="file",
    description="Agencies and their services (HSDS-shaped)",
)
DIRECTORY_BUCKET = DIRECTORY.bucket
