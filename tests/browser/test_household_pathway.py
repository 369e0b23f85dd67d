"""A household pathway in the browser: pioltello-casa refers a family to cpia2, csl-lavoro
and the Prefettura's mediators in one form; cpia2 asks a question, which appears in
pioltello-casa's "Needs us" and is answered there, with the diploma attached to a message and
opened at cpia2; csl-lavoro rejects, suggesting
pioltello-sociali; pioltello-casa sends it again from its to-do list, the suggested agency
already chosen, and the pathway's page shows every referral's status.

The tests run in order and share the people at their browsers. Pages are saved for the README
(``make screenshots``).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Person, reload_until, shot

CASA, CPIA, CSL, MEDIATORS, SOCIALI = (
    "pioltello-casa",
    "cpia2",
    "csl-lavoro",
    "prefettura-mediazione",
    "pioltello-sociali",
)
SERVICES = {CPIA: "licenza-media", CSL: "orientamento-lavoro", MEDIATORS: "mediazione-linguistica"}
NAMES = {
    CPIA: "CPIA 2 Milano",
    CSL: "CS&L Consorzio Sociale",
    MEDIATORS: "Prefettura di Milano - Servizio di mediazione",
    SOCIALI: "Comune di Pioltello - Servizi Sociali",
}
FAMILY = "Rosa Esempio"  # fictional
STORY: dict[str, str] = {}


@pytest.fixture(scope="module")
def casa(people, network) -> Person:
    person = people("en-GB")
    person.sign_in(f"{network['agencies'][CASA]}/ui", CASA, "operator", "Sign in")
    return person


def staff_of(people, network: dict, agency: str) -> Person:
    person = people("it-IT")
    person.sign_in(f"{network['agencies'][agency]}/ui", agency, "operator", "Entra")
    return person


def row_of(page: Page, agency: str) -> Locator:
    """The pathway page's row of the referral to ``agency``."""
    return page.locator("#pathway-referrals tbody tr", has_text=NAMES[agency])


def test_pioltello_casa_refers_a_family_to_three_services_in_one_form(casa: Person, network: dict) -> None:
    page = casa.page
    page.get_by_role("link", name="New pathway").first.click()
    expect(page.get_by_role("heading", name="New pathway")).to_be_visible()
    for agency, service in SERVICES.items():
        page.locator(f"input[name=services][value='{agency}/{service}']").check()
    page.locator("#person-given_name").fill("Rosa")
    page.locator("#person-family_name").fill("Esempio")
    page.locator("#person-languages").fill("es, it")
    page.locator("#person-household").fill("Rosa with her sons Luca (12) and Tommaso (8)")
    page.locator("#reason").fill("Work, school and a mediator for the housing interview")
    page.locator("#needs").fill("Evicted last month; staying with relatives")
    expect(page.locator("#service-list input:checked")).to_have_count(3)
    shot(page, "13-new-pathway")
    page.get_by_role("button", name="Send to all").click()

    expect(page).to_have_url(re.compile(r"/ui/pathways/[0-9a-f-]+\?done=sent"))
    expect(page.locator("#done")).to_be_visible()
    expect(page.get_by_role("heading", name=f"Pathway: {FAMILY}")).to_be_visible()
    STORY["pathway"] = page.url.split("?")[0]
    expect(page.locator("#pathway-referrals tbody tr")).to_have_count(3)
    for agency in SERVICES:
        STORY[agency] = row_of(page, agency).get_attribute("data-referral") or ""
    reload_until(page, lambda: page.locator("#pathway-referrals .status-received").count() == 3)


def test_cpia2_asks_a_question_about_its_part_of_the_pathway(people, network: dict) -> None:
    cpia = staff_of(people, network, CPIA)
    page = cpia.page
    row = page.locator(f"#waiting tr[data-referral='{STORY[CPIA]}']")
    expect(row).to_have_attribute("data-reasons", "decide")
    row.get_by_role("link", name=FAMILY).click()
    expect(page.locator("#pathway")).to_contain_text(
        "Fa parte di un percorso guidato da Comune di Pioltello - Ufficio Casa"
    )
    expect(page.locator("#pathway a")).to_have_count(0)  # the pathway's other services are the lead's
    page.locator("#request-info-note").fill("Rosa ha già un titolo di studio del suo paese?")
    page.locator("#action-request-info button").click()
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#question-for-them")).to_be_visible()


