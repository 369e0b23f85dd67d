"""The audit's first schema: trail, tree nodes, checkpoints, key, gaps, anomalies, messaging.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from crocevia_common.messaging.schema import create_v1, drop_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

AUDIT_TABLES = (
    "trail_entries",
    "tree_nodes",
    "checkpoints",
    "signing_keys",
    "source_sequences",
    "sequence_gaps",
    "trail_anomalies",
)


def upgrade() -> None:
    create_v1()
    _trail()
    _checkpoints_and_key()
    _sequences_and_anomalies()


def _trail() -> None:
    op.create_table(
        "trail_entries",
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("type", sa.String(80), nullable=False),
        sa.Column("event", sa.String(24), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("from_agency", sa.String(64), nullable=False),
        sa.Column("to_agency", sa.String(64), nullable=False),
        sa.Column("referral_id", sa.String(64), nullable=False, index=True),
        sa.Column("sender_agency", sa.String(64), nullable=False, index=True),
        sa.Column("receiver_agency", sa.String(64), nullable=False, index=True),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("domain", sa.String(40), nullable=True),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("reason_code", sa.String(40), nullable=True),
        sa.Column("outcome", sa.String(40), nullable=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("stream_sequence", sa.BigInteger, nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entry", sa.LargeBinary, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Index("ix_trail_entries_source_sequence", "source", "sequence"),
    )
    op.create_table(
        "tree_nodes",
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
    )


def _checkpoints_and_key() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "signing_keys",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("seed", sa.LargeBinary(32), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def _sequences_and_anomalies() -> None:
    op.create_table(
        "source_sequences",
        sa.Column("source", sa.String(100), primary_key=True),
        sa.Column("highest", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "sequence_gaps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(100), nullable=False, index=True),
        sa.Column("first_missing", sa.BigInteger, nullable=False),
        sa.Column("last_missing", sa.BigInteger, nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_event_id", sa.String(36), nullable=True),
    )
    op.create_table(
        "trail_anomalies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(24), nullable=False, index=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("source", sa.String(100), nullable=True),
        sa.Column("sequence", sa.BigInteger, nullable=True),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("stream_sequence", sa.BigInteger, nullable=True),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for name in reversed(AUDIT_TABLES):
        op.drop_table(name)
    drop_v1()
