"""A supervisor keeps the agency's services current: the directory entry changes live for
every node, survives a restart of the node, and a refused change changes nothing."""

from __future__ import annotations

import pytest

from crocevia_common.web.session_cookie import SESSION_COOKIE
from tests.integration.referrals.conftest import referral_body
from tests.integration.web.pages import csrf_of
from tests.kit.hostile import assert_problem
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"


async def offered(node, tokens) -> dict:
    listed = await node.get(f"/directory/services?agency={CPIA}", headers=tokens.bearer(CASA))
    return {s["id"]: s for s in listed.json()}


async def test_a_change_is_seen_live_by_another_node_and_kept_across_a_restart(node_factory, tokens):
    boss = tokens.bearer(CPIA, "supervisor")
    async with node_factory(CASA) as casa:
        async with node_factory(CPIA) as cpia:
            changed = await cpia.patch("/services/main-service", json={"capacity": "no-capacity"}, headers=boss)
            assert changed.status_code == 200, changed.text
            assert changed.json()["capacity"] == "no-capacity"

            async def seen_at_casa() -> bool:
                return (await offered(casa, tokens))["main-service"]["capacity"] == "no-capacity"

            await eventually(seen_at_casa)
            sent = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))
            assert sent.status_code == 201 and any("no capacity" in w for w in sent.json()["warnings"])

            closed = await cpia.patch("/services/main-service", json={"accepts_referrals": False}, headers=boss)
            assert closed.json()["accepts_referrals"] is False and closed.json()["capacity"] == "no-capacity"

            async def closed_at_casa() -> bool:
                return (await offered(casa, tokens))["main-service"]["accepts_referrals"] is False

            await eventually(closed_at_casa)
            refused = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))
            assert refused.status_code == 422, refused.text

        # The agency file still says "available" and "accepts": the node publishes what was kept.
        async with node_factory(CPIA) as cpia:
            kept = {s["id"]: s for s in (await cpia.get("/services", headers=boss)).json()}
            main = kept["main-service"]
            assert (main["capacity"], main["accepts_referrals"]) == ("no-capacity", False)
            assert (await offered(casa, tokens))["main-service"]["capacity"] == "no-capacity"


@pytest.mark.parametrize(
    ("who", "path", "body", "status", "problem"),
    [
        ("operator", "/services/main-service", {"capacity": "waitlist"}, 403, "forbidden"),
        ("other-agency", "/services/main-service", {"capacity": "waitlist"}, 403, "other-agency"),
        ("supervisor", "/services/no-such-service", {"capacity": "waitlist"}, 404, "service-not-found"),
        ("supervisor", "/services/main-service", {}, 422, "validation"),
        ("supervisor", "/services/main-service", {"capacity": "plenty"}, 422, "validation"),
        ("supervisor", "/services/main-service", {"capacity": "waitlist", "name": "Renamed"}, 422, "validation"),
        ("supervisor", "/services/Main Service", {"capacity": "waitlist"}, 422, "validation"),
    ],
)
async def test_a_refused_change_is_a_problem_and_changes_nothing(
    node_factory, tokens, who, path, body, status, problem
):
    headers = {
        "operator": tokens.bearer(CPIA),
        "other-agency": tokens.bearer(CASA, "supervisor"),
        "supervisor": tokens.bearer(CPIA, "supervisor"),
    }[who]
    async with node_factory(CPIA) as cpia:
        before = (await cpia.get("/directory/agencies")).json()
        assert_problem(await cpia.patch(path, json=body, headers=headers), status, problem)
        assert (await cpia.get("/directory/agencies")).json() == before


async def test_the_services_page_changes_capacity_for_supervisors_only(node_factory, tokens):
    async with node_factory(CPIA) as cpia:
        cpia.cookies.set(SESSION_COOKIE, tokens.session(CPIA))
        assert (await cpia.get("/ui/services")).status_code == 403  # an operator
        cpia.cookies.clear()
        cpia.cookies.set(SESSION_COOKIE, tokens.session(CPIA, "supervisor"))
        page = await cpia.get("/ui/services")
        assert page.status_code == 200 and 'id="service-main-service"' in page.text
        form = {"csrf": csrf_of(page.text), "capacity": "waitlist", "status": "active", "accepts_referrals": "on"}
        saved = await cpia.post("/ui/services/main-service", data=form)
        assert saved.status_code == 303
        services = (await cpia.get("/services", headers=tokens.bearer(CPIA, "supervisor"))).json()
        assert next(s for s in services if s["id"] == "main-service")["capacity"] == "waitlist"
        assert (await cpia.post("/ui/services/main-service", data={**form, "csrf": "forged"})).status_code == 403
