"""Trust: pinned keys of other parties, the publisher's sequence number in the inbox, and
the service's own keys.

Revision ID: 0003
Revises: 0002
"""

from crocevia_common.messaging.schema import downgrade_v2, upgrade_v2

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_v2()


def downgrade() -> None:
    downgrade_v2()
