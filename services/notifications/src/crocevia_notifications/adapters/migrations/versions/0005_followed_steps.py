"""The newest ``step`` of each side's events about a followed referral, so that an older
event never overwrites what a newer one said.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        table.add_column(sa.Column("sender_step", sa.Integer, nullable=False, server_default=sa.text("0")))
        table.add_column(sa.Column("receiver_step", sa.Integer, nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        table.drop_column("receiver_step")
        table.drop_column("sender_step")
