"""A designer copies two national modules into the organisation's catalog, places the copies
with deep linking, edits their tags; learners open each.

Runs in Debian's Chromium with third-party cookies blocked, from the sandbox LMS on
http://localhost:P into the tool on http://127.0.0.1:P (a third-party iframe).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.accessibility import assert_no_axe_violations
from tests.browser.navigation import place_picked_modules
from tests.support.browser import (
    STEP_MS,
    copy_from_the_picker,
    launch_and_wait_for_tool,
    link_ids,
    screenshot,
    search_for,
    tool_frame_url,
)
from tests.support.live_tool import LiveTool

pytestmark = pytest.mark.browser

CHOSEN = {
    "tw-civil-service-dc.C6-T1": "DC2-K3",  # the indicator the demo catalog leaves uncovered
    "tw-civil-service-dc.C7-T2": "AT1",
}


def test_designer_deep_links_two_modules_edits_their_tags_and_learners_open_each(
    page: Page, live_tool: LiveTool, artifacts_dir: Path
) -> None:
    page.goto(live_tool.sandbox("designer"))
    before = link_ids(page)
    page.locator("#add-activity").click()
    tool = page.frame_locator("#tool-frame")
    # The national catalog is read-only from a launch: the designer changes copies of it.
    copies = [copy_from_the_picker(page, tool, key) for key in CHOSEN]
    for key in copies:
        box = tool.locator(f'input[name=module][value="{key}"]')
        expect(box).to_be_visible(timeout=STEP_MS)
        box.check()
    screenshot(page, artifacts_dir, "20-designer-picks-two-modules")
    place_picked_modules(page, tool)
    links = page.locator("a.launch-link")
    expect(links).to_have_count(len(before) + 2, timeout=STEP_MS)
    new_ids = [link_id for link_id in link_ids(page) if link_id not in before]
    titles = {
        link_id: page.locator(f'a.launch-link[data-link-id="{link_id}"]').inner_text().strip()
        for link_id in new_ids
    }

    for link_id, (_key, code) in zip(new_ids, CHOSEN.items(), strict=True):
        page.goto(live_tool.sandbox("designer"))
        page.locator(f'a.launch-link[data-link-id="{link_id}"]').click()
        expect(tool.locator("h1")).to_have_text(titles[link_id], timeout=STEP_MS)
        assert_no_axe_violations(page, live_tool.tool_url, "designer-module")
        tool.locator(".designer-bar a", has_text="職能標記").click()
        search_for(page, tool, code)
        add_form = tool.locator(f'form.add-tag:has(input[name=add_item][value="{code}"])')
        expect(add_form).to_have_count(1, timeout=STEP_MS)
        assert_no_axe_violations(page, live_tool.tool_url, "designer-tags-search")
        add_form.locator("select[name=add_level]").select_option("2")
        add_form.locator("button[type=submit]").click()
        expect(tool.locator(f'input[name$="-item"][value="{code}"]')).to_have_count(
            1, timeout=STEP_MS
        )
        assert "/designer/modules/" in tool_frame_url(page)
        screenshot(page, artifacts_dir, f"21-designer-tagged-{code}")
        assert_no_axe_violations(page, live_tool.tool_url, "designer-tags")

    for link_id, (_key, code) in zip(new_ids, CHOSEN.items(), strict=True):
        page.goto(live_tool.sandbox("learner"))
        launch_and_wait_for_tool(page, f'a.launch-link[data-link-id="{link_id}"]', live_tool)
        expect(tool.locator("h1")).to_have_text(titles[link_id])
        expect(tool.locator("article")).to_contain_text(code)  # the edited tag shows
        screenshot(page, artifacts_dir, f"22-learner-opens-{link_id}")
