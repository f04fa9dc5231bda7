"""In Chromium, through the sandbox with third-party cookies blocked: the language a learner
picks stays picked across five clicks (it travels with the launch, not the address), and a
launch that names its language only in ``launch_presentation`` (as Moodle does) is answered in
that language. Every page visited is checked with axe-core.

The tool runs on a server of this module's own, so the check sent here changes no other
test's learner.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.browser.accessibility import assert_no_axe_violations
from tests.browser.navigation import follow_link
from tests.support.browser import (
    SEEDED_MODULE,
    STEP_MS,
    ModuleCheck,
    answer_and_send,
    check_of,
    launch_and_wait_for_tool,
    screenshot,
    tool_frame_url,
)
from tests.support.live_tool import LiveTool, serving_tool

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def own_tool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveTool]:
    """The tool and its sandbox on a free port, for this module alone."""
    with serving_tool(tmp_path_factory.mktemp("live-tool-language")) as live:
        yield live


@pytest.fixture(scope="module")
def seeded_module(own_tool: LiveTool) -> ModuleCheck:
    """The first sandbox link's module: its English title and the right answers."""
    return check_of(own_tool, SEEDED_MODULE)


def expect_english(tool: FrameLocator) -> None:
    """The tool's document declares English."""
    expect(tool.locator("html")).to_have_attribute("lang", "en", timeout=STEP_MS)


def frame_query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(tool_frame_url(page)).query)


def test_english_chosen_by_the_learner_stays_english_across_five_clicks(
    page: Page, own_tool: LiveTool, seeded_module: ModuleCheck, artifacts_dir: Path
) -> None:
    title = seeded_module.title_en
    page.goto(own_tool.sandbox("learner"))
    launch_and_wait_for_tool(page, "a.launch-link >> nth=0", own_tool)
    tool = page.frame_locator("#tool-frame")
    expect(tool.locator("html")).to_have_attribute("lang", "zh-Hant-TW", timeout=STEP_MS)
    expect(tool.locator("#check-title")).to_have_text("知識檢核", timeout=STEP_MS)

    # The switch: the module page again, in English.
    tool.locator("nav.toolbar__langs a[hreflang=en]").click()
    expect_english(tool)
    expect(tool.locator("#module-title")).to_have_text(title, timeout=STEP_MS)
    expect(tool.locator("#check-title")).to_have_text("Knowledge check", timeout=STEP_MS)
    expect(tool.locator("nav.toolbar__langs a[aria-current=true]")).to_have_text(
        "English", timeout=STEP_MS
    )
    assert_no_axe_violations(page, own_tool.tool_url, "language-en-module")

    # 1. The check: its result, in English (a POST's answer offers no switch: none would work).
    answer_and_send(page, tool, seeded_module.right)
    expect_english(tool)
    expect(tool.locator("#result-title")).to_have_text("Your result", timeout=STEP_MS)
    verdict = tool.locator("#result p", has_text="Passed")
    expect(verdict).to_have_text(
        "Passed. Well done! You have finished this module.", timeout=STEP_MS
    )
    expect(tool.locator("#result p", has_text="Pass mark")).to_have_text(
        "Pass mark: 80%", timeout=STEP_MS
    )
    expect(tool.locator("nav.toolbar__langs")).to_have_count(0, timeout=STEP_MS)
    screenshot(page, artifacts_dir, "65-language-en-result")
    assert_no_axe_violations(page, own_tool.tool_url, "language-en-result")

    # 2. The map, from the result. The address has no ?lang=: the launch carries the choice.
    follow_link(page, tool.get_by_role("link", name="My competency map"))
    expect_english(tool)
    expect(tool.locator("h1")).to_have_text("My competency map", timeout=STEP_MS)
    assert "lang" not in frame_query(page)
    screenshot(page, artifacts_dir, "66-language-en-map")
    assert_no_axe_violations(page, own_tool.tool_url, "language-en-map")

    # 3. Back to the module: the finished result, in English.
    follow_link(page, tool.locator("#back-to-module"))
    expect_english(tool)
    expect(tool.locator("#module-title")).to_have_text(title, timeout=STEP_MS)
    expect(tool.locator("#result-title")).to_have_text("Your result", timeout=STEP_MS)
    expect(tool.locator("#result")).to_contain_text(
        "You have finished this module.", timeout=STEP_MS
    )
    assert "lang" not in frame_query(page)
    assert_no_axe_violations(page, own_tool.tool_url, "language-en-module-finished")

    # 4. The map again, from the module; 5. back to the module once more.
    follow_link(page, tool.get_by_role("link", name="My competency map"))
    expect_english(tool)
    expect(tool.locator("h1")).to_have_text("My competency map", timeout=STEP_MS)
    follow_link(page, tool.locator("#back-to-module"))
    expect_english(tool)
    expect(tool.locator("#module-title")).to_have_text(title, timeout=STEP_MS)
    expect(tool.locator("nav.toolbar__langs a[aria-current=true]")).to_have_text(
        "English", timeout=STEP_MS
    )
    expect(tool.locator("body")).not_to_contain_text("您已完成此單元")


def test_launch_with_locale_only_in_launch_presentation_is_answered_in_english(
    page: Page, own_tool: LiveTool, seeded_module: ModuleCheck, artifacts_dir: Path
) -> None:
    title = seeded_module.title_en
    # The sandbox, asked to launch as Moodle does: launch_presentation.locale = "en" and no
    # top-level locale claim (tests/sandbox/test_launch_flow.py shows the id_token's claims).
    page.goto(own_tool.sandbox("learner") + "&presentation_locale=en")
    launch_and_wait_for_tool(page, "a.launch-link >> nth=0", own_tool)
    tool = page.frame_locator("#tool-frame")
    expect_english(tool)
    expect(tool.locator("#module-title")).to_have_text(title, timeout=STEP_MS)
    expect(tool.locator("nav.toolbar__langs a[aria-current=true]")).to_have_text(
        "English", timeout=STEP_MS
    )
    assert "lang" not in frame_query(page)
    screenshot(page, artifacts_dir, "67-language-en-from-launch-presentation")
    assert_no_axe_violations(page, own_tool.tool_url, "language-en-from-launch-presentation")
