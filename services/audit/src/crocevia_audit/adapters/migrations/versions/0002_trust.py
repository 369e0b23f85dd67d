"""Trust: pinned keys of other parties, the publisher's sequence number in the inbox, and
the service's own keys.

Revision ID: 0002
Revises: 0001
"""

from crocevia_common.messaging.schema import downgrade_v2, upgrade_v2

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_v2()


def downgrade() -> None:
    downgrade_v2()
