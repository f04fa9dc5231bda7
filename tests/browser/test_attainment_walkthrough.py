"""From deep link to attainment: a designer copies a national module into the organisation's
catalog and places the copy, a learner passes it, and the map, the heat map, the organisation
view and every export show the new level.

Runs in Debian's Chromium with third-party cookies blocked, from the sandbox LMS on
http://localhost:P into the tool on http://127.0.0.1:P (a third-party iframe). Screenshots go
to test-artifacts/browser/ (40-… to 49-…).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.browser.accessibility import assert_no_axe_violations
from tests.support.browser import (
    LEARNER_NAME,
    STEP_MS,
    check_of,
    copy_from_the_picker,
    launch_and_wait_for_tool,
    link_ids,
    pass_the_check,
    screenshot,
    search_for,
    token_in_frame,
    tool_frame_url,
)
from tests.support.live_tool import LiveTool

pytestmark = pytest.mark.browser

MODULE_KEY = "tw-civil-service-dc.C6-T2"
NOT_YET = "未達基礎"
CASE_ITEMS = 41
COMPETENCY = "DC2"  # the module's competency, tagged directly by the designer


def open_in_frame(page: Page, url: str) -> None:
    """Navigate the tool frame (not the course page) to ``url``."""
    frame = page.frame(name="tool-frame")
    assert frame is not None
    frame.goto(url)


def download(page: Page, url: str, **params: str) -> bytes:
    """GET an export with the browser's request context; the body, after a 200."""
    response = page.request.get(url, params=params)
    assert response.status == 200, (url, response.status, response.text()[:300])
    assert "attachment" in response.headers.get("content-disposition", ""), url
    return response.body()


