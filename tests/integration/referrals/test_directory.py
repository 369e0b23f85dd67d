"""The directory in the NATS key-value bucket: each node publishes itself, all see all, live."""

from __future__ import annotations

from tests.integration.referrals.conftest import referral_body
from tests.kit.services import eventually

SERVICES = [
    {
        "id": "italiano-a1",
        "name": "Italiano A1",
        "domain": "education",
        "languages": ["it", "ar"],
        "capacity": "waitlist",
    },
    {
        "id": "mediazione",
        "name": "Mediazione",
        "domain": "mediation",
        "languages": ["ar", "fr"],
        "capacity": "no-capacity",
    },
    {"id": "chiuso", "name": "Closed", "domain": "work", "accepts_referrals": False},
]


async def test_a_node_sees_a_new_agency_without_restarting(node_factory, tokens):
    async with node_factory("pioltello-casa") as casa:
        before = (await casa.get("/directory/services")).json()
        assert {s["agency"]["id"] for s in before} == {"pioltello-casa"}
        async with node_factory("cpia2", services=SERVICES):

            async def seen():
                found = (await casa.get("/directory/services?agency=cpia2")).json()
                return found if len(found) == 3 else None

            found = await eventually(seen)
    assert {s["id"] for s in found} == {"italiano-a1", "mediazione", "chiuso"}


async def test_services_are_searched_by_domain_language_and_capacity(node_factory, tokens):
    async with node_factory("cpia2", services=SERVICES) as cpia:
        assert [s["id"] for s in (await cpia.get("/directory/services?domain=education")).json()] == ["italiano-a1"]
        assert [s["id"] for s in (await cpia.get("/directory/services?language=fr")).json()] == ["mediazione"]
        assert [s["id"] for s in (await cpia.get("/directory/services?capacity=no-capacity")).json()] == ["mediazione"]
        bad = await cpia.get("/directory/services?domain=astrology")
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        agencies = (await cpia.get("/directory/agencies")).json()
        assert agencies[0]["public_keys"]["box"] and agencies[0]["public_keys"]["signing"]


async def test_the_sender_is_told_of_a_waiting_list_in_the_answer(node_factory, tokens):
    async with node_factory("pioltello-casa") as casa, node_factory("cpia2", services=SERVICES):
        waitlisted = await casa.post(
            "/referrals", json=referral_body(service_id="italiano-a1"), headers=tokens.bearer("pioltello-casa")
        )
        assert waitlisted.status_code == 201
        assert waitlisted.json()["warnings"] == ["Italiano A1 has a waiting list"]
        assert (await casa.get(waitlisted.headers["location"], headers=tokens.bearer("pioltello-casa"))).json()[
            "warnings"
        ] == [], "a warning is said once, when the referral is sent"
