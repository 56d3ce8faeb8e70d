"""Browser tests: Playwright's Python package driving Debian's Chromium against
pytest-django's live server.

Playwright never downloads a browser here: it launches /usr/bin/chromium
(`apt-get install chromium`; `.ci/run` does it). Without that binary these
tests skip and say why, except where TELLER_REQUIRE_BROWSER is set (CI),
where a skip would hide them, so they fail instead.

Every page a journey visits is checked with axe-core (npm's `axe-core`,
copied to static/vendor/axe.min.js by `make axe`, which `make test` and
`.ci/run` run) against the WCAG 2.2 A and AA rules, and any violation fails
the test with a readable list. Each check also saves a
screenshot to tests/artifacts/, so a person can look at what was tested.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.templatetags.static import static

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE_FILE = ROOT / "static" / "vendor" / "axe.min.js"
AXE_FROM_NPM = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "artifacts"

# Headless, and nothing that reaches out to the network on its own: CI has
# no network but the package registries, and a test must not wait on one.
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

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}

# axe-core's tags for WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
# Best-practice rules the issue asks for by name (landmarks, headings) that
# axe does not tag as WCAG success criteria.
EXTRA_RULES = ["landmark-one-main", "page-has-heading-one", "region", "heading-order"]

# How long any one step may wait. The live server answers in milliseconds;
# this is for a machine busy with other work, and bounds a stuck step.
STEP_TIMEOUT_MS = 20_000


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Chromium against the live server")


def _chromium_or_skip() -> None:
    if CHROMIUM.exists():
        return
    reason = f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("TELLER_REQUIRE_BROWSER"):
        pytest.fail(f"{reason}: CI must run the browser tests")
    pytest.skip(reason)


def _axe_file() -> Path:
    """static/vendor/axe.min.js, copied from node_modules if only that is there."""
    if not AXE_FILE.exists():
        if not AXE_FROM_NPM.exists():
            pytest.fail(
                "axe-core is missing: run `make axe` (npm ci, then a copy into static/vendor/)"
            )
        AXE_FILE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(AXE_FROM_NPM, AXE_FILE)
    return AXE_FILE


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One Chromium for the package; each test gets fresh contexts from it."""
    _chromium_or_skip()
    _axe_file()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running on this thread, and
    # Django refuses ORM calls from a thread with a running loop. The tests
    # build their world with the ORM between browser steps on purpose, in
    # plain sync code, so lift the check for as long as Playwright runs, and
    # only then: the rest of the suite keeps Django's guard.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        playwright = sync_playwright().start()
        try:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()
        finally:
            playwright.stop()


