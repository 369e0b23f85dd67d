"""The sender's to-do list in the browser: cpia2 asks pioltello-casa a question, which
appears in pioltello-casa's "Da fare per noi" and is answered there; cpia2 rejects another
referral suggesting the Prefettura's mediators, and pioltello-casa sends it again from its
to-do list, the suggested agency already chosen; the referral prints for the paper file.

The tests run in order and share the people at their browsers.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import expect

from crocevia_common.auth import ensure_dev_key, issue_dev_token
from tests.browser.conftest import Person, reload_until

CASA, CPIA = "pioltello-casa", "cpia2"
STORY: dict[str, str] = {}


@pytest.fixture(scope="module")
def casa(people, network) -> Person:
    person = people("it-IT")
    person.sign_in(f"{network['agencies'][CASA]}/ui", CASA, "operator", "Entra")
    return person


@pytest.fixture(scope="module")
def cpia(people, network) -> Person:
    person = people("it-IT")
    person.sign_in(f"{network['agencies'][CPIA]}/ui", CPIA, "operator", "Entra")
    return person


def api(network: dict, agency: str, method: str, path: str, body: dict | None = None) -> httpx.Response:
    token = issue_dev_token(ensure_dev_key(network["key_file"]), agency=agency, roles=["operator"], sub=f"op-{agency}")
    with httpx.Client(timeout=10, trust_env=False) as http:
        return http.request(
            method, f"{network['agencies'][agency]}{path}", json=body, headers={"Authorization": f"Bearer {token}"}
        )


def received(network: dict, given_name: str) -> str:
    """A referral pioltello-casa sends to cpia2's Italian course, once cpia2 has it."""
    body = {
        "to_agency": CPIA,
        "service_id": "italiano-a1",
        "reason": "Corso di italiano A1",
        "legal_basis": {"basis": "consent", "captured_by": "op-1", "captured_at": datetime.now(UTC).isoformat()},
        "person": {"given_name": given_name, "family_name": "Diallo"},
    }
    sent = api(network, CASA, "POST", "/referrals", body)
    assert sent.status_code == 201, sent.text
    rid = sent.json()["id"]
    deadline = time.monotonic() + 20
    while api(network, CASA, "GET", f"/referrals/{rid}").json()["status"] != "received":
        assert time.monotonic() < deadline, "cpia2 did not receive it"
        time.sleep(0.2)
    return rid


def test_cpia2_asks_a_question_from_the_referral_page(cpia: Person, network: dict) -> None:
    STORY["asked"], STORY["rejected"] = received(network, "Fatou"), received(network, "Moussa")
    page = cpia.page
    page.goto(f"{network['agencies'][CPIA]}/ui/referrals/{STORY['asked']}")
    expect(page.locator("#action-provide-info")).to_have_count(0)  # nobody asked cpia2 anything
    page.locator("#request-info-note").fill("Fatou può frequentare il martedì sera?")
    page.locator("#action-request-info button").click()
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#question-for-them")).to_be_visible()


def test_pioltello_casa_answers_from_its_to_do_list(casa: Person, network: dict) -> None:
    page = casa.page
    page.goto(f"{network['agencies'][CASA]}/ui")
    row = page.locator(f"#waiting tr[data-referral='{STORY['asked']}']")
    reload_until(page, lambda: row.count() == 1)
    expect(row).to_have_attribute("data-reasons", "answer")
    expect(row).to_contain_text("Rispondere entro")
    row.get_by_role("link", name="Fatou Diallo").click()
    expect(page.locator("#question-for-us")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("Fatou può frequentare il martedì sera?")
    page.locator("#provide-info-note").fill("Sì, dalle 18.")
    page.locator("#action-provide-info button").click()
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#action-provide-info")).to_have_count(0)  # answered: no form any more
    page.goto(f"{network['agencies'][CASA]}/ui")
    expect(page.locator(f"#waiting tr[data-referral='{STORY['asked']}']")).to_have_count(0)


def test_pioltello_casa_sends_a_rejection_again_to_the_suggested_agency(casa: Person, network: dict) -> None:
    body = {"reason_code": "out-of-area", "suggested_agency": "prefettura-mediazione"}
    assert api(network, CPIA, "POST", f"/referrals/{STORY['rejected']}/reject", body).status_code == 200
    page = casa.page
    page.goto(f"{network['agencies'][CASA]}/ui")
    row = page.locator(f"#waiting tr[data-referral='{STORY['rejected']}']")
    reload_until(page, lambda: row.count() == 1)
    expect(row).to_have_attribute("data-reasons", "redirect")
    row.get_by_role("link", name="Moussa Diallo").click()
    expect(page.locator("li[data-event='rejected']")).to_contain_text("Motivo del rifiuto")
    expect(page.locator("#redirect-target")).to_have_value(re.compile(r"^prefettura-mediazione/"))
    page.locator("#action-redirect button").click()
    expect(page).to_have_url(re.compile(r"/ui/referrals/[0-9a-f-]+\?done=redirect$"))
    page.goto(f"{network['agencies'][CASA]}/ui")
    expect(page.locator(f"#waiting tr[data-referral='{STORY['rejected']}']")).to_have_count(0)


def test_a_referral_prints_for_the_paper_file(casa: Person, network: dict) -> None:
    page = casa.page
    page.goto(f"{network['agencies'][CASA]}/ui/referrals/{STORY['asked']}")
    page.locator("#print-link").click()
    expect(page).to_have_url(re.compile(r"/print$"))
    expect(page.get_by_role("heading", name="Fatou Diallo")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("Sì, dalle 18.")
    expect(page.locator("form")).to_have_count(0)
