"""Browser tests: Playwright for Python driving Debian's Chromium (`make test-e2e` installs it with
apt-get when missing; Playwright's own browser download is never used) against the storefront the
session's local cloud serves at `/`. One browser per session, a new context per test. Every page a
test visits is screenshotted under tests/e2e/artifacts/<test>/ and checked with axe-core (from
node_modules): a `serious` or `critical` violation fails the test. The pages run under the CSP the
site sends (axe-core is evaluated through the DevTools protocol, which CSP does not govern), and
anything that CSP refuses fails the test too."""

from __future__ import annotations

import functools
import json
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from shopstack.harness import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
BLOCKING = {"serious", "critical"}


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("Chromium is not installed: `make test-e2e` installs it (apt-get install -y chromium)")
    return found


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=chromium_path(),
        headless=True,
        args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    )
    yield launched
    launched.close()


def _serves_storefront(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/config.json", timeout=10) as answer:
            return "apiBase" in json.loads(answer.read())
    except Exception:
        return False


@pytest.fixture(scope="session")
def site(cloud: LocalCloud) -> str:
    """The storefront's URL: the local cloud's own `/`, with the demo catalog loaded through the API."""
    from shopstack.seed import load

    load("demo", cloud.base_url)
    if not _serves_storefront(cloud.base_url):
        pytest.fail(f"the local cloud does not serve the storefront's /config.json at {cloud.base_url}")
    return cloud.base_url


@functools.cache
def _axe_source() -> str:
    return AXE.read_text() + "\n;undefined"


class Shop:
    """One test's browser tab: `visit()` after every page change screenshots it and runs axe."""

    def __init__(self, page: Page, base_url: str, name: str) -> None:
        self.page = page
        self.base_url = base_url
        self.folder = ARTIFACTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def open(self, route: str, label: str, heading: str | re.Pattern[str] | None = None) -> Page:
        self.page.goto(f"{self.base_url}/#{route}")
        return self.visit(label, heading)

    def visit(self, label: str, heading: str | re.Pattern[str] | None = None) -> Page:
        """The page now shown: wait for its heading, screenshot it, fail on serious accessibility findings."""
        h1 = self.page.locator("main h1")
        if heading is not None:
            expect(h1).to_have_text(heading, timeout=20_000)
        else:
            expect(h1).to_be_visible(timeout=20_000)
        self.page.wait_for_load_state("load")
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{slug}.png"), full_page=True)
        self.check_accessibility(label)
        return self.page

    def check_accessibility(self, label: str) -> None:
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            # Evaluated through the DevTools protocol, which the page's CSP does not govern (a <script>
            # tag would be refused: the tests run under the CSP the site sends).
            self.page.evaluate(_axe_source())
        violations = self.page.evaluate(
            """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }))"""
        )
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        assert not blocking, f"accessibility ({label}): " + json.dumps(blocking, indent=1)

    def message(self) -> str:
        return str(self.page.locator("#messages").inner_text())


@pytest.fixture
def shop(browser: Browser, site: str, request: pytest.FixtureRequest) -> Iterator[Shop]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The site's Content-Security-Policy holds: anything it refuses is a failure.
    page.on(
        "console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None
    )
    yield Shop(page, site, request.node.name)
    context.close()
    assert not errors, f"errors in the page: {errors}"
