"""Messages on a referral's page: an operator writes with a file from the form, the other
agency's page shows it marked as new once (then read), opens the file; a file of another kind
is shown next to the field and nothing goes; a form without the session's token is refused."""

from __future__ import annotations

import html
import re

from crocevia_common.web.i18n import Translator
from tests.integration.referrals.test_messages import PDF, form, received_referral
from tests.integration.web.pages import csrf_of, error_next_to, sign_in
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"
IT = Translator("it")


def unread_on(page: str) -> list[str]:
    return re.findall(r'<li id="message-([^"]+)" class="theirs unread">', page)


async def test_a_message_written_on_the_page_arrives_marked_new_once_with_its_file(node_factory, tokens, staff_dir):
    async with node_factory(CASA, staff_dir=staff_dir) as casa, node_factory(CPIA, staff_dir=staff_dir) as cpia:
        rid = await received_referral(casa, cpia, tokens)
        await sign_in(casa, CASA, "operator", "operator-pioltello-casa")
        page = await casa.get(f"/ui/referrals/{rid}")
        assert 'id="message-form"' in page.text and IT("messages.none") in page.text

        refused = await casa.post(
            f"/ui/referrals/{rid}/messages", **form("see file", ("a.pdf", b"GIF89a", "image/gif"))
        )
        assert refused.status_code == 403, "no form token, no message"
        token = {"csrf": csrf_of(page.text)}
        wrong = form("see the file", ("a.pdf", b"GIF89a not a pdf", "application/pdf"))
        wrong["data"] |= token
        shown = await casa.post(f"/ui/referrals/{rid}/messages", **wrong)
        assert shown.status_code == 422
        assert error_next_to(shown.text, "message-text") == IT("problem.attachment-type")
        assert "see the file" in shown.text, "what was written stays in the form"

        good = form("Il certificato ISEE è allegato.", ("isee.pdf", PDF, "application/pdf"))
        good["data"] |= token
        sent = await casa.post(f"/ui/referrals/{rid}/messages", **good)
        assert sent.status_code == 303 and sent.headers["location"].endswith("?done=message#messages")

        await sign_in(cpia, CPIA, "operator", "operator-cpia2")

        async def shown_new():
            there = await cpia.get(f"/ui/referrals/{rid}")
            return unread_on(there.text) and there.text

        first = await eventually(shown_new)
        assert "Il certificato ISEE è allegato." in html.unescape(first)
        [link] = re.findall(rf'href="(/ui/referrals/{rid}/attachments/[^"]+)"', first)
        opened = await cpia.get(link)
        assert (
            opened.status_code == 200 and opened.content == PDF and opened.headers["content-type"] == "application/pdf"
        )
        again = await cpia.get(f"/ui/referrals/{rid}")
        assert unread_on(again.text) == [], "read once shown"
        log = (await cpia.get(f"/access-log?referral_id={rid}", headers=tokens.bearer(CPIA, "supervisor"))).json()
        assert [e["channel"] for e in log["items"]].count("page") >= 3, "each page and the file opened were reads"
