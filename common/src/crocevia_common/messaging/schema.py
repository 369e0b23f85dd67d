"""The shared tables' history, as frozen DDL for each service's Alembic revisions: a revision
never reads the live table definitions, so changing a table means a new revision."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_v1() -> None:
    """The outbox, inbox and sequences as every service's first revision made them."""
    op.create_table(
        "outbox",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "event_sequences",
        sa.Column("source", sa.String(100), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )


def drop_v1() -> None:
    for name in ("event_sequences", "inbox", "outbox"):
        op.drop_table(name)


def upgrade_v2() -> None:
    """Trust: the publisher's sequence number in the inbox, pinned keys of other parties,
    the service's own keys."""
    with op.batch_alter_table("inbox") as inbox:
        inbox.add_column(sa.Column("source", sa.String(100), nullable=True))
        inbox.add_column(sa.Column("sequence", sa.BigInteger, nullable=True))
        inbox.create_index("ux_inbox_source_sequence", ["consumer", "source", "sequence"], unique=True)
    op.create_table(
        "pinned_keys",
        sa.Column("party", sa.String(80), primary_key=True),
        sa.Column("box", sa.String(44), nullable=False),
        sa.Column("signing", sa.String(44), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "own_keys",
        sa.Column("party", sa.String(80), primary_key=True),
        sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("box_secret", sa.String(64), nullable=False),
        sa.Column("signing_seed", sa.String(64), nullable=False),
        sa.Column("endorsement", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade_v2() -> None:
    op.drop_table("own_keys")
    op.drop_table("pinned_keys")
    with op.batch_alter_table("inbox") as inbox:
        inbox.drop_index("ux_inbox_source_sequence")
        inbox.drop_column("sequence")
        inbox.drop_column("source")
