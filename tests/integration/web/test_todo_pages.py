"""The sender's to-do list on the node's pages, on real NATS and SQLite: "Needs us" says why
each referral waits; the answer form shows only when a question waits for us; "Send again"
starts at the agency the receiver suggested, or the rejection is closed; a rejection's
reason says it is one; a referral prints as a plain page for the paper file."""

from __future__ import annotations

import html
import re

from crocevia_common.web.i18n import Translator
from tests.integration.referrals.conftest import referral_body
from tests.integration.web.pages import csrf_of, error_next_to, sign_in
from tests.kit.services import eventually

CASA, CPIA, CSL = "pioltello-casa", "cpia2", "csl-lavoro"
IT = Translator("it")


async def sent_and_received(casa, tokens) -> str:
    rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]

    async def received():
        return (await casa.get(f"/referrals/{rid}", headers=tokens.bearer(CASA))).json()["status"] == "received"

    await eventually(received)
    return rid


async def at_sender(casa, tokens, rid, check) -> None:
    async def arrived():
        return check((await casa.get(f"/referrals/{rid}", headers=tokens.bearer(CASA))).json())

    await eventually(arrived)


def row_of(page: str, rid: str) -> str | None:
    """The row of ``rid`` in the table of what waits for us."""
    table = re.search(r'<table aria-labelledby="waiting-title" id="waiting">.*?</table>', page, re.S)
    found = re.search(rf'<tr data-referral="{rid}"[^>]*>.*?</tr>', table.group(0), re.S) if table else None
    return found.group(0) if found else None


async def test_needs_us_shows_the_sender_a_question_to_answer_and_a_rejection_to_send_again(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia, node_factory(CSL):
        asked, rejected = await sent_and_received(casa, tokens), await sent_and_received(casa, tokens)
        for rid, action, body in [
            (asked, "request-info", {"question": "Is she free on Tuesdays?"}),
            (rejected, "reject", {"reason_code": "out-of-area", "suggested_agency": CSL}),
        ]:
            answer = await cpia.post(f"/referrals/{rid}/{action}", json=body, headers=tokens.bearer(CPIA))
            assert answer.status_code == 200, answer.text
        await at_sender(casa, tokens, asked, lambda r: r["business_status"] == "info-requested")
        await at_sender(casa, tokens, rejected, lambda r: r["status"] == "rejected")

        await sign_in(casa, CASA)
        needs_us = (await casa.get("/ui")).text
        assert "<h1>Da fare per noi</h1>" in needs_us
        question_row, rejection_row = row_of(needs_us, asked), row_of(needs_us, rejected)
        assert question_row and 'data-reasons="answer"' in question_row and IT("waiting.answer") in question_row
        assert IT("needs.answer-by") in question_row
        assert rejection_row and 'data-reasons="redirect"' in rejection_row
        assert IT("waiting.redirect") in html.unescape(rejection_row)

        page = (await casa.get(f"/ui/referrals/{asked}")).text
        assert 'id="action-provide-info"' in page and 'id="question-for-us"' in page
        empty = await casa.post(f"/ui/referrals/{asked}/provide-info", data={"csrf": csrf_of(page), "note": ""})
        assert empty.status_code == 422
        assert html.unescape(error_next_to(empty.text, "provide-info-note") or "") == IT("problem.missing-note")
        done = await casa.post(f"/ui/referrals/{asked}/provide-info", data={"csrf": csrf_of(page), "note": "Yes"})
        assert done.status_code == 303
        assert 'id="action-provide-info"' not in (await casa.get(f"/ui/referrals/{asked}")).text, "answered"
        assert row_of((await casa.get("/ui")).text, asked) is None

        page = html.unescape((await casa.get(f"/ui/referrals/{rejected}")).text)
        assert re.search(r'<option value="csl-lavoro/main-service" selected>', page), "the suggested agency first"
        rejection = re.search(r'<li data-event="rejected">.*?</li>', page, re.S)
        assert rejection and f"{IT('reason-label.rejected')}:" in rejection.group(0)
        assert IT("field.reason") not in rejection.group(0)

        closed = await casa.post(f"/ui/referrals/{rejected}/close", data={"csrf": csrf_of(page)})
        assert closed.status_code == 303 and closed.headers["location"].endswith("?done=close")
        assert row_of((await casa.get("/ui")).text, rejected) is None, "closed: it waits no more"
        assert 'id="closed"' in (await casa.get(f"/ui/referrals/{rejected}")).text


async def test_the_answer_form_shows_only_when_a_question_waits_for_us(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        rid = await sent_and_received(casa, tokens)
        await sign_in(casa, CASA)
        page = (await casa.get(f"/ui/referrals/{rid}")).text
        assert 'id="action-provide-info"' not in page
        before = (await casa.get(f"/referrals/{rid}", headers=tokens.bearer(CASA))).json()
        posted = await casa.post(f"/ui/referrals/{rid}/provide-info", data={"csrf": csrf_of(page), "note": "Yes"})
        assert posted.status_code == 409 and 'id="problem"' in posted.text
        assert (await casa.get(f"/referrals/{rid}", headers=tokens.bearer(CASA))).json() == before

        asked = await cpia.post(f"/referrals/{rid}/request-info", json={"question": "?"}, headers=tokens.bearer(CPIA))
        assert asked.status_code == 200
        await sign_in(cpia, CPIA)
        at_asker = (await cpia.get(f"/ui/referrals/{rid}")).text
        assert 'id="action-provide-info"' not in at_asker and 'id="question-for-them"' in at_asker
        await at_sender(casa, tokens, rid, lambda r: r["business_status"] == "info-requested")
        assert 'id="action-provide-info"' in (await casa.get(f"/ui/referrals/{rid}")).text


async def test_a_referral_prints_as_a_plain_page_for_the_paper_file(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA):
        rid = await sent_and_received(casa, tokens)
        await sign_in(casa, CASA)
        assert f'href="/ui/referrals/{rid}/print"' in (await casa.get(f"/ui/referrals/{rid}")).text
        printed = await casa.get(f"/ui/referrals/{rid}/print")
        assert printed.status_code == 200
        text = html.unescape(printed.text)
        assert '<link rel="stylesheet" href="/static/print.css">' in text and "crocevia.css" not in text
        assert "Amina K." in text and IT("print.title") in text and rid in text
        assert "<form" not in text and "<nav" not in text
        assert IT("print.title") in html.unescape((await casa.get(f"/ui/referrals/{rid}?print=1")).text)
        style = await casa.get("/static/print.css")
        assert style.status_code == 200 and "@media print" in style.text
        elsewhere = await casa.get("/ui/referrals/0192f1c4-0000-7000-8000-000000000000/print")
        assert elsewhere.status_code == 404
