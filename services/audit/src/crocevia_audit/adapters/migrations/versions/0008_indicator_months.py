"""Every month a referral was requested in, with a generation raised whenever the totals
of its referrals change (``indicator_months``), so that the indicators of a month counted
before are reused until then.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from crocevia_audit.adapters.totals import count_months

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "indicator_months",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False),
    )
    count_months(op.get_bind())


def downgrade() -> None:
    op.drop_table("indicator_months")
