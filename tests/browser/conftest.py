"""Browser tests: the whole network started as ``make up`` starts it, and Debian's Chromium
driven by Playwright (never a downloaded browser: ``make browser`` installs the package)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.kit.network import crocevia_up

ROOT = Path(__file__).resolve().parents[2]
# The README's screenshots are refreshed on purpose (`make screenshots`); a test run writes
# its pictures under the system's temporary directory, so the checkout stays as it was.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("CROCEVIA_REFRESH_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "crocevia-screenshots"
)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """``crocevia up`` on free ports in a fresh data folder; checkpoints every second."""
    data = tmp_path_factory.mktemp("network")
    # No anchor of a node's access log comes between the story's events in the trail.
    settings = {"CROCEVIA_CHECKPOINT_EVERY_SECONDS": "1", "CROCEVIA_ACCESS_LOG_ANCHOR_SECONDS": "86400"}
    with crocevia_up(data, **settings) as (urls, _proc):
        yield {**urls, "key_file": data / "dev-jwt.key"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing: run `make browser`")
        pytest.skip(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Person:
    """One person at their own browser (their own cookies and localStorage)."""

    def __init__(self, browser: Browser, locale: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 860}, locale=locale)
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def sign_in(self, url: str, agency: str, role: str, submit: str) -> None:
        """Open ``url``, land on the sign-in page, pick and sign in."""
        self.page.goto(url)
        expect(self.page).to_have_url(f"{url.split('/ui')[0]}/signin?next=/ui{url.split('/ui', 1)[1]}")
        self.page.locator("#agency").select_option(agency)
        self.page.locator("#role").select_option(role)
        self.page.get_by_role("button", name=submit).click()
        expect(self.page).to_have_url(url)


@pytest.fixture(scope="module")
def people(browser: Browser, network: dict) -> Iterator[Callable[[str], Person]]:
    made: list[Person] = []

    def make(locale: str = "it-IT") -> Person:
        made.append(Person(browser, locale))
        return made[-1]

    yield make
    for person in made:
        assert not person.errors, f"script errors in the pages: {person.errors}"
        person.context.close()


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
               && !e.getAttribute('aria-labelledby'))
  .map(e => e.name || e.id)"""


def shot(page: Page, name: str) -> None:
    """Check every field of the page has a label and nothing overflows the window, then save
    its screenshot for the README."""
    assert page.evaluate(UNLABELLED) == [], f"fields without a label on {page.url}"
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), f"{page.url} is wider than the window"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def reload_until(page: Page, ready: Callable[[], bool], timeout: float = 20.0) -> None:
    """Reload ``page`` until ``ready()``, for what arrives from another node."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"{page.url} did not get there in {timeout}s"
        time.sleep(0.5)
        page.reload()
