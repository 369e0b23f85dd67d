"""Business status: when the oldest question each side of a referral has not answered was
asked, filled from the history of the referrals still open; when the sender closed a
rejection without sending it again; referrals indexed by the one they follow (whether a
rejection was sent again).

Revision ID: 0005
Revises: 0004
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = ("requested", "received", "accepted", "in-progress", "on-hold")


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("question_to_sender_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("question_to_receiver_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_referrals_previous_referral_id", "referrals", ["previous_referral_id"])
    _fill()


def downgrade() -> None:
    op.drop_index("ix_referrals_previous_referral_id", table_name="referrals")
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("closed_at")
        batch.drop_column("question_to_receiver_at")
        batch.drop_column("question_to_sender_at")


def _fill() -> None:
    """The rule of this revision's time, frozen: each side owes one answer per question the
    other side asked; the oldest unanswered one waits."""
    bind = op.get_bind()
    referrals = bind.execute(
        sa.text("SELECT id, sender_agency FROM referrals WHERE status IN :open").bindparams(
            sa.bindparam("open", expanding=True)
        ),
        {"open": list(OPEN)},
    ).all()
    for referral_id, sender_agency in referrals:
        rows = bind.execute(
            sa.text(
                "SELECT event, by_agency, at FROM referral_history WHERE referral_id = :id"
                " AND event IN ('info-requested', 'info-provided')"
            ),
            {"id": referral_id},
        ).all()
        asked: dict[str, list[Any]] = {"sender": [], "receiver": []}  # datetimes, or SQLite text
        answered = {"sender": 0, "receiver": 0}
        for event, by_agency, at in rows:
            by = "sender" if by_agency == sender_agency else "receiver"
            if event == "info-requested":
                asked["receiver" if by == "sender" else "sender"].append(at)
            else:
                answered[by] += 1
        since = {side: sorted(times)[answered[side]] if len(times) > answered[side] else None
                 for side, times in asked.items()}  # fmt: skip
        if since["sender"] or since["receiver"]:
            bind.execute(
                sa.text(
                    "UPDATE referrals SET question_to_sender_at = :sender, question_to_receiver_at = :receiver"
                    " WHERE id = :id"
                ),
                {"id": referral_id, **since},
            )
