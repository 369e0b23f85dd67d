"""What the indicators group by in the database, on each referral's running totals: its
month and times (``Totals.measures``) and the due times of the target it is held to, with
that target's fingerprint (``Totals.held_to``). Every row is computed again from the trail.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from crocevia_audit.adapters.totals import rebuild

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_COLUMNS = ("requested_month", "receive_us", "decide_us", "complete_us", "held_to", "receive_due", "decide_due")


def upgrade() -> None:
    instant = sa.DateTime(timezone=True)
    with op.batch_alter_table("referral_totals") as table:
        table.add_column(sa.Column("requested_month", sa.String(7), nullable=True))
        table.add_column(sa.Column("receive_us", sa.BigInteger, nullable=True))
        table.add_column(sa.Column("decide_us", sa.BigInteger, nullable=True))
        table.add_column(sa.Column("complete_us", sa.BigInteger, nullable=True))
        table.add_column(sa.Column("held_to", sa.String(32), nullable=True))
        table.add_column(sa.Column("receive_due", instant, nullable=True))
        table.add_column(sa.Column("decide_due", instant, nullable=True))
    # Derived data, unlike the tables above: filled by the same ``rebuild`` that
    # ``crocevia-audit indicators check`` holds the totals to, from the trail alone. No
    # target is known here: every row is counted against the directory when read until
    # the referral's next event stores its due times.
    rebuild(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("referral_totals") as table:
        for column in reversed(_COLUMNS):
            table.drop_column(column)
