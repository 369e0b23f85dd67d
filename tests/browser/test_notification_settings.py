"""The notifications' settings in the browser: cpia2's admin registers a webhook from the
page, sees its secret once and the endpoint listed; a person saves quiet hours."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Person, shot

CPIA = "cpia2"


@pytest.fixture(scope="module")
def admin(people, network) -> Person:
    person = people("it-IT")
    person.sign_in(f"{network['notifications']}/ui/webhooks", CPIA, "admin", "Entra")
    return person


def test_an_admin_registers_a_webhook_and_sees_it_listed(admin: Person) -> None:
    page = admin.page
    expect(page.locator("#add-webhook")).to_be_visible()
    page.locator("#url").fill("http://127.0.0.1:8999/crocevia-browser")
    page.locator("#add-webhook").get_by_label("Invio", exact=True).check()
    page.get_by_role("button", name="Registra").click()

    expect(page.locator("#done")).to_have_text("Webhook registrato.")
    expect(page.locator("#secret-value")).to_have_text(re.compile(r"^whsec_"))
    row = page.locator("#webhooks tbody tr", has_text="http://127.0.0.1:8999/crocevia-browser")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Invio")
    shot(page, "notifications-webhooks")

    page.goto(page.url)  # the secret is shown once, on the answer that made it
    expect(page.locator("#secret-value")).to_have_count(0)
    expect(page.locator("#webhooks tbody tr", has_text="crocevia-browser")).to_have_count(1)


def test_a_person_saves_quiet_hours_from_the_settings_page(admin: Person) -> None:
    page = admin.page
    page.get_by_role("link", name="Impostazioni", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("Impostazioni")
    page.locator("#quiet_hours-start").fill("20:00")
    page.locator("#quiet_hours-end").fill("07:00")
    page.get_by_role("button", name="Salva").click()
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#quiet_hours-start")).to_have_value("20:00")
    shot(page, "notifications-settings")


def test_the_admin_pages_label_every_field_and_fit_the_window(admin: Person) -> None:
    page = admin.page
    for tab, name in (("Personale", "staff"), ("Iscrizioni", "subscriptions")):
        page.locator("main nav").get_by_role("link", name=tab, exact=True).click()
        expect(page.locator("h1")).to_have_text(tab)
        shot(page, f"notifications-{name}")