@dataclass
class Journey:
    """A person's way through the site in one browser context.

    `check()` runs axe on the page shown now, saves a screenshot and, on a
    phone, checks that the page does not scroll sideways. Every document the
    page loads must be checked before the journey ends (`finish()`), so no
    page slips through unexamined.
    """

    name: str
    page: Any
    base_url: str
    javascript: bool
    phone: bool
    checker: Any = None  # a JavaScript page for axe when this one has none
    step: int = 0
    loaded: list[str] = field(default_factory=list)
    checked: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str) -> None:
        self.page.goto(self.url(path))

    @property
    def path(self) -> str:
        return self.page.url.removeprefix(self.base_url)

    def check(self, label: str) -> None:
        self.page.wait_for_load_state()
        self.step += 1
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        self.page.screenshot(
            path=str(ARTIFACTS / f"{self.name}-{self.step:02d}-{slug}.png"), full_page=True
        )
        violations = self._axe()
        if violations:
            pytest.fail(
                f"axe found accessibility problems on {self.path} ({label}):\n"
                + format_violations(violations),
                pytrace=False,
            )
        if self.phone:
            width = self.page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (
                f"{self.path} ({label}) scrolls sideways on a phone: "
                f"{width}px wide in a {PHONE['width']}px screen"
            )
        self.checked.add(len(self.loaded))

    def _axe(self) -> list[dict[str, Any]]:
        page = self.page
        if not self.javascript:
            # axe cannot run in a page whose scripts are off. The checker
            # page loads the same document at the same address (so the same
            # stylesheet applies) and axe examines it there, as it was: its
            # own scripts are taken out, or they would enhance it first.
            url = page.url
            html = re.sub(r"<script\b[^>]*>.*?</script>", "", page.content(), flags=re.S)
            self.checker.route(
                url, lambda route: route.fulfill(body=html, content_type="text/html")
            )
            try:
                self.checker.goto(url)
            finally:
                self.checker.unroute(url)
            page = self.checker
        if not page.evaluate("typeof window.axe === 'object'"):
            # Served from the site itself like any other script, so a strict
            # Content-Security-Policy (script-src 'self') lets it run.
            page.add_script_tag(url=self.url(static("vendor/axe.min.js")))
        # One run of every rule with a WCAG A/AA tag plus the extra rules
        # (runOnly takes tags or rule ids, not both, so the ids are looked up).
        return page.evaluate(
            """([tags, extra]) => {
                const ids = axe.getRules(tags)
                    .filter((rule) => !rule.tags.includes('experimental'))
                    .map((rule) => rule.ruleId);
                return axe.run(document, {
                    runOnly: {type: 'rule', values: [...new Set([...ids, ...extra])]},
                    resultTypes: ['violations'],
                }).then((result) => result.violations);
            }""",
            [WCAG_TAGS, EXTRA_RULES],
        )

    def finish(self) -> None:
        unchecked = [url for n, url in enumerate(self.loaded, start=1) if n not in self.checked]
        assert not unchecked, f"pages visited but never checked with axe: {unchecked}"
        assert not self.problems, "the browser reported errors:\n" + "\n".join(self.problems)


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:8]:
            target = " ".join(str(t) for t in node["target"])
            summary = node.get("failureSummary", "").replace("\n", " ")
            lines.append(f"    {target}: {summary}")
        if len(v["nodes"]) > 8:
            lines.append(f"    … and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


@pytest.fixture
def journey(
    browser: Any, live_server: Any, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Journey]]:
    """Builds journeys: `journey("vote", phone=True, javascript=False)`."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    contexts: list[Any] = []
    journeys: list[Journey] = []

    def build(name: str, *, phone: bool = False, javascript: bool = True) -> Journey:
        def new_page(js: bool) -> Any:
            context = browser.new_context(
                viewport=PHONE if phone else DESKTOP,
                java_script_enabled=js,
                is_mobile=phone,
                has_touch=phone,
                locale="en-GB",
                timezone_id=settings.TIME_ZONE,
            )
            context.set_default_timeout(STEP_TIMEOUT_MS)
            contexts.append(context)
            return context.new_page()

        page = new_page(javascript)
        trip = Journey(
            name=name,
            page=page,
            base_url=live_server.url,
            javascript=javascript,
            phone=phone,
            checker=None if javascript else new_page(True),
        )

        def loaded(frame: Any) -> None:
            if frame == page.main_frame:
                trip.loaded.append(frame.url)

        def console(message: Any) -> None:
            # A Content-Security-Policy refusal or a script error shows here.
            # Not the site's: a missing favicon (the browser's own guess), and
            # axe's own probes, which try inline styles that the CSP refuses.
            where = message.location
            source = f"{where.get('url', '')}:{where.get('lineNumber', '')}"
            if message.type == "error" and not re.search(r"favicon\.ico|vendor/axe", source):
                trip.problems.append(f"{trip.path}: {message.text} (from {source})")

        page.on("framenavigated", loaded)
        page.on("console", console)
        page.on("pageerror", lambda error: trip.problems.append(f"script error: {error}"))
        journeys.append(trip)
        return trip

    yield build
    report = getattr(request.node, "rep_call", None)
    failed = report is None or not report.passed
    if failed:
        # Where each journey was when the test stopped, for whoever reads
        # the failure (CI keeps tests/artifacts/ out of git, not off disk).
        for trip in journeys:
            trip.page.screenshot(path=str(ARTIFACTS / f"{trip.name}-failed.png"), full_page=True)
    for context in contexts:
        context.close()
    if not failed:
        for trip in journeys:
            trip.finish()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Lets the `journey` fixture see whether the test itself passed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
