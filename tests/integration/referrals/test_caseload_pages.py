"""The caseload on the node's pages: a supervisor assigns and reassigns from a referral's
page, an operator takes an unassigned one, "Assigned to me" lists them, the list is searched
and paged, and closed referrals are reachable."""

from __future__ import annotations

import html
import re

import httpx

from crocevia_common.web.i18n import Translator
from tests.integration.referrals.conftest import referral_body
from tests.integration.web.pages import csrf_of, error_next_to, sign_in
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"
IT = Translator("it")


def listed(page: httpx.Response) -> list[str]:
    return re.findall(r'<tr data-referral="([^"]+)"', page.text)


def assignee_shown(page: httpx.Response) -> str:
    found = re.search(r'<p id="assignee">(.*?)</p>', page.text)
    assert found, "the referral's page shows whom it is assigned to"
    return html.unescape(found.group(1))


async def test_staff_assign_take_and_find_their_referrals_on_the_pages(node_factory, tokens, staff_dir):
    async with node_factory(CASA, staff_dir=staff_dir) as casa, node_factory(CPIA, staff_dir=staff_dir) as cpia:
        people = [("Amina", "Khaldi"), ("Ion", "Popescu"), ("Sara", "Bianchi")]
        ids = []
        for given, family in people:
            body = referral_body(person={"given_name": given, "family_name": family})
            ids.append((await casa.post("/referrals", json=body, headers=tokens.bearer(CASA))).json()["id"])

        async def all_received() -> bool:
            page = await cpia.get("/referrals?include_closed=true", headers=tokens.bearer(CPIA))
            return len(page.json()["items"]) == 3

        await eventually(all_received)
        await cpia.post(f"/referrals/{ids[2]}/reject", json={"reason_code": "duplicate"}, headers=tokens.bearer(CPIA))

        await sign_in(cpia, CPIA, "supervisor", "supervisor-cpia2")
        page = await cpia.get(f"/ui/referrals/{ids[0]}")
        assert assignee_shown(page) == IT("caseload.nobody")
        stranger = await cpia.post(
            f"/ui/referrals/{ids[0]}/assign", data={"csrf": csrf_of(page.text), "assignee": "operator-pioltello-casa"}
        )
        assert stranger.status_code == 422
        assert html.unescape(error_next_to(stranger.text, "assign-assignee") or "") == IT("problem.not-on-staff")
        assigned = await cpia.post(
            f"/ui/referrals/{ids[0]}/assign", data={"csrf": csrf_of(page.text), "assignee": "ahmed.saleh"}
        )
        assert assigned.status_code == 303
        page = await cpia.get(assigned.headers["location"])
        assert assignee_shown(page) == "Ahmed.Saleh" and IT("done.assign") in html.unescape(page.text)
        reassigned = await cpia.post(
            f"/ui/referrals/{ids[0]}/assign", data={"csrf": csrf_of(page.text), "assignee": "operator-cpia2"}
        )
        assert reassigned.status_code == 303
        assert assignee_shown(await cpia.get(f"/ui/referrals/{ids[0]}")) == "Operator-Cpia2"

        cpia.cookies.clear()
        await sign_in(cpia, CPIA, "operator", "ahmed.saleh")
        page = await cpia.get(f"/ui/referrals/{ids[0]}")
        assert 'id="action-assign"' not in page.text, "an operator does not take one assigned to another"
        page = await cpia.get(f"/ui/referrals/{ids[1]}")
        assert IT("caseload.take") in html.unescape(page.text)
        taken = await cpia.post(
            f"/ui/referrals/{ids[1]}/assign", data={"csrf": csrf_of(page.text), "assignee": "ahmed.saleh"}
        )
        assert taken.status_code == 303
        mine = await cpia.get("/ui/referrals", params={"assignee": "me"})
        assert mine.status_code == 200 and listed(mine) == [ids[1]]
        assert IT("caseload.mine") in html.unescape(mine.text)
        assert "/ui/referrals?assignee=me" in mine.text, "the navigation leads to one's own referrals"

        open_ones = await cpia.get("/ui/referrals")
        assert listed(open_ones) == [ids[1], ids[0]], "open ones unless closed ones are asked for"
        every = await cpia.get("/ui/referrals", params={"include_closed": "true"})
        assert listed(every) == list(reversed(ids))
        assert listed(await cpia.get("/ui/referrals", params={"status": "rejected"})) == [ids[2]]
        assert listed(await cpia.get("/ui/referrals", params={"person": "popescu", "status": ""})) == [ids[1]]

        first = await cpia.get("/ui/referrals", params={"include_closed": "true", "limit": "2"})
        assert listed(first) == [ids[2], ids[1]]
        following = re.search(r'href="([^"]+)" id="next-page"', first.text)
        assert following, "a full page links to the next one"
        second = await cpia.get(html.unescape(following.group(1)))
        assert listed(second) == [ids[0]] and 'id="next-page"' not in second.text

        bad = await cpia.get("/ui/referrals", params={"created_from": "2026-12-01", "created_to": "2026-11-01"})
        assert bad.status_code == 422 and listed(bad) == []
        assert html.unescape(error_next_to(bad.text, "created_to") or "") == IT("problem.invalid-dates")
