"""In Chromium, through the sandbox: a SCORM 2004 package whose organization and cluster allow
flow. The player's Continue moves from SCO one to SCO two; SCO two's adl.nav.request=continue,
acted on after its Terminate, moves to SCO three; each SCO reads adl.nav.request_valid as the
tool answered it for that item.

The tool runs on a server of this module's own, with the package imported into the sandbox's
first module, so no other test's module changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.browser.accessibility import assert_no_axe_violations
from tests.browser.navigation import STEP_MS, follow_link
from tests.content.packages import scorm2004_flow
from tests.support.browser import SEEDED_MODULE
from tests.support.live_tool import LiveTool, import_into, serving_tool

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def flow_tool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveTool]:
    """The tool and its sandbox; the first link's module plays a package with flow."""
    instance_dir = tmp_path_factory.mktemp("live-tool-scorm-flow")
    with serving_tool(instance_dir) as live:
        import_into(instance_dir, scorm2004_flow(instance_dir / "flow.zip"), SEEDED_MODULE)
        yield live


def sco_frame(page: Page) -> FrameLocator:
    """The SCO's frame inside the player inside the sandbox's tool frame."""
    return page.frame_locator("#tool-frame").frame_locator("#scorm-frame")


def test_continue_and_a_scos_navigation_request_move_to_the_next_sco(
    page: Page, flow_tool: LiveTool, artifacts_dir: Path
) -> None:
    page.goto(flow_tool.sandbox("learner"))
    page.locator("a.launch-link >> nth=0").click()
    tool = page.frame_locator("#tool-frame")
    expect(sco_frame(page).locator("#name")).to_have_text("one", timeout=STEP_MS)
    # continue / previous as the tool answers them for the first item
    expect(sco_frame(page).locator("#valid")).to_have_text("true/false", timeout=STEP_MS)
    expect(tool.locator("#scorm-previous")).to_be_disabled()
    assert_no_axe_violations(page, flow_tool.tool_url, "scorm-player-flow")

    follow_link(page, tool.locator("#scorm-continue"))
    expect(sco_frame(page).locator("#name")).to_have_text("two", timeout=STEP_MS)
    expect(sco_frame(page).locator("#valid")).to_have_text("true/true", timeout=STEP_MS)

    # The SCO's own request: completed, then adl.nav.request = continue and Terminate.
    sco_frame(page).locator("#next").press("Enter")
    expect(sco_frame(page).locator("#name")).to_have_text("three", timeout=STEP_MS)
    expect(sco_frame(page).locator("#valid")).to_have_text("false/true", timeout=STEP_MS)
    expect(tool.locator("#scorm-continue")).to_be_disabled()
    page.screenshot(path=str(artifacts_dir / "72-scorm-player-flow.png"), full_page=True)
