"""axe-core on the pages the walk-throughs do not reach, and proof that the check itself holds.

The walk-throughs (test_sandbox_launch, test_designer_walkthrough, test_attainment_walkthrough)
run axe on every tool page they visit. Here: the error pages, the platform-storage page of the
login, that axe really finds a fault when there is one, and that the tool's Content Security
Policy is still in force while axe runs (axe comes from the tool's own /vendor/ route).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Route, expect

from tests.browser.accessibility import AXE_PATH, assert_no_axe_violations, axe_violations
from tests.support.browser import (
    SEEDED_LINK_TITLE,
    STEP_MS,
    launch_and_wait_for_tool,
    token_in_frame,
)
from tests.support.live_tool import LiveTool

pytestmark = pytest.mark.browser

LEARNER_LINK = f'a.launch-link:has-text("{SEEDED_LINK_TITLE}")'


def learner_token(page: Page, live_tool: LiveTool) -> str:
    """A learner's launch token, from a launch in the sandbox."""
    page.goto(live_tool.sandbox("learner"))
    launch_and_wait_for_tool(page, LEARNER_LINK, live_tool)
    return token_in_frame(page)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/no-such-page", 404),
        ("/lti/map", 401),  # no launch token
        ("/lti/login", 400),  # an OIDC login without its parameters
    ],
)
def test_error_pages_have_no_axe_violations(
    page: Page, live_tool: LiveTool, path: str, status: int
) -> None:
    response = page.goto(f"{live_tool.tool_url}{path}")
    assert response is not None and response.status == status, response and response.status
    expect(page.locator("h1")).to_be_visible()
    assert_no_axe_violations(page, live_tool.tool_url, f"error-{status}")


def test_a_refused_page_in_the_tool_frame_has_no_axe_violations(
    page: Page, live_tool: LiveTool
) -> None:
    # A learner who opens a designer's page: the 403 is shown inside the LMS's frame.
    token = learner_token(page, live_tool)
    frame = page.frame(name="tool-frame")
    assert frame is not None
    response = frame.goto(f"{live_tool.tool_url}/lti/course/heatmap?lt={token}")
    assert response is not None and response.status == 403, response and response.status
    assert_no_axe_violations(page, live_tool.tool_url, "error-403")


def test_the_login_storage_page_has_no_axe_violations(page: Page, live_tool: LiveTool) -> None:
    # The login page that keeps the state in the platform's storage moves on by itself within
    # a moment; without its script it stays, as it would for a person whose browser is slow.
    page.route(f"{live_tool.tool_url}/static/js/lti-storage.js", lambda route: route.abort())
    page.goto(live_tool.sandbox("learner"))
    page.locator(LEARNER_LINK).click()
    frame = page.frame_locator("#tool-frame")
    expect(frame.locator("#lti-storage-config")).to_have_count(1, timeout=STEP_MS)
    assert_no_axe_violations(page, live_tool.tool_url, "login-storage")


def test_the_deep_linking_return_page_has_no_axe_violations(
    page: Page, live_tool: LiveTool
) -> None:
    # The page that posts the designer's choice back to the LMS sends itself at once; without
    # its script it stays and shows its button.
    page.route(f"{live_tool.tool_url}/static/js/auto-submit.js", lambda route: route.abort())
    page.goto(live_tool.sandbox("designer"))
    page.locator("#add-activity").click()
    tool = page.frame_locator("#tool-frame")
    first_module = tool.locator("input[name=module]").first
    expect(first_module).to_be_visible(timeout=STEP_MS)
    first_module.check()
    tool.locator("form:has(input[name=module]) button[type=submit]").last.click()
    expect(tool.locator("#lti-auto-submit")).to_have_count(1, timeout=STEP_MS)
    assert_no_axe_violations(page, live_tool.tool_url, "designer-deep-link-return")


