"""Household pathways: the pathway a referral belongs to, and the agency that leads it.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        table.add_column(sa.Column("pathway_id", sa.String(64), nullable=True))
        table.add_column(sa.Column("pathway_lead", sa.String(64), nullable=True))
    op.create_index("ix_referrals_pathway_id", "referrals", ["pathway_id"])


def downgrade() -> None:
    op.drop_index("ix_referrals_pathway_id", "referrals")
    with op.batch_alter_table("referrals") as table:
        table.drop_column("pathway_lead")
        table.drop_column("pathway_id")
