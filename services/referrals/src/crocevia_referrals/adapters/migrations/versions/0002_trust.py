"""Trust: pinned keys of other agencies, the publisher's sequence number in the inbox, and
the node's own keys in the shared ``own_keys`` table (with their rotations), moved from
``node_keys``.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from crocevia_common.messaging.schema import downgrade_v2, upgrade_v2

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_v2()
    op.execute(
        sa.text(
            "INSERT INTO own_keys (party, generation, box_secret, signing_seed, endorsement, created_at)"
            " SELECT agency_id, 1, box_secret, signing_seed, NULL, created_at FROM node_keys"
        )
    )
    op.drop_table("node_keys")


def downgrade() -> None:
    op.create_table(
        "node_keys",
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("box_secret", sa.String(64), nullable=False),
        sa.Column("signing_seed", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        sa.text(
            "INSERT INTO node_keys (agency_id, box_secret, signing_seed, created_at)"
            " SELECT party, box_secret, signing_seed, created_at FROM own_keys WHERE generation = 1"
        )
    )
    downgrade_v2()
