"""Real-browser fixtures: Debian's Chromium driven by Playwright, third-party cookies blocked,
and the tool served by ``flask run`` with the sandbox platform on a different site.

One browser and one server serve the whole session (tests/support/chromium.py and
live_tool.py hold the pieces).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from tests.support.chromium import (
    ARTIFACTS_DIR,
    BLOCK_THIRD_PARTY_PREFS,
    CHROMIUM,
    ensure_cjk_font,
    install_chromium,
    launch_chromium,
    unavailable,
)
from tests.support.live_tool import LiveTool, serving_tool


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium, installed with apt-get on first use in a session if missing."""
    if not CHROMIUM.exists():
        problem = install_chromium()
        if problem:
            unavailable(f"Chromium missing at {CHROMIUM} and could not be installed: {problem}")
    ensure_cjk_font()
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    """The Playwright driver for the session (no browsers of its own are used)."""
    manager = sync_playwright()
    driver = manager.start()
    try:
        yield driver
    finally:
        driver.stop()


@pytest.fixture(scope="session")
def browser_context(
    playwright_driver: Playwright,
    chromium_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BrowserContext]:
    """The session's Chromium, third-party cookies blocked, on an empty profile of its own."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    context = launch_chromium(playwright_driver, chromium_path, profile, BLOCK_THIRD_PARTY_PREFS)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Iterator[Page]:
    """A new tab with no cookies left over from other tests; closed afterwards.

    Every test using it also proves the pages keep to the Content Security Policy: Chromium
    reports each refused script, style or frame on the console, and any such report fails it.
    """
    browser_context.clear_cookies()
    tab = browser_context.new_page()
    violations: list[str] = []
    tab.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        yield tab
    finally:
        tab.close()
    assert not violations, f"the page broke its Content Security Policy: {violations}"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots go: ``test-artifacts/browser/`` in the project (git-ignored)."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def live_tool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveTool]:
    """The real tool on 127.0.0.1 and its sandbox platform on localhost: two sites, one port."""
    with serving_tool(tmp_path_factory.mktemp("live-tool")) as live:
        yield live
