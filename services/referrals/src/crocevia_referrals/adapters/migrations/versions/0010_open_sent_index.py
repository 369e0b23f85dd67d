"""Referrals found by the service they were sent to and the person's names: before a referral
is sent, the node looks for an open one it already sent to the same service for the same
person (a warning, not a refusal). That look-up read every open referral the agency had sent,
whatever the service, and matched the names as the beginning of ``person_search`` (about
10 ms per referral sent at 100,000 referrals, see bench/results/sent_lookup.txt). The folded
names get their own column (filled here for the referrals already held), and an index leads
the look-up to that person's referrals to that service.

Revision ID: 0010
Revises: 0009
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as table:
        table.add_column(sa.Column("person_names", sa.Text, nullable=True))
    referrals = sa.table("referrals", sa.column("id", sa.String), sa.column("personal", sa.JSON))
    names = sa.table("referrals", sa.column("id", sa.String), sa.column("person_names", sa.Text))
    bind = op.get_bind()
    # An erased part may be a JSON null rather than NULL: both leave nothing to find.
    held = bind.execute(sa.select(referrals.c.id, referrals.c.personal).where(referrals.c.personal.is_not(None)))
    for referral_id, personal in list(held):
        person = (personal or {}).get("person") or {}
        if person.get("given_name") and person.get("family_name"):
            folded = f"{_folded(person['given_name'])} | {_folded(person['family_name'])}"
            bind.execute(sa.update(names).where(names.c.id == referral_id).values(person_names=folded))
    op.create_index(
        "ix_referrals_sent_to_person", "referrals", ["receiver_agency", "service_id", "person_names", "direction"]
    )


def _folded(text: str) -> str:
    """As this revision's code folds names: without accents, case or repeated spaces."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", str(text)) if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def downgrade() -> None:
    op.drop_index("ix_referrals_sent_to_person", table_name="referrals")
    with op.batch_alter_table("referrals") as table:
        table.drop_column("person_names")