def test_axe_reports_a_fault_that_is_there(page: Page, live_tool: LiveTool) -> None:
    # Zero violations means something only if the same run finds a fault once one exists.
    learner_token(page, live_tool)
    frame = page.frame(name="tool-frame")
    assert frame is not None
    frame.evaluate(
        """() => { const img = document.createElement("img"); img.src = "/static/img/logo.svg";
                   document.querySelector("main").append(img); }"""
    )
    found = {v["id"]: v for v in axe_violations(page, live_tool.tool_url)}
    assert "image-alt" in found, found
    assert len(found["image-alt"]["targets"]) == 1, found["image-alt"]


def test_the_content_security_policy_holds_while_axe_runs(
    page: Page, browser_context: BrowserContext, live_tool: LiveTool
) -> None:
    token = learner_token(page, live_tool)
    # A tab of its own: the inline script below must be refused, and the `page` fixture fails
    # on any CSP report.
    tab = browser_context.new_page()
    reports: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            reports.append(message.text)

    tab.on("console", keep)
    blocked_axe: list[str] = []

    def no_other_axe(route: Route) -> None:
        blocked_axe.append(route.request.url)
        route.abort()

    # axe may come only from the tool's origin.
    tab.route(lambda url: "axe" in url and not url.startswith(live_tool.tool_url), no_other_axe)
    try:
        response = tab.goto(f"{live_tool.tool_url}/lti/module?lt={token}")
        assert response is not None and response.status == 200
        policy = response.headers.get("content-security-policy", "")
        directives = {d.strip().split(" ")[0]: d.strip() for d in policy.split(";")}
        assert directives.get("script-src") == "script-src 'self'", policy

        assert_no_axe_violations(tab, live_tool.tool_url, "learner-module-top-level")
        sources = tab.locator("script[src]").evaluate_all("els => els.map(e => e.src)")
        assert f"{live_tool.tool_url}{AXE_PATH}" in sources, sources
        assert tab.evaluate("() => typeof window.axe.run") == "function"
        assert reports == [] and blocked_axe == [], (reports, blocked_axe)

        # After axe ran, an inline script is still refused, and the browser says so.
        ran = tab.evaluate(
            """() => { const s = document.createElement("script");
                       s.textContent = "window.inlineRan = true;";
                       document.head.append(s); return window.inlineRan === true; }"""
        )
        assert ran is False
        tab.wait_for_timeout(200)  # console messages arrive on their own schedule
        assert any("script-src 'self'" in r for r in reports), reports
    finally:
        tab.close()


def test_the_module_form_with_its_errors_and_a_cleaned_preview_has_no_axe_violations(
    page: Page, live_tool: LiveTool
) -> None:
    page.goto(live_tool.sandbox("designer"))
    page.locator(LEARNER_LINK).click()
    frame = page.frame(name="tool-frame")
    assert frame is not None
    frame.wait_for_url(lambda url: "lt=" in url, timeout=STEP_MS)
    token = token_in_frame(page)
    frame.goto(f"{live_tool.tool_url}/designer/modules/new?lt={token}")
    frame.locator("#content_markdown_zh").fill(
        "Hi <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    )
    frame.locator('button[value="preview"]').first.click()
    expect(frame.locator("#removed-zh li")).to_have_count(3, timeout=STEP_MS)
    assert_no_axe_violations(page, live_tool.tool_url, "designer-module-preview-cleaned")

    # Let the server judge the form (the browser's own checks would stop it first).
    frame.evaluate("document.querySelector('form.module-form').noValidate = true")
    frame.locator("#external_url").fill("ftp://files.example")
    frame.locator("#item-0-prompt_zh").fill("題目")
    frame.locator('button[value="save"]').last.click()
    expect(frame.locator("#error-summary")).to_be_visible(timeout=STEP_MS)
    # Every refused field at once: the empty titles and hours, the URL, the question's pair.
    assert frame.locator("#error-summary li").count() >= 5
    assert_no_axe_violations(page, live_tool.tool_url, "designer-module-form-refused")
