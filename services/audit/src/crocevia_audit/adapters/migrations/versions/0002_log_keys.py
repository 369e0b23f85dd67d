"""The public keys the log has signed with (``log_keys``); the private key leaves the database.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_keys",
        sa.Column("public_key", sa.LargeBinary(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False),
    )
    # The key a database already holds has signed its checkpoints: record it.
    op.execute(
        "INSERT INTO log_keys (public_key, name, first_used_at) SELECT public_key, name, created_at FROM signing_keys"
    )


def downgrade() -> None:
    op.drop_table("log_keys")
