"""The node's own database: its referrals, their history, its keys, and messaging tables."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from crocevia_common.db import Blob, UtcDateTime
from crocevia_common.messaging.tables import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)

referrals = Table(
    "referrals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("direction", String(8), nullable=False),  # outgoing | incoming
    Column("sender_agency", String(64), nullable=False),
    Column("receiver_agency", String(64), nullable=False),
    Column("service_id", String(100), nullable=False),
    Column("domain", String(40), nullable=True),
    Column("priority", String(10), nullable=False),
    Column("status", String(16), nullable=False),
    Column("legal_basis", JSON, nullable=False),
    # The opened personal part (person, reason, needs). NULL once erased.
    Column("personal", JSON, nullable=True),
    Column("erased_at", UtcDateTime(), nullable=True),
    Column("erasure_reason", String(40), nullable=True),
    Column("consent_withdrawn_at", UtcDateTime(), nullable=True),
    Column("previous_referral_id", String(64), nullable=True),
    # Events about this referral: how many this node sent, and the last step of the other
    # node's it applied (the other node's events are applied in step order).
    Column("our_step", Integer, nullable=False, default=0),
    Column("their_step", Integer, nullable=False, default=0),
    Column("created_by", String(200), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # The staff member (token ``sub``) it is assigned to at this node; never shared.
    Column("assignee", String(200), nullable=True),
    # The person's names, birth date and contacts folded for search; NULL once erased.
    Column("person_search", Text, nullable=True),
    # The person's folded names, as ``person_key_start`` gives them: where a look-up of the
    # same person starts (revision 0010). NULL once erased.
    Column("person_names", Text, nullable=True),
    # Its business status: when the oldest question each side has not answered was asked
    # (NULL: none waits for that side's answer).
    Column("question_to_sender_at", UtcDateTime(), nullable=True),
    Column("question_to_receiver_at", UtcDateTime(), nullable=True),
    # The sender closed the rejection without sending it again (its to-do list only).
    Column("closed_at", UtcDateTime(), nullable=True),
    # The household pathway it belongs to, and the agency that leads it.
    Column("pathway_id", String(64), nullable=True),
    Column("pathway_lead", String(64), nullable=True),
    Index("ix_referrals_direction_status", "direction", "status"),
    Index("ix_referrals_assignee", "assignee"),
    Index("ix_referrals_previous_referral_id", "previous_referral_id"),
    Index("ix_referrals_pathway_id", "pathway_id"),
    Index("ix_referrals_created_at_id", "created_at", "id"),  # the lists' order (revision 0009)
    # The referrals already sent to a service for a person, looked for before sending (revision 0010).
    Index("ix_referrals_sent_to_person", "receiver_agency", "service_id", "person_names", "direction"),
)

history = Table(
    "referral_history",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),
    Column("referral_id", String(64), ForeignKey("referrals.id"), nullable=False, index=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("event", String(24), nullable=False),
    Column("by_agency", String(64), nullable=False),
    Column("by_user", String(200), nullable=True),
    Column("status", String(16), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("details", JSON, nullable=False),  # public codes
    Column("note", Text, nullable=True),  # opened free text; erased with the personal part
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("request_sha256", String(64), nullable=False),
    Column("referral_id", String(64), ForeignKey("referrals.id"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Every read of a referral's personal part, hash-chained (``domain/access_log.py``): rows
# are only ever inserted, each after the last under the log's lock.
access_log = Table(
    "access_log",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("referral_id", String(64), nullable=False, index=True),
    Column("staff", String(200), nullable=False, index=True),
    Column("purpose", String(20), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("prev_sha256", String(64), nullable=False),
    Column("entry_sha256", String(64), nullable=False),
)

# The heads of the access log this node published in the trail (``access-log-anchored``).
access_log_anchors = Table(
    "access_log_anchors",
    metadata,
    Column("entries", Integer, primary_key=True, autoincrement=False),
    Column("head_sha256", String(64), nullable=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("anchored_at", UtcDateTime(), nullable=False),
)

# Who a referral was assigned to, and by whom, over time: the node's own record.
assignments = Table(
    "referral_assignments",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),
    Column("referral_id", String(64), ForeignKey("referrals.id"), nullable=False, index=True),
    Column("assignee", String(200), nullable=False),
    Column("previous", String(200), nullable=True),
    Column("assigned_by", String(200), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
)

# What the agency's supervisors changed of its services (capacity, taking referrals, status).
service_changes = Table(
    "service_changes",
    metadata,
    Column("service_id", String(100), primary_key=True),
    Column("changes", JSON, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# The files of the referral's messages (their text is the history's note), kept at both
# nodes; deleted with the personal details.
message_attachments = Table(
    "message_attachments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("referral_id", String(64), ForeignKey("referrals.id"), nullable=False, index=True),
    Column("message_id", String(36), nullable=False, index=True),  # the message-sent event
    Column("position", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("media_type", String(40), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", Blob, nullable=False),
)

# When this agency read each message of the other agency's, and who first did.
message_reads = Table(
    "message_reads",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("referral_id", String(64), ForeignKey("referrals.id"), nullable=False, index=True),
    Column("read_by", String(200), nullable=False),
    Column("read_at", UtcDateTime(), nullable=False),
)
