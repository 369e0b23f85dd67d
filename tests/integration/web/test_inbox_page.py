"""The inbox page: a person's items with links to the referral on their own node, marked
read from the page (htmx answers the new count for the bell), and only for staff."""

from __future__ import annotations

import json
import re

from tests.integration.notifications.support import consumed
from tests.integration.web.pages import csrf_of, sign_in
from tests.kit.services import eventually


async def test_the_inbox_page_links_to_the_node_and_marks_items_read(notifications_factory, events, js):
    async with notifications_factory(node_urls={"cpia2": "http://cpia2.test"}) as app:
        for n in range(2):
            await events.requested(f"ref-{n}")
        await eventually(lambda: consumed(js))
        await sign_in(app, "cpia2", "operator")
        page = await app.get("/ui/inbox")
        assert page.status_code == 200
        assert 'href="http://cpia2.test/ui/referrals/ref-1"' in page.text
        first = re.search(r'<li id="item-(\d+)" class="unread" data-referral="ref-1"', page.text).group(1)

        answer = await app.post(
            f"/ui/inbox/{first}/read", headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(page.text)}
        )
        assert answer.status_code == 200
        assert json.loads(answer.headers["HX-Trigger"]) == {"crocevia-unread": 1}
        assert f'id="item-{first}" class="read"' in answer.text
        unread = await app.get("/ui/inbox", params={"unread": "true"})
        assert "ref-0" in unread.text and "ref-1" not in unread.text


async def test_someone_not_on_the_staff_directory_is_told_so(notifications_factory):
    # csl-lavoro has a node (so the sign-in offers it) but nobody on the staff directory.
    async with notifications_factory(node_urls={"csl-lavoro": "http://127.0.0.1:9"}) as app:
        await sign_in(app, "csl-lavoro", "operator")
        answer = await app.get("/ui/inbox")
        assert answer.status_code == 403 and "operator-csl-lavoro" in answer.text