def test_the_question_appears_in_pioltello_casas_needs_us_and_the_answer_clears_it(casa: Person, network: dict) -> None:
    page = casa.page
    page.goto(f"{network['agencies'][CASA]}/ui")
    row = page.locator(f"#waiting tr[data-referral='{STORY[CPIA]}']")
    reload_until(page, lambda: row.count() == 1)
    expect(row).to_have_attribute("data-reasons", "answer")
    expect(row).to_contain_text("They asked us a question: answer it")
    expect(row).to_contain_text("Answer by")
    shot(page, "14-needs-us-question")
    row.get_by_role("link", name=FAMILY).click()
    expect(page.locator("#question-for-us")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("Rosa ha già un titolo di studio del suo paese?")
    page.locator("#provide-info-note").fill("Sì, un diploma di scuola media, tradotto.")
    page.locator("#action-provide-info button").click()
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#action-provide-info")).to_have_count(0)
    page.goto(f"{network['agencies'][CASA]}/ui")
    expect(page.locator(f"#waiting tr[data-referral='{STORY[CPIA]}']")).to_have_count(0)


# A PDF as a scanner makes it, small: the node judges a file's kind by its first bytes.
DIPLOMA = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_pioltello_casa_sends_the_diploma_and_cpia2_opens_it(casa: Person, people, network: dict, tmp_path) -> None:
    page = casa.page
    page.goto(f"{network['agencies'][CASA]}/ui/referrals/{STORY[CPIA]}")
    page.locator("#message-text").fill("Ecco il diploma, tradotto.")
    diploma = tmp_path / "diploma-rosa.pdf"
    diploma.write_bytes(DIPLOMA)
    page.locator("#message-files").set_input_files(str(diploma))
    page.locator("#message-form button[type=submit]").click()
    expect(page.locator("#thread li.ours")).to_have_count(1)
    expect(page.locator("#thread li.ours a.attachment")).to_have_text("diploma-rosa.pdf")

    cpia = staff_of(people, network, CPIA)
    at_cpia = cpia.page
    at_cpia.goto(f"{network['agencies'][CPIA]}/ui/referrals/{STORY[CPIA]}")
    reload_until(at_cpia, lambda: at_cpia.locator("#thread li.theirs").count() == 1)
    expect(at_cpia.locator("#thread li.theirs.unread")).to_have_count(1)  # new, the first time it is shown
    expect(at_cpia.locator("#thread li.theirs blockquote")).to_have_text("Ecco il diploma, tradotto.")
    link = at_cpia.locator("#thread li.theirs a.attachment")
    expect(link).to_have_text("diploma-rosa.pdf")
    shot(at_cpia, "17-message-attachment")
    opened = at_cpia.request.get(f"{network['agencies'][CPIA]}{link.get_attribute('href')}")
    assert opened.status == 200 and opened.headers["content-type"] == "application/pdf"
    assert opened.body() == DIPLOMA, "the receiver opens the very bytes the sender attached"
    at_cpia.reload()
    expect(at_cpia.locator("#thread li.theirs.unread")).to_have_count(0)  # read since


def test_csl_lavoro_rejects_and_suggests_another_agency(people, network: dict) -> None:
    csl = staff_of(people, network, CSL)
    page = csl.page
    page.goto(f"{network['agencies'][CSL]}/ui/referrals/{STORY[CSL]}")
    form = page.locator("#action-reject")
    form.locator("#reject-reason_code").select_option("out-of-area")
    form.locator("#reject-suggested_agency").select_option(SOCIALI)
    form.locator("#reject-note").fill("Il domicilio è fuori dal nostro ambito: i Servizi Sociali seguono il lavoro.")
    form.locator("button").click()
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("h1 .status")).to_have_text("rifiutato")


def test_pioltello_casa_redirects_from_its_to_do_list_to_the_suggested_agency(casa: Person, network: dict) -> None:
    page = casa.page
    page.goto(f"{network['agencies'][CASA]}/ui")
    row = page.locator(f"#waiting tr[data-referral='{STORY[CSL]}']")
    reload_until(page, lambda: row.count() == 1)
    expect(row).to_have_attribute("data-reasons", "redirect")
    row.get_by_role("link", name=FAMILY).click()
    expect(page.locator("li[data-event='rejected']")).to_contain_text(NAMES[SOCIALI])  # the suggestion
    expect(page.locator("#redirect-target")).to_have_value(re.compile(rf"^{SOCIALI}/"))
    shot(page, "15-redirect-suggested")
    page.locator("#action-redirect button").click()
    expect(page).to_have_url(re.compile(r"/ui/referrals/[0-9a-f-]+\?done=redirect$"))
    page.goto(f"{network['agencies'][CASA]}/ui")
    expect(page.locator(f"#waiting tr[data-referral='{STORY[CSL]}']")).to_have_count(0)


def test_the_pathway_page_shows_every_referrals_status(casa: Person) -> None:
    page = casa.page
    page.goto(STORY["pathway"])
    rows = page.locator("#pathway-referrals tbody tr")
    expect(rows).to_have_count(4)  # the referral sent again stays in the pathway
    reload_until(page, lambda: "received" in row_of(page, SOCIALI).inner_text())
    expect(row_of(page, CPIA).locator(".status")).to_have_text("received")
    expect(row_of(page, CSL).locator(".status")).to_have_text("rejected")
    expect(row_of(page, MEDIATORS).locator(".status")).to_have_text("received")
    expect(row_of(page, SOCIALI).locator(".status")).to_have_text("received")
    shot(page, "16-pathway")
