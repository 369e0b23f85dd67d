"""An agency's caseload, on in-memory fakes: who may assign a referral to whom, what an
assignment records (at this node only, in no event), and how a person search folds words."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from crocevia_common.auth import Principal, Role
from crocevia_contracts import LegalBasis, Priority
from crocevia_referrals.domain.caseload import person_key, search_words
from crocevia_referrals.domain.errors import Forbidden, Invalid, NotFound
from crocevia_referrals.domain.personal import Person, PersonalPart
from crocevia_referrals.domain.sending import ReferralRequest
from crocevia_referrals.handlers.caseload import assign
from crocevia_referrals.handlers.sending import send_referral
from crocevia_referrals.views import referral
from tests.unit.referrals.fakes import NOW, World, agency, world

CASA, CPIA = "pioltello-casa", "cpia2"
SUPERVISOR = Principal("sup-casa", CASA, frozenset({Role.SUPERVISOR}))
ADMIN = Principal("admin-casa", CASA, frozenset({Role.ADMIN}))
ANNA = Principal("anna", CASA, frozenset({Role.OPERATOR}))
LUCA = Principal("luca", CASA, frozenset({Role.OPERATOR}))
CONSENT = LegalBasis.model_validate({"basis": "consent", "captured_by": "op-1", "captured_at": NOW - timedelta(days=1)})
NICOLO = Person(given_name="Nicolò", family_name="De Santis", phone="+39 333 1234567")


async def casa_with_a_referral() -> tuple[World, str]:
    w = world(CASA, agency(CPIA))
    w.node.staff.subs[CASA] = {"sup-casa", "anna", "luca"}  # type: ignore[attr-defined]
    request = ReferralRequest(
        to_agency=CPIA,
        service_id="main-service",
        priority=Priority.ROUTINE,
        legal_basis=CONSENT,
        personal=PersonalPart(person=NICOLO),
    )
    sent = await send_referral(w.node, ANNA, request)
    return w, sent.referral_id


async def test_a_supervisor_assigns_and_reassigns_and_each_assignment_is_recorded() -> None:
    w, rid = await casa_with_a_referral()
    published = len(w.published)
    first = await assign(w.node, SUPERVISOR, rid, "anna")
    second = await assign(w.node, SUPERVISOR, rid, "luca")
    assert first is not None and (first.assignee, first.previous, first.by) == ("anna", None, "sup-casa")
    assert second is not None and (second.assignee, second.previous) == ("luca", "anna")
    assert w.referral(rid).assignee == "luca"
    assert len(w.published) == published, "an assignment travels in no referral event"
    # only this agency's notifications are told, so the notices reach the assignee first
    told = [(c.agency, c.referral_id, c.assignee) for c in w.uow.stored.caseload]
    assert told == [("pioltello-casa", rid, "anna"), ("pioltello-casa", rid, "luca")]
    view = await referral(w.reads, rid)
    assert view is not None and view.assignee == "luca"
    assert [(a.assignee, a.previous) for a in view.assignments or []] == [("anna", None), ("luca", "anna")]


async def test_an_admin_assigns_like_a_supervisor() -> None:
    w, rid = await casa_with_a_referral()
    assert await assign(w.node, ADMIN, rid, "luca") is not None


async def test_an_operator_takes_an_unassigned_referral_for_themselves() -> None:
    w, rid = await casa_with_a_referral()
    taken = await assign(w.node, ANNA, rid, "anna")
    assert taken is not None and w.referral(rid).assignee == "anna"
    assert await assign(w.node, ANNA, rid, "anna") is None, "assigned to them already: nothing new"
    assert len(w.uow.stored.assignments) == len(w.uow.stored.caseload) == 1


@pytest.mark.parametrize(
    ("first", "then_by", "then_to"),
    [
        (None, ANNA, "luca"),  # an operator assigns someone else
        ("anna", LUCA, "luca"),  # an operator takes one assigned to another
    ],
)
async def test_an_operator_may_not_assign_others_nor_take_an_assigned_referral(first, then_by, then_to) -> None:
    w, rid = await casa_with_a_referral()
    if first:
        await assign(w.node, SUPERVISOR, rid, first)
    before = copy.deepcopy(w.uow.stored)
    with pytest.raises(Forbidden) as refused:
        await assign(w.node, then_by, rid, then_to)
    assert refused.value.slug == "assignment-not-allowed"
    assert w.uow.stored == before


async def test_someone_not_on_the_agency_staff_cannot_be_assigned() -> None:
    w, rid = await casa_with_a_referral()
    w.node.staff.subs[CPIA] = {"giulia"}  # type: ignore[attr-defined]
    before = copy.deepcopy(w.uow.stored)
    for stranger in ("giulia", "nobody"):  # another agency's worker, or no one at all
        with pytest.raises(Invalid) as refused:
            await assign(w.node, SUPERVISOR, rid, stranger)
        assert (refused.value.slug, refused.value.field) == ("not-on-staff", "assignee")
    assert w.uow.stored == before


async def test_assigning_a_referral_that_is_not_here_is_not_found() -> None:
    w, _ = await casa_with_a_referral()
    with pytest.raises(NotFound):
        await assign(w.node, SUPERVISOR, "0190aaaa-0000-7000-8000-000000000000", "anna")


def test_a_person_search_ignores_accents_case_and_spacing() -> None:
    key = person_key(PersonalPart(person=NICOLO))
    assert key is not None
    assert all(word in key for word in search_words("  NICOLO   de santis "))
    assert search_words("Nicolò") == ["nicolo"]
    assert person_key(None) is None, "erased details leave nothing to find"
    assert len(search_words("a b c d e f g h i j")) == 8
