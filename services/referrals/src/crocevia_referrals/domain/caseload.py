"""An agency's caseload: who of its staff a referral is assigned to, who may assign it, and
how staff find a referral by the person it is about.

Assignments are the agency's own business: they travel in no referral event, so neither the
other agency nor the audit learns who works on a referral; only the agency's notifications
are told (``crocevia_contracts.caseload``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from crocevia_referrals.domain.errors import Forbidden, Invalid
from crocevia_referrals.domain.personal import Person, PersonalPart
from crocevia_referrals.domain.referral import Referral

# At most this many words of a person search are matched (each must appear).
SEARCH_WORDS = 8


@dataclass(frozen=True)
class Assignment:
    """``referral_id`` assigned to ``assignee`` (a staff ``sub``) by ``by`` at ``at``, after
    ``previous`` (None: it was unassigned)."""

    referral_id: str
    assignee: str
    previous: str | None
    by: str
    at: datetime


def assign(
    referral: Referral, assignee: str, *, by: str, supervises: bool, staff: Collection[str], at: datetime
) -> Assignment | None:
    """Assign ``referral`` to ``assignee``, one of ``staff`` (the subs of this agency's staff).

    A supervisor (``supervises``) assigns and reassigns to anyone on the staff; anyone else
    only takes an unassigned referral for themselves. None when it is assigned to
    ``assignee`` already. Raise Invalid (``not-on-staff``) or Forbidden, changing nothing."""
    if assignee not in staff:
        raise Invalid("not-on-staff", f"{assignee} is not on the staff of {referral.our_agency}", "assignee")
    if referral.assignee == assignee:
        return None
    if not supervises and (assignee != by or referral.assignee is not None):
        detail = "a supervisor assigns referrals; you may take an unassigned one for yourself"
        raise Forbidden("assignment-not-allowed", detail, "assignee")
    change = Assignment(referral.id, assignee, referral.assignee, by, at)
    referral.assignee = assignee
    return change


def folded(text: str) -> str:
    """``text`` as a search compares it: without accents, case or repeated spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def person_key(personal: PersonalPart | None) -> str | None:
    """What a person search looks into: the names, birth date, phone and e-mail, folded.
    None once the details are erased (nothing is left to find)."""
    if personal is None:
        return None
    p = personal.person
    parts = (p.given_name, p.family_name, p.birth_date, p.phone, p.email)
    return " | ".join(folded(part) for part in parts if part)


def person_key_start(person: Person) -> str:
    """This person's folded names, as the ``person_key`` of every record with them begins
    (the names are never empty and come first): what a look-up of the same person finds."""
    return f"{folded(person.given_name)} | {folded(person.family_name)}"


def search_words(query: str) -> list[str]:
    """The words of a person search, folded; each must appear in a referral's ``person_key``."""
    return folded(query).split()[:SEARCH_WORDS]
