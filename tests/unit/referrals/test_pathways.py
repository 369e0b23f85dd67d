"""Household pathways on in-memory fakes: one request refers a person to several services,
all or none; each receiver learns the pathway's id and lead agency only; the lead sees every
referral's status; a person already referred to a service is warned of."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from crocevia_common.auth import Principal, Role
from crocevia_contracts import LegalBasis, Priority
from crocevia_contracts.events import PathwayRef
from crocevia_contracts.lifecycle import Status
from crocevia_referrals import pathway_views
from crocevia_referrals.domain.actions import ActionInput
from crocevia_referrals.domain.errors import Invalid
from crocevia_referrals.domain.pathways import PathwayRequest, PathwayService, same_person
from crocevia_referrals.domain.personal import Person, PersonalPart
from crocevia_referrals.domain.sending import ReferralRequest
from crocevia_referrals.handlers.acting import act
from crocevia_referrals.handlers.pathways import open_pathway
from crocevia_referrals.handlers.sending import Idempotency, redirect, send_referral
from tests.unit.referrals.fakes import NOW, Network, World, agency, world

CASA, CPIA, CSL, PREF = "pioltello-casa", "cpia2", "csl-lavoro", "prefettura-mediazione"
OPERATOR = Principal("op-casa", CASA, frozenset({Role.OPERATOR}))
CONSENT = LegalBasis.model_validate({"basis": "consent", "captured_by": "op-1", "captured_at": NOW - timedelta(days=1)})
FAMILY = PersonalPart(
    person=Person(given_name="Amina", family_name="Khalil", birth_date="1990-04-02", household="two children"),
    needs="housing, work and Italian at once",
)


def services(*named: tuple[str, str], reason: str = "") -> list[PathwayService]:
    return [PathwayService(a, s, Priority.ROUTINE, reason or f"why {a}") for a, s in named]


def pathway_request(*named: tuple[str, str]) -> PathwayRequest:
    chosen = named or ((CPIA, "main-service"), (CSL, "main-service"), (PREF, "main-service"))
    return PathwayRequest(services=services(*chosen), legal_basis=CONSENT, personal=FAMILY)


def casa(*others: Any) -> World:
    return world(CASA, agency(CPIA), agency(CSL), agency(PREF), *others)


def receiver(agency_id: str) -> World:
    others = [a for a in (CASA, CPIA, CSL, PREF) if a != agency_id]
    return world(agency_id, *(agency(a) for a in others))


async def test_a_pathway_sends_one_referral_per_service_each_in_the_pathway_led_by_the_sender() -> None:
    w = casa()
    opened = await open_pathway(w.node, OPERATOR, pathway_request())
    sent = [w.referral(s.referral_id) for s in opened.referrals]
    assert [r.receiver_agency for r in sent] == [CPIA, CSL, PREF]
    assert {r.pathway for r in sent} == {PathwayRef(id=opened.pathway_id, lead_agency=CASA)}
    assert all(r.personal and r.personal.person == FAMILY.person for r in sent)
    assert [r.personal.reason for r in sent if r.personal] == [f"why {a}" for a in (CPIA, CSL, PREF)]
    published = [e.data.pathway for e in w.published]  # type: ignore[attr-defined]
    assert published == [PathwayRef(id=opened.pathway_id, lead_agency=CASA)] * 3


@pytest.mark.parametrize(
    ("named", "slug"),
    [
        (((CPIA, "main-service"), (CPIA, "main-service")), "same-service-twice"),
        (((CPIA, "main-service"), (CSL, "no-such-service")), "unknown-service"),
        (((CPIA, "main-service"), ("no-such-agency", "main-service")), "unknown-agency"),
        (((CPIA, "main-service"), (CASA, "main-service")), "unknown-agency"),
        (((CPIA, "main-service"), ("closed", "main-service")), "service-closed"),
        ((), "no-services"),
    ],
)
async def test_a_refused_pathway_sends_none_of_its_referrals(named: tuple[tuple[str, str], ...], slug: str) -> None:
    w = casa(agency("closed", accepts_referrals=False))
    before = copy.deepcopy(w.uow.stored)
    request = PathwayRequest(services=services(*named), legal_basis=CONSENT, personal=FAMILY)
    with pytest.raises(Invalid) as refused:
        await open_pathway(w.node, OPERATOR, request)
    assert refused.value.slug == slug
    assert w.uow.stored == before


async def test_each_receiver_learns_the_pathway_and_its_lead_and_nothing_of_the_other_services() -> None:
    w, cpia, csl = casa(), receiver(CPIA), receiver(CSL)
    opened = await open_pathway(w.node, OPERATOR, pathway_request((CPIA, "main-service"), (CSL, "main-service")))
    await Network(w, cpia, csl).deliver()
    [at_cpia] = cpia.uow.stored.referrals.values()
    assert at_cpia.pathway == PathwayRef(id=opened.pathway_id, lead_agency=CASA)
    assert at_cpia.personal is not None and at_cpia.personal.reason == f"why {CPIA}"
    assert CSL not in repr(at_cpia) and "why csl" not in repr(at_cpia)
    assert [r.status for r in w.uow.stored.referrals.values()] == [Status.RECEIVED, Status.RECEIVED]


async def test_the_lead_sees_every_referral_of_its_pathway_with_its_status() -> None:
    w, cpia, csl = casa(), receiver(CPIA), receiver(CSL)
    opened = await open_pathway(w.node, OPERATOR, pathway_request((CPIA, "main-service"), (CSL, "main-service")))
    network = Network(w, cpia, csl)
    await network.deliver()
    rid = opened.referrals[1].referral_id
    await act(csl.node, Principal("op-csl", CSL, frozenset({Role.OPERATOR})), rid, ActionInput("accept"))
    await network.deliver()
    view = await pathway_views.pathway(w.reads, opened.pathway_id)
    assert view is not None and view.person == FAMILY.person
    assert [(r.receiver_agency, r.status) for r in view.referrals] == [(CPIA, "received"), (CSL, "accepted")]
    assert [p.id for p in (await pathway_views.pathways(w.reads)).items] == [opened.pathway_id]
    assert await pathway_views.pathway(cpia.reads, opened.pathway_id) is None  # a receiver leads none


async def test_a_redirected_referral_stays_in_its_pathway() -> None:
    w, cpia = casa(), receiver(CPIA)
    opened = await open_pathway(w.node, OPERATOR, pathway_request((CPIA, "main-service")))
    network = Network(w, cpia)
    await network.deliver()
    rid = opened.referrals[0].referral_id
    rejection = ActionInput("reject", reason_code="out-of-area", suggested_agency=CSL)
    await act(cpia.node, Principal("op-cpia", CPIA, frozenset({Role.OPERATOR})), rid, rejection)
    await network.deliver()
    again = await redirect(w.node, OPERATOR, rid, None, "main-service")
    assert w.referral(again.referral_id).pathway == PathwayRef(id=opened.pathway_id, lead_agency=CASA)


def referral_to_cpia(person: Person) -> ReferralRequest:
    personal = PersonalPart(person=person, reason="Italian course")
    return ReferralRequest(CPIA, "main-service", Priority.ROUTINE, CONSENT, personal)


async def test_sending_a_person_again_to_a_service_where_their_referral_is_open_warns() -> None:
    w = casa()
    first = await send_referral(w.node, OPERATOR, referral_to_cpia(FAMILY.person))
    assert first.warnings == []
    same = FAMILY.person.model_copy(update={"given_name": " AMÌNA ", "family_name": "khalil"})
    again = await send_referral(w.node, OPERATOR, referral_to_cpia(same))
    assert [x.code for x in again.warnings] == ["open-referral"]
    other = FAMILY.person.model_copy(update={"birth_date": "1991-04-02"})
    assert (await send_referral(w.node, OPERATOR, referral_to_cpia(other))).warnings == []
    in_pathway = await open_pathway(w.node, OPERATOR, pathway_request((CPIA, "main-service"), (CSL, "main-service")))
    assert [[x.code for x in s.warnings] for s in in_pathway.referrals] == [["open-referral"], []]


async def test_a_closed_referral_of_the_person_warns_of_nothing() -> None:
    w, cpia = casa(), receiver(CPIA)
    first = await send_referral(w.node, OPERATOR, referral_to_cpia(FAMILY.person))
    network = Network(w, cpia)
    await network.deliver()
    await act(cpia.node, Principal("op-cpia", CPIA, frozenset({Role.OPERATOR})), first.referral_id,
              ActionInput("reject", reason_code="no-capacity"))  # fmt: skip
    await network.deliver()
    assert (await send_referral(w.node, OPERATOR, referral_to_cpia(FAMILY.person))).warnings == []


def test_one_person_is_the_same_names_and_birth_date_whatever_the_case_and_accents() -> None:
    amina = Person(given_name="Amina", family_name="Khalil", birth_date="1990-04-02")
    assert same_person(amina, Person(given_name="amína", family_name="KHALIL ", birth_date="1990-04-02"))
    assert not same_person(amina, Person(given_name="Amina", family_name="Khalil"))
    assert not same_person(amina, Person(given_name="Amina", family_name="Kalil", birth_date="1990-04-02"))


async def test_requests_with_one_idempotency_key_open_one_pathway() -> None:
    w = casa()
    key = Idempotency("k1", "digest-1")
    first = await open_pathway(w.node, OPERATOR, pathway_request(), key)
    again = await open_pathway(w.node, OPERATOR, pathway_request(), key)
    assert (again.pathway_id, again.replayed, first.replayed) == (first.pathway_id, True, False)
    assert len(w.uow.stored.referrals) == 3
    with pytest.raises(Invalid) as reused:
        await open_pathway(w.node, OPERATOR, pathway_request(), Idempotency("k1", "digest-2"))
    assert reused.value.slug == "idempotency-key-reused"
