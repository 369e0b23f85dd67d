"""Caseload: a referral's assignee and its assignments over time, and the folded person
details a search looks into (filled here for the referrals already held).

Revision ID: 0003
Revises: 0002
"""

import unicodedata
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        table.add_column(sa.Column("assignee", sa.String(200), nullable=True))
        table.add_column(sa.Column("person_search", sa.Text, nullable=True))
    op.create_index("ix_referrals_assignee", "referrals", ["assignee"])
    op.create_table(
        "referral_assignments",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("referral_id", sa.String(64), sa.ForeignKey("referrals.id"), nullable=False),
        sa.Column("assignee", sa.String(200), nullable=False),
        sa.Column("previous", sa.String(200), nullable=True),
        sa.Column("assigned_by", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_referral_assignments_referral_id", "referral_assignments", ["referral_id"])
    referrals = sa.table("referrals", sa.column("id", sa.String), sa.column("personal", sa.JSON))
    keys = sa.table("referrals", sa.column("id", sa.String), sa.column("person_search", sa.Text))
    bind = op.get_bind()
    # An erased part may be a JSON null rather than NULL: both leave nothing to find.
    held = bind.execute(sa.select(referrals.c.id, referrals.c.personal).where(referrals.c.personal.is_not(None)))
    for referral_id, personal in list(held):
        if not personal:
            continue
        key = _person_key(personal.get("person") or {})
        bind.execute(sa.update(keys).where(keys.c.id == referral_id).values(person_search=key))


def _person_key(person: dict[str, Any]) -> str:
    """The folded names, birth date, phone and e-mail, as this revision's code kept them."""
    parts = (person.get(name) for name in ("given_name", "family_name", "birth_date", "phone", "email"))
    return " | ".join(_folded(str(part)) for part in parts if part)


def _folded(text: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def downgrade() -> None:
    op.drop_index("ix_referral_assignments_referral_id", "referral_assignments")
    op.drop_table("referral_assignments")
    op.drop_index("ix_referrals_assignee", "referrals")
    with op.batch_alter_table("referrals") as table:
        table.drop_column("person_search")
        table.drop_column("assignee")