def test_designer_links_learner_passes_and_every_view_and_export_shows_the_level(
    page: Page, live_tool: LiveTool, artifacts_dir: Path
) -> None:
    national = check_of(live_tool, MODULE_KEY)
    tool = page.frame_locator("#tool-frame")

    # The designer copies the national module into the organisation's catalog (the national
    # catalog is read-only from a launch) and deep-links the copy into the course.
    page.goto(live_tool.sandbox("designer"))
    before = link_ids(page)
    page.locator("#add-activity").click()
    copied = copy_from_the_picker(page, tool, MODULE_KEY)
    copy = check_of(live_tool, copied)
    tagged = copy.tagged
    assert copy.right and tagged == national.tagged and len(copy.right) == len(national.right)
    box = tool.locator(f'input[name=module][value="{copied}"]')
    expect(box).to_be_visible(timeout=STEP_MS)
    box.check()
    screenshot(page, artifacts_dir, "40-designer-picks-C6-T2")
    tool.locator("form:has(input[name=module]) button[type=submit]").last.click()
    expect(page.locator("a.launch-link")).to_have_count(len(before) + 1, timeout=STEP_MS)
    (link_id,) = [link_id for link_id in link_ids(page) if link_id not in before]
    link = f'a.launch-link[data-link-id="{link_id}"]'

    # The designer also tags the competency itself, so passing gives it a direct level.
    page.locator(link).click()
    tool.locator(".designer-bar a", has_text="職能標記").click()
    search_for(page, tool, COMPETENCY)
    add_form = tool.locator(f'form.add-tag:has(input[name=add_item][value="{COMPETENCY}"])')
    add_form.locator("select[name=add_level]").select_option("1")
    add_form.locator("button[type=submit]").click()
    expect(tool.locator(f'input[name$="-item"][value="{COMPETENCY}"]')).to_have_count(
        1, timeout=STEP_MS
    )

    # The learner launches the new link and passes its check.
    page.goto(live_tool.sandbox("learner"))
    launch_and_wait_for_tool(page, link, live_tool)
    learner_lt = token_in_frame(page)
    pass_the_check(page, tool, copy.right)
    screenshot(page, artifacts_dir, "41-learner-passed-C6-T2")
    assert_no_axe_violations(page, live_tool.tool_url, "learner-check-result")

    # The learner's map shows the tagged indicators above "not yet".
    map_link = tool.locator("a", has_text="我的職能地圖")
    expect(map_link).to_have_count(1)
    map_link.focus()  # a plain click in the scrolled frame proved flaky, like the submit's
    map_link.press("Enter")
    expect(tool.locator("h1")).to_have_text("我的職能地圖", timeout=STEP_MS)
    assert "/lti/map?" in tool_frame_url(page)
    expect(tool.locator("#radar")).to_be_visible()
    for code in sorted(tagged):
        row = tool.locator("table.map-items tr", has=tool.locator(f'span.code:text-is("{code}")'))
        expect(row).to_have_count(1)
        level = row.locator("td").first
        expect(level).not_to_have_text(NOT_YET)
    screenshot(page, artifacts_dir, "42-learner-map")
    assert_no_axe_violations(page, live_tool.tool_url, "learner-map")
    page.locator("#tool-frame").screenshot(path=str(artifacts_dir / "42-learner-map-frame.png"))
    alone = page.context.new_page()  # the map on its own, 1280 × 900 (docs/competency-map.png)
    try:
        alone.goto(tool_frame_url(page))
        expect(alone.locator("#radar")).to_be_visible(timeout=STEP_MS)
        alone.screenshot(path=str(artifacts_dir / "42-learner-map-1280.png"))
        assert_no_axe_violations(alone, live_tool.tool_url, "learner-map-top-level")
    finally:
        alone.close()

    # The designer's course page links to the heat map; the learner's row shows the level.
    page.goto(live_tool.sandbox("designer"))
    page.locator(link).click()
    course = tool.locator(".designer-bar a", has_text="課程成員")
    expect(course).to_be_visible(timeout=STEP_MS)
    designer_lt = token_in_frame(page)
    assert_no_axe_violations(page, live_tool.tool_url, "designer-module-passed-by-learner")
    course.click()
    heat_link = tool.locator('a[href*="/lti/course/heatmap"]').first
    expect(heat_link).to_be_visible(timeout=STEP_MS)
    assert_no_axe_violations(page, live_tool.tool_url, "designer-course-members")
    heat_link.click()
    expect(tool.locator("table#heatmap")).to_be_visible(timeout=STEP_MS)
    row = tool.locator("table#heatmap tbody tr", has=tool.locator("th", has_text=LEARNER_NAME))
    expect(row).to_have_count(1)
    shown = {
        label.split(" ", 1)[0]: int(text)
        for label, text in row.locator("td.heat").evaluate_all(
            "cells => cells.map(c => [c.getAttribute('aria-label'), c.textContent.trim()])"
        )
    }
    assert any(shown.get(code, 0) >= 1 for code in tagged), shown
    screenshot(page, artifacts_dir, "43-designer-heat-map")
    assert_no_axe_violations(page, live_tool.tool_url, "designer-heat-map")

    # The heat map's name link opens that learner's map for the designer.
    row.locator("th a").click()
    expect(tool.locator("h1")).to_be_visible(timeout=STEP_MS)
    assert "person=" in tool_frame_url(page)
    screenshot(page, artifacts_dir, "44-designer-views-learner-map")
    assert_no_axe_violations(page, live_tool.tool_url, "designer-learner-map")

    # The administrator's organisation view counts the learner at level 1 or above.
    page.goto(live_tool.sandbox("admin"))
    page.locator(link).click()
    expect(tool.locator(".designer-bar")).to_be_visible(timeout=STEP_MS)
    admin_lt = token_in_frame(page)
    assert_no_axe_violations(page, live_tool.tool_url, "admin-module")
    open_in_frame(page, f"{live_tool.tool_url}/lti/organisation?lt={admin_lt}")
    expect(tool.locator("h1")).to_have_text("組織總覽", timeout=STEP_MS)
    counts = tool.locator("table.org-table[id^=distribution-] tbody td.num").evaluate_all(
        "cells => cells.map(c => c.textContent.trim())"
    )
    assert sum(int(c) for c in counts if c.isdigit()) >= 5  # everyone in all five tables
    above = tool.locator("table.org-table[id^=distribution-] tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('td.num')].slice(1, -1)"
        ".reduce((n, c) => n + (parseInt(c.textContent) || 0), 0))"
    )
    assert sum(above) >= 1, above  # DC2 at level 1 or above
    expect(tool.locator(f"table#distribution-{COMPETENCY}")).to_be_visible()
    screenshot(page, artifacts_dir, "45-admin-organisation")
    assert_no_axe_violations(page, live_tool.tool_url, "admin-organisation")

    # Every export downloads and parses, each with the right person's token.
    exports = f"{live_tool.tool_url}/exports"
    text = download(page, f"{exports}/attainment.csv", lt=learner_lt).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    levels = {row["code"]: int(row["level"]) for row in rows}
    assert all(levels[code] >= 1 for code in tagged), levels
    book = load_workbook(io.BytesIO(download(page, f"{exports}/attainment.xlsx", lt=learner_lt)))
    sheet = list(book.active.iter_rows(values_only=True))
    assert sheet[0][:3] == ("person", "grade", "code") and len(sheet) == len(rows) + 1
    book = load_workbook(io.BytesIO(download(page, f"{exports}/coverage.xlsx", lt=designer_lt)))
    assert book.active.max_row > 1
    badges = json.loads(download(page, f"{exports}/badges.json", lt=learner_lt))
    kinds = [c["credentialSubject"]["achievement"]["achievementType"] for c in badges]
    assert "Competency" in kinds, kinds
    case = json.loads(download(page, f"{exports}/case.json"))
    assert len(case["CFItems"]) == CASE_ITEMS
    heat = download(page, f"{exports}/heatmap.csv", lt=designer_lt).decode("utf-8-sig")
    heat_rows = list(csv.reader(io.StringIO(heat)))
    assert len(heat_rows) >= 2, heat_rows
    book = load_workbook(io.BytesIO(download(page, f"{exports}/heatmap.xlsx", lt=designer_lt)))
    assert book.active.max_row == len(heat_rows), heat_rows
    assert page.request.get(f"{exports}/heatmap.csv", params={"lt": learner_lt}).status == 403
    (artifacts_dir / "46-exports.json").write_text(
        json.dumps({"attainment_rows": len(rows), "badges": len(badges),
                    "case_items": len(case["CFItems"]), "heatmap_rows": len(heat_rows)},
                   indent=2),
        encoding="utf-8",
    )  # fmt: skip
