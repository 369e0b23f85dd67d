"""Referrals found by the service they were sent to and the person's names: before a referral
is sent, the node looks for an open one it already sent to the same service for the same
person (a warning, not a refusal). That look-up read every open referral the agency had sent,
whatever the service, and matched the names as the beginning of ``person_search`` (about
4 ms per referral sent at 100,000 referrals, see bench/results/sent_lookup.txt). The folded
names get their own column, filled here for the referrals already held a thousand at a time
(at 100,000 referrals on 2 cores: 3 s on SQLite, 6 s on PostgreSQL), and an index leads the
look-up to that person's referrals to that service.

Revision ID: 0010
Revises: 0009
"""

import unicodedata
from typing import Any

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
    fill = sa.update(names).where(names.c.id == sa.bindparam("rid")).values(person_names=sa.bindparam("names"))
    bind = op.get_bind()
    last = ""
    while True:  # a thousand referrals at a time, in the order of their ids
        held = bind.execute(
            sa.select(referrals.c.id, referrals.c.personal)
            .where(referrals.c.id > last)
            .order_by(referrals.c.id)
            .limit(_CHUNK)
        ).all()
        if not held:
            break
        last = held[-1][0]
        # An erased part may be a JSON null rather than NULL: both leave no names.
        filled = [{"rid": referral_id, "names": _names(personal)} for referral_id, personal in held]
        filled = [row for row in filled if row["names"] is not None]
        if filled:
            bind.execute(fill, filled)
    op.create_index(
        "ix_referrals_sent_to_person", "referrals", ["receiver_agency", "service_id", "person_names", "direction"]
    )


_CHUNK = 1000


def _names(personal: dict[str, Any] | None) -> str | None:
    """The folded names of the person of a personal part, as this revision's code kept them."""
    person = (personal or {}).get("person") or {}
    if not (person.get("given_name") and person.get("family_name")):
        return None
    return f"{_folded(person['given_name'])} | {_folded(person['family_name'])}"


def _folded(text: str) -> str:
    """Without accents, case or repeated spaces."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", str(text)) if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def downgrade() -> None:
    op.drop_index("ix_referrals_sent_to_person", table_name="referrals")
    with op.batch_alter_table("referrals") as table:
        table.drop_column("person_names")
