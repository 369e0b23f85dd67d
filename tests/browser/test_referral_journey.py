"""A household referred by pioltello-casa to cpia2, accepted, started and completed at
cpia2, as the staff of both agencies do it in their browsers; then the auditor finds its
timeline, verifies it in the browser and sees it counted in the indicators.

The tests run in order and share the people at their browsers (the bell of cpia2's
operator rings while pioltello-casa sends). Each page is saved to ``docs/screenshots``.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import Route, expect

from crocevia_common.auth import ensure_dev_key, issue_dev_token
from tests.browser.conftest import Person, reload_until, shot
from tests.browser.seed import seed_referrals

STORY: dict[str, str] = {}


@pytest.fixture(scope="module")
def casa(people, network) -> Person:
    return people("it-IT")


@pytest.fixture(scope="module")
def cpia(people, network) -> Person:
    return people("it-IT")


@pytest.fixture(scope="module")
def auditor(people, network) -> Person:
    return people("en-GB")


def node(network: dict, agency: str) -> str:
    return network["agencies"][agency]


def slow_script(route: Route) -> None:
    """Serve a page script that attaches its handlers only after 1.5 s, as on a slow link."""
    body = route.fetch().text()
    route.fulfill(body=f"setTimeout(function () {{\n{body}\n}}, 1500);", content_type="text/javascript")


def test_staff_sign_in_with_the_keyboard(casa: Person, cpia: Person, network: dict) -> None:
    page = casa.page
    page.goto(f"{node(network, 'pioltello-casa')}/ui")
    expect(page).to_have_url(re.compile(r"/signin\?next=/ui$"))
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()  # the first stop skips to the content
    expect(page.locator(".production")).to_contain_text("OpenID Connect")
    shot(page, "01-sign-in")
    page.locator("#person").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Entra")).to_be_focused()
    page.keyboard.press("Enter")  # operator, the default person
    expect(page.get_by_role("heading", name="Da fare per noi")).to_be_visible()

    cpia.sign_in(f"{node(network, 'cpia2')}/ui", "cpia2", "operator", "Entra")
    expect(cpia.page.locator("#bell")).to_have_attribute("data-unread", "0")


def test_pioltello_casa_refers_a_household_and_cpia2s_bell_rings(casa: Person, cpia: Person, network: dict) -> None:
    page = casa.page
    page.get_by_role("link", name="Nuovo invio").first.click()
    page.wait_for_load_state()  # a click returns once the page starts loading; htmx comes after
    every = page.locator("#service-list input[type=radio]").count()
    page.locator("#domain").select_option("education")  # htmx swaps the list in place
    expect(page.locator("#service-list input[type=radio]")).not_to_have_count(every)
    course = page.locator("label.service-choice", has_text="Corso di italiano A1")
    expect(course).to_contain_text("decisione entro 5 giorni")  # the response targets, before sending
    course.locator("input").check()
    page.locator("#person-given_name").fill("Amina")
    page.locator("#person-languages").fill("ar, fr")
    page.locator("#person-household").fill("Amina con i figli Yusuf (9) e Sara (6)")
    page.locator("#reason").fill("Corso di italiano A1 per la madre")
    page.get_by_role("button", name="Invia").click()

    family = page.locator("#person-family_name")  # left empty: the error is next to it
    expect(page.locator("#person-family_name-error")).to_have_text(re.compile("Campo obbligatorio"))
    expect(family).to_have_attribute("aria-invalid", "true")
    expect(family).to_have_attribute("aria-describedby", re.compile("person-family_name-error"))
    expect(page.locator("label.service-choice input:checked")).to_have_count(1)  # the choice stays
    family.fill("Kone")
    shot(page, "02-new-referral")
    page.get_by_role("button", name="Invia").click()

    expect(page).to_have_url(re.compile(r"/ui/referrals/[0-9a-f-]+\?done=sent$"))
    STORY["referral"] = page.url.split("/ui/referrals/")[1].split("?")[0]
    reload_until(page, lambda: page.locator(".status-received").first.is_visible())
    shot(page, "03-referral-sent")
    expect(cpia.page.locator("#bell-count")).to_have_text("1")  # live, without a reload


def test_the_auditor_saves_todays_checkpoint_in_the_browser(auditor: Person, network: dict) -> None:
    auditor.sign_in(f"{network['audit']}/ui/trail", "steering-committee", "network-auditor", "Sign in")
    page = auditor.page
    page.goto(f"{network['audit']}/ui/integrity")
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.locator("#verify-verdict")).to_have_attribute("data-state", "ok")
    page.locator("#save-checkpoint").click()
    expect(page.locator("#saved-checkpoint")).to_have_attribute("data-size", re.compile(r"\d+"))


def test_cpia2_accepts_starts_and_completes_the_referral(cpia: Person) -> None:
    page = cpia.page
    page.reload()
    row = page.locator(f"#waiting tr[data-referral='{STORY['referral']}']")
    expect(row).to_contain_text("Amina Kone")
    expect(row).to_contain_text("Decidere entro")
    shot(page, "04-needs-us")
    row.get_by_role("link", name="Amina Kone").click()
    expect(page.locator("#person")).to_contain_text("Yusuf (9)")  # opened at the receiving agency
    shot(page, "05-referral-received")
    for action in ("accept", "start"):
        page.locator(f"#action-{action} button").click()
        expect(page.locator("#done")).to_be_visible()
    complete = page.locator("#action-complete")
    complete.locator("select").focus()
    page.keyboard.press("ArrowDown")  # got-help, chosen from the keyboard
    expect(complete.locator("select")).to_have_value("got-help")
    complete.locator("button").press("Enter")
    expect(page.locator("h1 .status")).to_have_text("concluso")
    expect(page.locator("#timeline li")).to_have_count(5)
    shot(page, "06-referral-completed")


def test_the_inbox_links_to_the_referral_and_marks_it_read(cpia: Person, network: dict) -> None:
    page = cpia.page
    page.locator("#bell").click()
    expect(page).to_have_url(f"{network['notifications']}/ui/inbox")
    page.wait_for_load_state()
    item = page.locator(f".inbox li[data-referral='{STORY['referral']}']")
    expect(item.get_by_role("link", name="Apri l'invio")).to_have_attribute(
        "href", f"{node(network, 'cpia2')}/ui/referrals/{STORY['referral']}"
    )
    expect(page.locator("#bell-count")).to_have_text("1")
    shot(page, "07-inbox")
    item.get_by_role("button", name="Segna come letta").click()  # htmx: the item and the bell change
    expect(page.locator(f".inbox li.read[data-referral='{STORY['referral']}']")).to_be_visible()
    expect(page.locator("#bell")).to_have_attribute("data-unread", "0")


def test_pioltello_casa_sees_where_its_referral_stands_in_english(casa: Person) -> None:
    page = casa.page
    page.get_by_role("link", name="Da fare per noi").first.click()
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.get_by_role("heading", name="Needs us")).to_be_visible()
    row = page.locator(f"#outgoing tr[data-referral='{STORY['referral']}']")
    reload_until(page, lambda: "completed" in row.inner_text())
    shot(page, "08-needs-us-sender")


def test_the_auditor_finds_the_referral_in_the_trail_and_exports_it(auditor: Person, network: dict) -> None:
    page = auditor.page
    page.goto(f"{network['audit']}/ui/trail")
    page.locator("#referral_id").fill(STORY["referral"])
    page.get_by_role("button", name="Apply").click()
    reload_until(page, lambda: page.locator("#entries tbody tr").count() == 5)
    expect(page.locator("#entries")).to_contain_text("Completed · got help")
    expect(page.locator("#entries")).not_to_contain_text("Amina")  # no personal details in the trail
    shot(page, "09-trail")
    for button, header in (("#export-csv", "position,event_id"), ("#export-jsonl", '{"format"')):
        with page.expect_download() as download:
            page.locator(button).click()
        text = open(download.value.path(), encoding="utf-8").read()
        assert text.startswith(header) and STORY["referral"] in text


def test_the_auditor_verifies_the_timeline_in_the_browser(auditor: Person, network: dict) -> None:
    page = auditor.page
    page.goto(f"{network['audit']}/ui/referrals/{STORY['referral']}")
    expect(page.locator(".lane-head")).to_have_text([re.compile("pioltello-casa"), re.compile("cpia2")])
    completed = page.locator(".lane-event.right[data-event='completed']")
    reload_until(page, lambda: completed.get_by_role("link", name="Verify in the browser").is_visible())
    shot(page, "10-timeline")
    page.route("**/static/integrity.js", slow_script)
    completed.get_by_role("link", name="Verify in the browser").click()
    verify = page.get_by_role("button", name="Verify", exact=True)
    expect(verify).to_be_disabled()  # the handlers of the slow script are not there yet
    verify.click()  # waits until the script has enabled it
    expect(page.locator("#verify-verdict")).to_have_attribute("data-state", "ok")
    results = page.locator("#verify-results")
    expect(results).to_contain_text("Checkpoint signature valid")
    expect(results).to_contain_text("Included as entry 4")
    expect(results).to_contain_text(re.compile(r"Consistent with the checkpoint saved .*: \d+ → \d+ entries"))
    shot(page, "11-integrity")


def test_the_auditor_sees_it_counted_in_the_indicators(auditor: Person, network: dict) -> None:
    seed_referrals(network, network["key_file"])  # other flows, for the charts to compare with
    page = auditor.page
    page.goto(f"{network['audit']}/ui/indicators")
    for chart in ("flows", "times", "volumes", "missed"):
        expect(page.locator(f"svg#{chart}[role=img]")).to_be_visible()
    for summary in page.locator("details.data summary").all():
        summary.click()
    flows = page.locator("#flows-data tbody tr", has_text="pioltello-casa → cpia2")
    # sent, accepted, rejected, completed
    expect(flows.locator("td")).to_have_text(["1", "1", "0", "1"])
    expect(page.locator("#erasures-pending")).to_have_text("0")
    shot(page, "12-indicators")


def proven_receipt(url: str, token: str, timeout: float = 30.0) -> httpx.Response:
    """The receipt once a checkpoint the witness cosigned proves the request and the receipt."""
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=20)
        if answer.status_code == 200 and len(answer.json()["events"]) == 2:
            return answer
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.5)


def test_anyone_checks_the_persons_receipt_in_the_browser_and_a_changed_one_fails(
    browser, network: dict, tmp_path
) -> None:
    key = ensure_dev_key(network["key_file"])
    token = issue_dev_token(key, agency="pioltello-casa", roles=["operator"], sub="operator-casa")
    answer = proven_receipt(f"{node(network, 'pioltello-casa')}/referrals/{STORY['referral']}/receipt", token)
    receipt = answer.json()
    assert [e["event"] for e in receipt["events"]] == ["requested", "received"]
    context = browser.new_context(locale="en-GB")  # nobody signed in: a receipt needs no account
    page = context.new_page()
    try:
        shown = page.goto(f"{network['audit']}/ui/receipt")
        assert shown is not None and shown.status == 200  # no sign-in asked
        saved = tmp_path / "receipt.json"
        saved.write_text(answer.text)
        page.locator("#receipt-file").set_input_files(str(saved))
        expect(page.locator("#receipt-text")).not_to_have_value("")
        page.get_by_role("button", name="Check", exact=True).click()
        results = page.locator("#receipt-results")
        # A checkpoint just made may wait a moment for its witness's cosignature.
        expect(page.locator("#receipt-verdict")).not_to_have_attribute("data-state", "running", timeout=30_000)
        assert page.locator("#receipt-verdict").get_attribute("data-state") == "ok", results.inner_text()
        expect(results).to_contain_text("Checkpoint signature valid")
        expect(results).to_contain_text(re.compile(r"received at \S+: entry \d+ of the \d+ in the signed trail"))
        expect(results).to_contain_text(
            re.compile(r"Still in the trail: the latest checkpoint \(\d+ entries\) extends")
        )

        changed = answer.text.replace(receipt["events"][1]["occurred_at"][:4], "1999", 1)  # one fact changed
        page.locator("#receipt-text").fill(changed)
        page.get_by_role("button", name="Check", exact=True).click()
        expect(page.locator("#receipt-verdict")).to_have_attribute("data-state", "failed")
    finally:
        context.close()
