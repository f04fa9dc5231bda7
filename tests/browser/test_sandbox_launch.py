"""Walk through the sandbox LMS in a real browser with third-party cookies blocked.

The sandbox platform answers on http://localhost:P and the tool on http://127.0.0.1:P: two
sites, so the tool runs in a third-party iframe, as inside a real LMS. Launches go through the
real OIDC flow: sandbox → tool /lti/login → sandbox /sandbox/auth → auto-submitted POST to the
tool's /lti/launch → 303 to /lti/module?lt=…. Screenshots of each step go to
test-artifacts/browser/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, Route, expect

from tests.browser.accessibility import assert_no_axe_violations
from tests.support.browser import (
    SEEDED_LINK_TITLE,
    STEP_MS,
    launch_and_wait_for_tool,
    link_ids,
    screenshot,
    tool_frame_url,
)
from tests.support.chromium import PHONE_VIEWPORT, VIEWPORT
from tests.support.live_tool import LiveTool

pytestmark = pytest.mark.browser

STATE_COOKIE_PREFIX = "lti1p3-"
PARTITIONED_COOKIE = "partitioned cookie"
PLATFORM_STORAGE = "platform storage"


@dataclass
class BrowserLog:
    """What the browser said while a test ran: console errors, page errors, failed requests."""

    lines: list[str] = field(default_factory=list)
    tool_requests: list[Request] = field(default_factory=list)

    def watch(self, page: Page, tool_url: str) -> None:
        """Listen on ``page``; keep the requests that reach the tool's LTI endpoints."""

        def console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                self.lines.append(f"console.{message.type}: {message.text}")

        page.on("console", console)
        page.on("pageerror", lambda e: self.lines.append(f"page error: {e}"))
        page.on(
            "requestfailed",
            lambda r: self.lines.append(f"request failed: {r.method} {r.url} {r.failure}"),
        )

        def keep(request: Request) -> None:
            if request.url.startswith(f"{tool_url}/lti/"):
                self.tool_requests.append(request)

        page.on("request", keep)


@pytest.fixture
def browser_log(page: Page, live_tool: LiveTool) -> Iterator[BrowserLog]:
    """The browser's complaints and the tool's LTI requests; printed with the server log."""
    log = BrowserLog()
    log.watch(page, live_tool.tool_url)
    yield log
    # Shown by pytest only when the test fails.
    print("browser:", *log.lines, sep="\n  ")
    print("tool requests:", *(f"{r.method} {r.url}" for r in log.tool_requests), sep="\n  ")
    print("server log (end):", live_tool.log_tail(), sep="\n")


def form_fields(request: Request) -> dict[str, str]:
    """The form fields of a POST (empty for a GET)."""
    return {k: v[0] for k, v in parse_qs(request.post_data or "").items()}


@dataclass(frozen=True)
class LaunchStatePath:
    """How the login's state came back to the tool at launch, and the evidence."""

    path: str
    evidence: dict[str, Any]


def launch_state_path(requests: list[Request]) -> LaunchStatePath:
    """Read the launch's state carrier from the tool's /lti/login and /lti/launch exchanges.

    The tool accepts a launch whose POST brings either its ``lti1p3-<state>`` cookie or an
    ``lti_storage_state`` read back from the platform's storage (plugin/lti/launch.py
    ``_check_state``); the final, accepted POST says which one it was.
    """
    exchanges = []
    for request in requests:
        response = request.response()
        path = urlsplit(request.url).path
        if path not in ("/lti/login", "/lti/launch") or response is None:
            continue
        cookies = SimpleCookie(request.all_headers().get("cookie", ""))
        fields = form_fields(request)
        exchanges.append(
            {
                "method": request.method,
                "path": path,
                "status": response.status,
                "state_cookie_sent": any(k.startswith(STATE_COOKIE_PREFIX) for k in cookies),
                "storage_state_sent": bool(fields.get("lti_storage_state")),
                "storage_target": fields.get("lti_storage_target", "")
                or parse_qs(urlsplit(request.url).query).get("lti_storage_target", [""])[0],
            }
        )
    accepted = [e for e in exchanges if e["path"] == "/lti/launch" and e["status"] == 303]
    assert accepted, f"no launch POST was accepted (303): {exchanges}"
    final = accepted[-1]
    if final["storage_state_sent"]:
        path = PLATFORM_STORAGE
    elif final["state_cookie_sent"]:
        path = PARTITIONED_COOKIE
    else:
        raise AssertionError(f"the accepted launch carried neither cookie nor storage: {exchanges}")
    return LaunchStatePath(path, {"exchanges": exchanges})


