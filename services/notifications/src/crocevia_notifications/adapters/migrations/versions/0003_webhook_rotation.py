"""Webhook secret rotation: the previous secret and until when it still signs.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as table:
        table.add_column(sa.Column("previous_secret", sa.String(100), nullable=True))
        table.add_column(sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as table:
        table.drop_column("previous_secret_until")
        table.drop_column("previous_secret")
