"""In Chromium, through the sandbox with third-party cookies blocked: a learner launches a
SCORM 1.2 module, whose SCO finds the run-time API, starts afresh, commits a bookmark and moves
it once more without committing; the tab is closed; the relaunch resumes (cmi.core.entry =
"resume") at the last bookmark, which the player's page-hide commit delivered.

The tool runs on a server of this module's own, with a package imported into the sandbox's
first module, so no other test's module changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, FrameLocator, Page, expect

from tests.browser.accessibility import assert_no_axe_violations
from tests.content.packages import scorm12_bookmark
from tests.support.browser import SEEDED_MODULE, STEP_MS, screenshot
from tests.support.live_tool import LiveTool, import_into, serving_tool

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def scorm_tool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveTool]:
    """The tool and its sandbox on a free port; the first link's module plays a package."""
    instance_dir = tmp_path_factory.mktemp("live-tool-scorm")
    with serving_tool(instance_dir) as live:
        import_into(instance_dir, scorm12_bookmark(instance_dir / "bookmark.zip"), SEEDED_MODULE)
        yield live


def launch_sco(tab: Page, live: LiveTool) -> FrameLocator:
    """Open the learner's course, launch the first link; the SCO's frame inside the player."""
    tab.goto(live.sandbox("learner"))
    tab.locator("a.launch-link >> nth=0").click()
    tool = tab.frame_locator("#tool-frame")
    expect(tool.locator("#scorm-frame")).to_have_count(1, timeout=STEP_MS)
    return tool.frame_locator("#scorm-frame")


def test_a_closed_sco_resumes_at_its_bookmark(
    page: Page, browser_context: BrowserContext, scorm_tool: LiveTool, artifacts_dir: Path
) -> None:
    first = browser_context.new_page()
    sco = launch_sco(first, scorm_tool)
    expect(sco.locator("#committed")).to_have_text("true", timeout=STEP_MS)
    expect(sco.locator("#entry")).to_have_text("ab-initio")
    expect(sco.locator("#location")).to_have_text("")
    tool_url = first.frame(name="tool-frame")
    assert tool_url is not None and "/scorm/" in tool_url.url and "lt=" not in tool_url.url
    first.close(run_before_unload=True)

    sco = launch_sco(page, scorm_tool)
    expect(sco.locator("#entry")).to_have_text("resume", timeout=STEP_MS)
    # page-4 was set after the last commit: the page-hide commit carried it as the tab closed.
    expect(sco.locator("#location")).to_have_text("page-4")
    expect(sco.locator("#committed")).to_have_text("true")
    screenshot(page, artifacts_dir, "71-scorm-player-resumed")
    assert_no_axe_violations(page, scorm_tool.tool_url, "scorm-player")
