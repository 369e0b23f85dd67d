"""The audit's pages, in the test process on real NATS: the trail with the session of the
page, an entry's bytes for the browser to hash, exports, and staff limited to their agency."""

from __future__ import annotations

import base64
import hashlib
import re

from tests.integration.conftest import referral_body
from tests.integration.web.pages import sign_in
from tests.kit.services import eventually


async def _trail(audit, auditor, referral_id):
    answer = await audit.get("/trail", params={"referral_id": referral_id, "order": "oldest"}, headers=auditor)
    items = answer.json()["items"]
    return len(items) == 2 and items


async def test_the_trail_page_shows_a_referral_and_hands_out_the_bytes_the_log_hashed(
    node_factory, audit_factory, tokens
):
    auditor = tokens.bearer("steering-committee", "network-auditor")
    async with audit_factory() as audit, node_factory("pioltello-casa") as casa, node_factory("cpia2"):
        created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer("pioltello-casa"))
        referral_id = created.json()["id"]
        items = await eventually(lambda: _trail(audit, auditor, referral_id))

        assert (await audit.get("/ui/trail")).status_code == 303  # the pages want a session
        await sign_in(audit, "steering-committee", "network-auditor")
        page = await audit.get("/ui/trail", params={"referral_id": referral_id})
        assert page.status_code == 200
        assert all(f'data-event-id="{item["event_id"]}"' in page.text for item in items)
        assert "Amina" not in page.text

        entry = await audit.get(f"/ui/trail/entries/{items[0]['event_id']}")
        leaf = hashlib.sha256(b"\x00" + entry.content).digest()
        assert base64.b64encode(leaf).decode() == items[0]["leaf_hash"]

        async def exported():
            answer = await audit.get("/ui/trail/export", params={"format": "csv", "referral_id": referral_id})
            return answer.status_code == 200 and referral_id in answer.text and answer

        csv = await eventually(exported)
        assert csv.headers["content-type"].startswith("text/csv") and "attachment" in csv.headers["content-disposition"]


async def test_staff_of_another_agency_see_nothing_of_a_referral_on_the_audit_pages(
    node_factory, audit_factory, tokens
):
    auditor = tokens.bearer("steering-committee", "network-auditor")
    async with audit_factory() as audit, node_factory("pioltello-casa") as casa, node_factory("cpia2"):
        created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer("pioltello-casa"))
        referral_id = created.json()["id"]
        items = await eventually(lambda: _trail(audit, auditor, referral_id))

        await sign_in(audit, "csl-lavoro", "operator")
        page = await audit.get("/ui/trail", params={"referral_id": referral_id})
        assert page.status_code == 200 and not re.search(r'data-event-id="', page.text)
        assert (await audit.get(f"/ui/trail/entries/{items[0]['event_id']}")).status_code == 404
        assert (await audit.get(f"/ui/referrals/{referral_id}")).status_code == 404
        proof = await audit.get("/ui/proofs/inclusion", params={"event_id": items[0]["event_id"]})
        assert proof.status_code == 404

        await sign_in(audit, "cpia2", "operator")  # a party sees its own referral's story
        story = await audit.get(f"/ui/referrals/{referral_id}")
        assert story.status_code == 200 and 'data-event="received"' in story.text
