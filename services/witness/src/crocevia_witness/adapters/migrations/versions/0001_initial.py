"""The checkpoint cosigned last, per log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cosigned_checkpoints",
        sa.Column("origin", sa.String(255), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("root", sa.LargeBinary(32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("cosigned_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("cosigned_checkpoints")
