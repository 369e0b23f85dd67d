"""A household pathway from the pages, on real NATS and SQLite: one form with several services
of the directory and the person typed once; the pathway's page with every referral's status;
the receiver's page says which agency leads the pathway; a refused form sends nothing."""

from __future__ import annotations

import html
import re
from datetime import datetime

from crocevia_common.web.i18n import LOCAL_ZONE
from tests.integration.web.pages import csrf_of, sign_in
from tests.kit.services import eventually

CASA, CPIA, CSL = "pioltello-casa", "cpia2", "csl-lavoro"


def pathway_form(csrf: str, *services: str) -> dict[str, str | list[str]]:
    return {
        "csrf": csrf,
        "services": list(services),
        "priority": "routine",
        "legal_basis.basis": "consent",
        "legal_basis.captured_by": "operator-pioltello-casa",
        "legal_basis.captured_at": datetime.now(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M"),
        "person.given_name": "Fatou",
        "person.family_name": "Diallo",
        "reason": "Housing, work and Italian together",
    }


async def test_one_form_refers_a_family_to_several_services_and_their_page_shows_each_status(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia, node_factory(CSL):
        await sign_in(casa, CASA)
        page = await casa.get("/ui/pathways/new?lang=en")
        assert page.status_code == 200
        assert 'value="cpia2/main-service"' in page.text and 'value="csl-lavoro/main-service"' in page.text
        assert page.text.count('type="checkbox" name="services"') == 2
        key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.text).group(1)  # type: ignore[union-attr]
        form = {
            **pathway_form(csrf_of(page.text), f"{CPIA}/main-service", f"{CSL}/main-service"),
            "idempotency_key": key,
        }
        sent = await casa.post("/ui/pathways/new", data=form)
        assert sent.status_code == 303, sent.text
        again = await casa.post("/ui/pathways/new", data=form)  # sent twice, as a double click does
        assert again.status_code == 303 and again.headers["location"].startswith(sent.headers["location"].split("?")[0])
        assert len((await casa.get("/referrals", headers=tokens.bearer(CASA))).json()["items"]) == 2
        location = sent.headers["location"]
        pathway_id = re.fullmatch(r"/ui/pathways/([0-9a-f-]+)\?done=sent", location).group(1)  # type: ignore[union-attr]

        async def both_received() -> str | bool:
            shown = (await casa.get(f"/ui/pathways/{pathway_id}?lang=en")).text
            return shown.count('class="status status-received"') == 2 and shown

        shown = await eventually(both_received, timeout=30)  # three nodes on a loaded machine
        assert "Fatou Diallo" in shown and "Led by" in shown
        [(rid,)] = [(r["id"],) for r in (await cpia.get("/referrals", headers=tokens.bearer(CPIA))).json()["items"]]
        await sign_in(cpia, CPIA)
        at_cpia = (await cpia.get(f"/ui/referrals/{rid}?lang=en")).text
        assert 'id="pathway"' in at_cpia and "Part of a pathway led by" in at_cpia
        assert f"/ui/pathways/{pathway_id}" not in at_cpia  # only the lead has the pathway's page
        assert 'id="pathway-services"' not in at_cpia  # the person was not asked to let them know
        assert (await cpia.get(f"/ui/pathways/{pathway_id}")).status_code == 404


async def test_a_refused_pathway_form_says_so_next_to_the_services_and_sends_nothing(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA):
        await sign_in(casa, CASA)
        csrf = csrf_of((await casa.get("/ui/pathways/new")).text)
        for services in ((), (f"{CPIA}/main-service", f"{CPIA}/main-service"), (f"{CPIA}/no-such-service",)):
            refused = await casa.post("/ui/pathways/new", data=pathway_form(csrf, *services))
            assert refused.status_code == 422, services
            assert 'id="services-error"' in refused.text and 'value="Fatou"' in refused.text
        api = tokens.bearer(CASA)
        assert (await casa.get("/pathways", headers=api)).json()["items"] == []
        assert (await casa.get("/referrals", headers=api)).json()["items"] == []


async def test_with_the_persons_agreement_the_receivers_page_names_the_other_services(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia, node_factory(CSL):
        await sign_in(casa, CASA)
        page = await casa.get("/ui/pathways/new?lang=en")
        assert 'name="share_within_pathway"' in page.text
        form = {**pathway_form(csrf_of(page.text), f"{CPIA}/main-service", f"{CSL}/main-service")}
        sent = await casa.post("/ui/pathways/new", data={**form, "share_within_pathway": "yes"})
        assert sent.status_code == 303, sent.text

        async def received() -> list[str] | bool:
            items = (await cpia.get("/referrals", headers=tokens.bearer(CPIA))).json()["items"]
            return [r["id"] for r in items] or False

        [rid] = await eventually(received, timeout=30)
        await sign_in(cpia, CPIA)
        at_cpia = (await cpia.get(f"/ui/referrals/{rid}?lang=en")).text
        told = re.search(r'<p class="note" id="pathway-services">(.*?)</p>', html.unescape(at_cpia), re.S)
        assert told is not None and "With the person's consent" in told.group(1)
        assert "Main service of csl-lavoro (CSL-LAVORO)" in told.group(1)  # the service, then its agency
