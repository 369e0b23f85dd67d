"""The audit's own database: the trail, its Merkle nodes, checkpoints, key, gaps, anomalies.

Nothing here holds personal details: entries are public envelopes whose sealed part is
replaced by its SHA-256. Rows of ``trail_entries`` and ``tree_nodes`` are only ever
inserted; no code path updates or deletes them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

from crocevia_common.db import Blob, UtcDateTime
from crocevia_common.messaging.tables import messaging_tables

metadata = MetaData()
# The outbox publishes checkpoints and gap events; the inbox is unused (the trail's
# unique event id is what makes an event count once).
messaging = messaging_tables(metadata)

trail_entries = Table(
    "trail_entries",
    metadata,
    # The leaf index in the Merkle log: 0, 1, 2... in the order the stream delivered.
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(80), nullable=False),
    Column("event", String(24), nullable=False),
    Column("source", String(100), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("from_agency", String(64), nullable=False),
    Column("to_agency", String(64), nullable=False),
    Column("referral_id", String(64), nullable=False, index=True),
    Column("sender_agency", String(64), nullable=False),
    Column("receiver_agency", String(64), nullable=False),
    Column("service_id", String(100), nullable=False),
    Column("domain", String(40), nullable=True),
    Column("priority", String(10), nullable=False),
    Column("reason_code", String(40), nullable=True),
    Column("outcome", String(40), nullable=True),
    Column("time", UtcDateTime(), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False, index=True),
    # Not hashed: where and when the audit got it.
    Column("stream_sequence", BigInteger, nullable=True),
    Column("recorded_at", UtcDateTime(), nullable=False),
    # The canonical entry bytes and SHA-256(0x00 || entry).
    Column("entry", Blob, nullable=False),
    Column("leaf_hash", Blob(32), nullable=False),
    Index("ix_trail_entries_source_sequence", "source", "sequence"),
    # Filtered listings in position order (0006): a pair; a party and an event.
    Index("ix_trail_entries_pair", "sender_agency", "receiver_agency", "position"),
    Index("ix_trail_entries_sender_event", "sender_agency", "event", "position"),
    Index("ix_trail_entries_receiver_event", "receiver_agency", "event", "position"),
)

tree_nodes = Table(
    "tree_nodes",
    metadata,
    # The root of the perfect subtree over leaves [index * 2**level, (index + 1) * 2**level).
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("index", BigInteger, primary_key=True, autoincrement=False),
    Column("digest", Blob(32), nullable=False),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", Blob(32), nullable=False),
    Column("note", Text, nullable=False),  # the signed note, as served
    Column("created_at", UtcDateTime(), nullable=False),
)

# Where revision 0001 kept the log's private key. A key found here is used until one is
# configured outside the database (adapters/keys.py), then its row is removed.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("seed", Blob(32), nullable=False),
    Column("public_key", Blob(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

source_sequences = Table(
    "source_sequences",
    metadata,
    Column("source", String(100), primary_key=True),
    Column("highest", BigInteger, nullable=False),
)

sequence_gaps = Table(
    "sequence_gaps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(100), nullable=False, index=True),
    Column("first_missing", BigInteger, nullable=False),
    Column("last_missing", BigInteger, nullable=False),
    Column("detected_at", UtcDateTime(), nullable=False),
    Column("raised_at", UtcDateTime(), nullable=True),  # published as an event
    Column("closed_at", UtcDateTime(), nullable=True),  # a late arrival filled it
    Column("closed_by_event_id", String(36), nullable=True),
)

anomalies = Table(
    "trail_anomalies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(24), nullable=False, index=True),  # duplicate | repeated-sequence
    Column("event_id", String(36), nullable=False),
    Column("source", String(100), nullable=True),
    Column("sequence", BigInteger, nullable=True),
    Column("subject", String(255), nullable=False),
    Column("stream_sequence", BigInteger, nullable=True),
    Column("payload_sha256", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("detected_at", UtcDateTime(), nullable=False),
)

# Added by revision 0002: every public key the log has signed checkpoints with (never a
# private key), so that a checkpoint signed by another key is named, not just refused.
log_keys = Table(
    "log_keys",
    metadata,
    Column("public_key", Blob(32), primary_key=True),
    Column("name", String(200), nullable=False),  # the log's origin
    Column("first_used_at", UtcDateTime(), nullable=False),
)

# Added by revision 0004: the cosignature lines witnesses returned for the log's checkpoints,
# appended to the note when it is served. A witness is named by its verifier key string.
cosignatures = Table(
    "cosignatures",
    metadata,
    Column("witness", String(300), primary_key=True),
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("line", Text, nullable=False),  # ``— <name> <base64>``, as the witness signed it
    Column("received_at", UtcDateTime(), nullable=False),
)

# Added by revision 0005: each referral's running totals, what the indicators read of it
# (``domain/totals.py``), written in the transaction that appends its entries, so that they
# never disagree with the trail (``crocevia-audit indicators check`` recomputes them).
# ``sender_agency`` and ``receiver_agency`` are its ``requested``'s, so an agency's view
# selects on them; the ``*_at`` columns are each step's first time in the trail.
referral_totals = Table(
    "referral_totals",
    metadata,
    Column("referral_id", String(64), primary_key=True),
    Column("sender_agency", String(64), nullable=False, index=True),
    Column("receiver_agency", String(64), nullable=False, index=True),
    Column("service_id", String(100), nullable=False),
    Column("domain", String(40), nullable=True),
    Column("priority", String(10), nullable=False),
    Column("lifecycle", Boolean, nullable=False),  # False while only notices about it came
    Column("requested_at", UtcDateTime(), nullable=True, index=True),
    Column("received_at", UtcDateTime(), nullable=True),
    Column("accepted_at", UtcDateTime(), nullable=True),
    Column("rejected_at", UtcDateTime(), nullable=True),
    Column("completed_at", UtcDateTime(), nullable=True),
    Column("failed_at", UtcDateTime(), nullable=True),
    Column("cancelled_at", UtcDateTime(), nullable=True),
    Column("consent_withdrawn_at", UtcDateTime(), nullable=True),
    Column("personal_data_erased_at", UtcDateTime(), nullable=True),
    Column("reason_code", String(40), nullable=True),
    Column("outcome", String(40), nullable=True),
    Column("reminders", Integer, nullable=False),
    Column("escalations", Integer, nullable=False),
    # Added by revision 0007, so that the indicators are grouped by the database: what
    # follows from the row alone (``Totals.measures``) and the due times of the target it
    # is held to, with that target's fingerprint (``Totals.held_to``).
    Column("requested_month", String(7), nullable=True),
    Column("receive_us", BigInteger, nullable=True),
    Column("decide_us", BigInteger, nullable=True),
    Column("complete_us", BigInteger, nullable=True),
    Column("held_to", String(32), nullable=True),
    Column("receive_due", UtcDateTime(), nullable=True),
    Column("decide_due", UtcDateTime(), nullable=True),
)

# Added by revision 0008: every month a referral was requested in, and how many times the
# totals of its referrals changed (``domain/cells.py``): raised in the transaction that
# changes them, so that indicator cells counted before are known to still hold or not.
indicator_months = Table(
    "indicator_months",
    metadata,
    Column("month", String(7), primary_key=True),
    Column("generation", BigInteger, nullable=False),
)