def test_learner_launch_from_sandbox_reaches_the_tool_with_third_party_cookies_blocked(
    page: Page,
    browser_context: BrowserContext,
    live_tool: LiveTool,
    artifacts_dir: Path,
    browser_log: BrowserLog,
) -> None:
    page.goto(live_tool.sandbox("learner"))
    expect(page.locator("iframe#tool-frame[name=tool-frame]")).to_have_count(1)
    screenshot(page, artifacts_dir, "01-learner-course-page")

    launch_and_wait_for_tool(page, f'a.launch-link:has-text("{SEEDED_LINK_TITLE}")', live_tool)
    screenshot(page, artifacts_dir, "02-learner-tool-page")
    assert_no_axe_violations(page, live_tool.tool_url, "learner-module")
    page.set_viewport_size(PHONE_VIEWPORT)
    screenshot(page, artifacts_dir, "03-learner-tool-page-phone")
    assert_no_axe_violations(page, live_tool.tool_url, "learner-module-phone")
    page.locator("#tool-frame").screenshot(
        path=str(artifacts_dir / "03-learner-tool-frame-phone.png")
    )
    page.set_viewport_size(VIEWPORT)

    # The launch must not have needed a third-party cookie: whatever the tool stored for
    # 127.0.0.1 while framed by localhost is partitioned (CHIPS) or nowhere at all.
    tool_cookies = [dict(c) for c in browser_context.cookies() if c["domain"] == "127.0.0.1"]
    unpartitioned = [
        c
        for c in tool_cookies
        if c["name"].startswith(STATE_COOKIE_PREFIX) and not c.get("partitionKey")
    ]
    carrier = launch_state_path(browser_log.tool_requests)
    record = {
        "state_carried_by": carrier.path,
        "tool_cookies": [
            {k: c.get(k) for k in ("name", "path", "secure", "sameSite", "partitionKey")}
            for c in tool_cookies
        ],
        **carrier.evidence,
    }
    (artifacts_dir / "launch-state.json").write_text(
        json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    assert unpartitioned == [], f"an unpartitioned state cookie was stored: {record}"
    if carrier.path == PARTITIONED_COOKIE:
        partitioned = [c for c in tool_cookies if c["name"].startswith(STATE_COOKIE_PREFIX)]
        assert partitioned and all(
            c.get("partitionKey") == "http://localhost" for c in partitioned
        ), f"state came by cookie, but not a localhost-partitioned one: {record}"
    assert carrier.path in (PARTITIONED_COOKIE, PLATFORM_STORAGE), record


def test_designer_deep_links_a_module_then_the_learner_launches_it(
    page: Page, live_tool: LiveTool, artifacts_dir: Path, browser_log: BrowserLog
) -> None:
    page.goto(live_tool.sandbox("designer"))
    links = page.locator("a.launch-link")
    expect(links.first).to_be_visible()
    before = link_ids(page)
    screenshot(page, artifacts_dir, "04-designer-course-page")

    add = page.locator("#add-activity")
    expect(add).to_have_attribute("target", "tool-frame")
    add.click()
    tool = page.frame_locator("#tool-frame")
    first_module = tool.locator("input[name=module]").first
    expect(first_module).to_be_visible(timeout=STEP_MS)
    deep_link_url = tool_frame_url(page)
    assert deep_link_url.startswith(f"{live_tool.tool_url}/lti/deep-link"), deep_link_url
    screenshot(page, artifacts_dir, "05-designer-deep-link-page")
    assert_no_axe_violations(page, live_tool.tool_url, "designer-deep-link-picker")

    first_module.check()
    tool.locator("form:has(input[name=module]) button[type=submit]").click()
    # The tool posts the deep-linking response to the sandbox, which adds the link and
    # reloads the course page.
    expect(links).to_have_count(len(before) + 1, timeout=STEP_MS)
    (new_id,) = set(link_ids(page)) - set(before)
    new_link = page.locator(f'a.launch-link[data-link-id="{new_id}"]')
    title = new_link.inner_text().strip()
    assert title, "the new launch link has no title"
    screenshot(page, artifacts_dir, "06-designer-course-page-with-new-activity")

    page.goto(live_tool.sandbox("learner"))
    expect(new_link).to_have_text(title)
    launch_and_wait_for_tool(page, f'a.launch-link[data-link-id="{new_id}"]', live_tool)
    expect(page.frame_locator("#tool-frame").locator("h1")).to_have_text(title)
    screenshot(page, artifacts_dir, "07-learner-launches-the-new-activity")


def test_learner_launch_falls_back_to_platform_storage_when_no_tool_cookie_survives(
    page: Page, live_tool: LiveTool, artifacts_dir: Path, browser_log: BrowserLog
) -> None:
    # A browser that keeps no cookie at all for the framed tool (not even a partitioned one):
    # drop the tool's cookies on the way from its /lti/login to the platform's /sandbox/auth.
    # The launch must then read the state back from the course page's storage
    # (lti.get_data, LTI Client Side OIDC Launch) and post it as lti_storage_state.
    def forget_tool_cookies(route: Route) -> None:
        page.context.clear_cookies(domain="127.0.0.1")
        route.continue_()

    page.route(f"{live_tool.platform_url}/sandbox/auth*", forget_tool_cookies)
    page.goto(live_tool.sandbox("learner"))
    launch_and_wait_for_tool(page, f'a.launch-link:has-text("{SEEDED_LINK_TITLE}")', live_tool)
    page.unroute_all()
    screenshot(page, artifacts_dir, "08-learner-tool-page-via-platform-storage")

    carrier = launch_state_path(browser_log.tool_requests)
    launches = [e for e in carrier.evidence["exchanges"] if e["path"] == "/lti/launch"]
    assert carrier.path == PLATFORM_STORAGE, carrier.evidence
    # First POST: no cookie, so the tool answers with its storage-check page (200); the
    # second brings the state from the platform's storage and is accepted (303).
    assert [(e["status"], e["state_cookie_sent"]) for e in launches] == [
        (200, False),
        (303, False),
    ], carrier.evidence
