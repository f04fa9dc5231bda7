"""Every kind of page the tool shows fits a 360 px wide phone: nothing scrolls sideways except a
data table inside its own scroll box, and that box is focusable, named and shows its hint; and
axe-core finds no violation on any of them at that width.

Each role launches from the sandbox LMS; the tool's pages are then opened on their own in a
360 × 740 tab, carrying the launch token as the frame would, so the page (not the LMS's frame)
sets the width. Screenshots go to test-artifacts/browser/ (70-… to 79-…).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.accessibility import assert_no_axe_violations
from tests.browser.layout import PHONE_360, assert_no_sideways_scroll
from tests.support.browser import (
    SEEDED_LINK_TITLE,
    STEP_MS,
    screenshot,
    tool_frame_url,
)
from tests.support.live_tool import LiveTool

pytestmark = pytest.mark.browser

SEEDED_LINK = f'a.launch-link:has-text("{SEEDED_LINK_TITLE}")'


def launch_token(page: Page, live_tool: LiveTool, role: str, selector: str = SEEDED_LINK) -> str:
    """Launch ``selector`` from the sandbox as ``role``; the launch token the tool answered with."""
    page.goto(live_tool.sandbox(role))
    page.locator(selector).click()
    # The launch passes pages of its own (login, cookie check) on the way: wait for the tool's.
    frame = page.frame(name="tool-frame")
    assert frame is not None
    frame.wait_for_url(re.compile(r"[?&]lt="), timeout=STEP_MS)
    body = page.frame_locator("#tool-frame").locator("h1")
    expect(body).to_be_visible(timeout=STEP_MS)
    query = parse_qs(urlsplit(tool_frame_url(page)).query)
    return query["lt"][0]


def check_page(page: Page, artifacts: Path, name: str) -> None:
    """The page shown fits the phone's width, axe-core finds no violation; keep a screenshot."""
    assert_no_sideways_scroll(page, name)
    parts = urlsplit(page.url)
    assert_no_axe_violations(page, f"{parts.scheme}://{parts.netloc}", f"360-{name}")
    screenshot(page, artifacts, name)


def visit(page: Page, url: str, artifacts: Path, name: str) -> None:
    """Open ``url`` on its own at phone width and check it (width, axe, screenshot)."""
    response = page.goto(url)
    assert response is not None and response.status < 500, (url, response and response.status)
    check_page(page, artifacts, name)


def test_every_page_kind_fits_a_360_px_phone_for_every_role(
    page: Page, live_tool: LiveTool, artifacts_dir: Path
) -> None:
    page.set_viewport_size(PHONE_360)
    tool = live_tool.tool_url

    # Public pages.
    visit(page, f"{tool}/", artifacts_dir, "70-home")
    visit(page, f"{tool}/framework", artifacts_dir, "70-framework")
    visit(page, f"{tool}/lti/config", artifacts_dir, "70-config")

    # The learner: the module, the check's result, the map.
    learner = launch_token(page, live_tool, "learner")
    visit(page, f"{tool}/lti/module?lt={learner}", artifacts_dir, "71-learner-module")
    questions = page.locator("fieldset.question")
    for index in range(questions.count()):
        questions.nth(index).locator("input").first.check()
    page.locator("form[action='/lti/module/check'] button[type=submit]").click()
    expect(page.locator("h1")).to_be_visible(timeout=STEP_MS)
    check_page(page, artifacts_dir, "71-learner-check-result")
    visit(page, f"{tool}/lti/map?lt={learner}", artifacts_dir, "72-learner-map")
    # A long page offers a way back up once the reader is down it.
    back = page.locator("footer.to-top a")
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    expect(back).to_be_visible(timeout=STEP_MS)
    back.click()
    page.wait_for_function("() => window.scrollY === 0")
    visit(page, f"{tool}/lti/organisation?lt={learner}", artifacts_dir, "72-learner-refused")

    # The designer: the module with its bar, the catalog, the editor, tags, bulk tagging,
    # coverage, the course members, the heat map and a learner's map from it.
    designer = launch_token(page, live_tool, "designer")
    visit(page, f"{tool}/lti/module?lt={designer}", artifacts_dir, "73-designer-module")
    visit(page, f"{tool}/designer/modules?lt={designer}", artifacts_dir, "73-designer-catalog")
    page.locator("form[action$='/copy'] button[type=submit]").first.click()
    expect(page.locator("form.module-form")).to_be_visible(timeout=STEP_MS)
    check_page(page, artifacts_dir, "73-designer-editor")
    copied = urlsplit(page.url).path.split("/")[3]
    visit(page, f"{tool}/designer/modules/new?lt={designer}", artifacts_dir, "73-designer-new")
    visit(page, f"{tool}/designer/modules/{copied}/tags?lt={designer}", artifacts_dir, "74-tags")
    visit(page, f"{tool}/designer/tags/bulk?lt={designer}", artifacts_dir, "74-bulk-tags")
    visit(page, f"{tool}/catalog/coverage?lt={designer}", artifacts_dir, "75-coverage")
    visit(page, f"{tool}/lti/course?lt={designer}", artifacts_dir, "75-course")
    visit(page, f"{tool}/lti/course/heatmap?lt={designer}", artifacts_dir, "76-heat-map")
    person = page.locator("table#heatmap tbody th a").first
    expect(person).to_have_count(1)
    person.click()
    expect(page.locator("h1")).to_be_visible(timeout=STEP_MS)
    check_page(page, artifacts_dir, "76-learner-map-for-designer")
    visit(page, f"{tool}/lti/unbound?lt={designer}", artifacts_dir, "76-unbound")

    # The deep-linking picker.
    page.goto(live_tool.sandbox("designer"))
    page.locator("#add-activity").click()
    expect(page.frame_locator("#tool-frame").locator("#picker-form")).to_be_visible(timeout=STEP_MS)
    picker = tool_frame_url(page)
    visit(page, picker, artifacts_dir, "77-picker")

    # The administrator: delivery queue, organisation view, access audit.
    admin = launch_token(page, live_tool, "admin")
    visit(page, f"{tool}/lti/module?lt={admin}", artifacts_dir, "78-admin-module")
    visit(page, f"{tool}/xapi/status?lt={admin}", artifacts_dir, "78-delivery-queue")
    visit(page, f"{tool}/lti/organisation?lt={admin}", artifacts_dir, "78-organisation")
    # Where a table fits, its box shows no hint.
    page.set_viewport_size({"width": 1280, "height": 900})
    fits = page.locator('.scroll-box[data-overflow="false"]').first
    expect(fits).to_have_count(1, timeout=STEP_MS)
    expect(fits.locator(".scroll-box__hint")).to_be_hidden()
    page.set_viewport_size(PHONE_360)
    visit(page, f"{tool}/lti/audit?lt={admin}", artifacts_dir, "78-audit")
    visit(page, f"{tool}/lti/course/heatmap?lt={admin}", artifacts_dir, "79-admin-heat-map")
    # Every indicator open: the widest table, still inside its box, its learner column frozen.
    url = f"{tool}/lti/course/heatmap?lt={admin}&open=all"
    visit(page, url, artifacts_dir, "79-heat-map-all-open")
    box = page.locator(".heat-scroll")
    first = page.locator("table#heatmap tbody th").first
    box.focus()
    before = first.bounding_box()
    for _ in range(5):
        box.press("ArrowRight")  # a keyboard scrolls the focused box
    page.wait_for_function("() => document.querySelector('.heat-scroll').scrollLeft > 0")
    after = first.bounding_box()
    assert before and after and after["x"] == before["x"]  # the learner column stays put
