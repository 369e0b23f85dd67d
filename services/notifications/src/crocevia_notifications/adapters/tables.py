"""The notifications database: staff, the referrals it follows (public facts only), inbox
items, and the messaging tables. No personal details of referred people are stored here."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from crocevia_common.db import UtcDateTime
from crocevia_common.messaging.tables import messaging_tables

T = TypeVar("T")

metadata = MetaData()
messaging = messaging_tables(metadata)

staff = Table(
    "staff",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("agency", String(64), nullable=False),
    Column("sub", String(200), nullable=False),  # the ``sub`` claim of the person's tokens
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=True),
    Column("language", String(8), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("services", JSON, nullable=False),  # service ids; empty: every service
    Column("active", Boolean, nullable=False),
    Column("preferences", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("agency", "sub", name="uq_staff_agency_sub"),
)

# The public facts of each referral seen on the stream (enough to route, remind and link),
# its status by the lifecycle, and the newest ``step`` each side's events stated.
referrals = Table(
    "referrals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("sender_agency", String(64), nullable=False),
    Column("receiver_agency", String(64), nullable=False),
    Column("service_id", String(100), nullable=False),
    Column("priority", String(10), nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=True),
    Column("owner_sub", String(200), nullable=True),  # the sender's staff member who asked
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("sender_step", Integer, nullable=False, server_default=text("0")),  # added by 0005
    Column("receiver_step", Integer, nullable=False, server_default=text("0")),
)

# Who each agency assigned a referral to, by its latest caseload notice (``sequence``).
assignments = Table(
    "assignments",
    metadata,
    Column("referral_id", String(64), primary_key=True),
    Column("agency", String(64), primary_key=True),
    Column("assignee", String(200), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("assigned_at", UtcDateTime(), nullable=False),
)

inbox_items = Table(
    "inbox_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The event (or reminder) that caused the item: one item per notice and person.
    Column("notice_id", String(36), nullable=False),
    Column("person_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # event | reminder | escalation
    Column("event", String(24), nullable=False),
    Column("referral_id", String(64), nullable=False),
    Column("sender_agency", String(64), nullable=False),
    Column("receiver_agency", String(64), nullable=False),
    Column("service_id", String(100), nullable=False),
    Column("priority", String(10), nullable=False),
    Column("status", String(16), nullable=False),
    Column("title", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("link", String(500), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("read_at", UtcDateTime(), nullable=True),
    UniqueConstraint("notice_id", "person_id", name="uq_inbox_notice_person"),
    Index("ix_inbox_person_unread", "person_id", "read_at", "id"),
)

# Added by revision 0002: subscriptions, webhooks, deliveries, timers.

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("agency", String(64), nullable=False, index=True),
    Column("roles", JSON, nullable=False),
    Column("topics", JSON, nullable=False),
    Column("service_ids", JSON, nullable=False),
    Column("priorities", JSON, nullable=False),
    Column("scope", String(8), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("agency", String(64), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("topics", JSON, nullable=False),  # empty: every topic
    Column("secret", String(100), nullable=False),
    # After a rotation the previous secret signs too, until the end of its grace period.
    Column("previous_secret", String(100), nullable=True),
    Column("previous_secret_until", UtcDateTime(), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("disabled_at", UtcDateTime(), nullable=True),
    Column("disabled_reason", String(200), nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# One row per notice, recipient and channel (e-mail to a person, a webhook endpoint): the
# unique key is the exactly-once guarantee; a sender claims a row before it sends.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(36), primary_key=True),  # the webhook-id / Message-ID
    Column("notice_id", String(36), nullable=False),
    Column("channel", String(8), nullable=False),  # email | webhook
    Column("recipient", String(80), nullable=False),  # person:<id> | webhook:<id>
    Column("person_id", Integer, ForeignKey("staff.id"), nullable=True),
    Column("webhook_id", String(36), ForeignKey("webhooks.id"), nullable=True, index=True),
    Column("payload", JSON, nullable=False),  # what is sent, rendered when the notice came
    Column("status", String(10), nullable=False),  # pending | sent | failed | cancelled
    Column("digest_key", String(80), nullable=True),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("claimed_by", String(36), nullable=True),
    Column("claimed_until", UtcDateTime(), nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    UniqueConstraint("notice_id", "channel", "recipient", name="uq_delivery_notice_recipient"),
    Index("ix_deliveries_due", "channel", "status", "due_at"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(36), ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", String(500), nullable=True),
    Column("duration_ms", Integer, nullable=False),
)

timers = Table(
    "timers",
    metadata,
    Column("id", String(36), primary_key=True),  # also the id of the notice it fires
    Column("referral_id", String(64), nullable=False),
    Column("kind", String(12), nullable=False),  # reminder | escalation
    Column("stage", String(8), nullable=False),  # receive | decide
    Column("agency", String(64), nullable=False),  # the agency that must act
    Column("due_at", UtcDateTime(), nullable=False),
    Column("target_hours", Float, nullable=False),
    Column("state", String(10), nullable=False),  # pending | fired | cancelled
    Column("fired_at", UtcDateTime(), nullable=True),
    Column("cancelled_at", UtcDateTime(), nullable=True),
    UniqueConstraint("referral_id", "kind", "stage", name="uq_timer_referral_kind_stage"),
    Index("ix_timers_due", "state", "due_at"),
    Index("ix_timers_referral_state", "referral_id", "state"),  # a referral's pending timers (revision 0007)
)


def from_row(record: type[T], row: Mapping[Any, Any], **converted: Any) -> T:
    """The dataclass ``record`` of a row: each field from its column of the same name, but
    those given in ``converted`` (read into their domain types by the caller)."""
    names = [f.name for f in dataclasses.fields(record)]  # type: ignore[arg-type]
    return record(**{name: row[name] for name in names if name not in converted}, **converted)


def row_of(record: Any) -> dict[str, Any]:
    """The row of a dataclass ``record``: each field under its column's name, its value as it
    is (``dataclasses.asdict`` deep-copies every value, about 35 us a row of ten)."""
    return {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}
