"""The access log's page at a node, on real NATS and SQLite: a page that shows a person's
details is a read recorded with its purpose; the supervisors and the data protection
officer see the log, filtered, and whether its chain holds; operators do not."""

from __future__ import annotations

import html

from tests.integration.referrals.conftest import referral_body
from tests.integration.web.pages import sign_in
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"


async def _received(casa, cpia, tokens) -> str:
    created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))
    referral_id = created.json()["id"]

    async def arrived():
        listed = await cpia.get("/access-log", headers=tokens.bearer(CPIA, "dpo"))
        own = await cpia.get(f"/referrals/{referral_id}", headers=tokens.bearer(CPIA, sub="op-api"))
        return listed.status_code == 200 and own.status_code == 200

    await eventually(arrived)
    return referral_id


async def test_a_referral_page_is_a_read_recorded_with_its_purpose_and_the_dpo_sees_it(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        referral_id = await _received(casa, cpia, tokens)
        await sign_in(cpia, CPIA, "operator")
        page = await cpia.get(f"/ui/referrals/{referral_id}?purpose=own-request")
        assert page.status_code == 200 and "Amina" in page.text
        refused = await cpia.get(f"/ui/referrals/{referral_id}?purpose=curiosity")
        assert refused.status_code == 400 and "Amina" not in refused.text
        assert (await cpia.get("/ui/access-log")).status_code == 403

        cpia.cookies.clear()
        await sign_in(cpia, CPIA, "dpo")
        log = await cpia.get("/ui/access-log?lang=en")
        assert log.status_code == 200, log.text
        assert 'id="chain"' in log.text and "note good" in log.text
        rows = log.text.split('<tr data-position="')[1:]
        assert len(rows) == 2  # the API read, then the page
        newest = html.unescape(rows[0])
        assert referral_id in newest and "operator-cpia2" in newest
        assert "the person's own request" in newest and "page" in newest
        assert "care" in html.unescape(rows[1]) and "op-api" in rows[1]
        by_staff = await cpia.get("/ui/access-log?staff=op-api")
        assert by_staff.text.count('<tr data-position="') == 1
        assert (await cpia.get(f"/ui/access-log?staff={'x' * 300}")).status_code == 400
        assert "Amina" not in log.text  # the log names referrals and staff, never the person


async def test_the_referrals_page_records_each_person_it_lists_with_its_purpose(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        referral_id = await _received(casa, cpia, tokens)
        await sign_in(cpia, CPIA, "operator")
        listed = await cpia.get("/ui/referrals?purpose=audit&person=amina")
        assert listed.status_code == 200 and "Amina" in listed.text
        nobody = await cpia.get("/ui/referrals?person=nobody")
        assert nobody.status_code == 200 and 'id="no-referrals"' in nobody.text
        refused = await cpia.get("/ui/referrals?purpose=curiosity")
        assert refused.status_code == 400 and "Amina" not in refused.text

        cpia.cookies.clear()
        await sign_in(cpia, CPIA, "dpo")
        log = await cpia.get("/ui/access-log?lang=en")
        rows = log.text.split('<tr data-position="')[1:]
        assert len(rows) == 2  # the API read, then the list: nothing for the page that listed nobody
        newest = html.unescape(rows[0])
        assert referral_id in newest and "operator-cpia2" in newest
        assert "audit" in newest and "page" in newest


async def test_needs_us_records_each_person_it_names(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        referral_id = await _received(casa, cpia, tokens)
        await sign_in(cpia, CPIA, "operator")
        page = await cpia.get("/ui?lang=en")
        assert page.status_code == 200 and "Amina" in page.text  # received, to decide: it waits for cpia2
        assert (await cpia.get("/ui?purpose=curiosity")).status_code == 400

        cpia.cookies.clear()
        await sign_in(cpia, CPIA, "dpo")
        log = await cpia.get("/ui/access-log?lang=en")
        rows = log.text.split('<tr data-position="')[1:]
        assert len(rows) == 2  # the API read, then "Needs us"; nothing for the refused purpose
        newest = html.unescape(rows[0])
        assert referral_id in newest and "operator-cpia2" in newest and "care" in newest
