"""In Chromium, through the sandbox with third-party cookies blocked: a learner fails a module's
check, tries again and passes; focus lands on each result, and the browser's Back button after
each result shows the module's result, never a live form.

The tool runs on a server of this module's own, so the attempts made here change no other
test's learner.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from plugin.xapi.models import Attempt
from tests.browser.accessibility import assert_no_axe_violations
from tests.support.browser import (
    CHECK_FORM,
    SEEDED_MODULE,
    STEP_MS,
    answer_and_send,
    check_of,
    database,
    launch_and_wait_for_tool,
    screenshot,
)
from tests.support.live_tool import LiveTool, serving_tool

pytestmark = pytest.mark.browser

RETRY_FORM = "form[action='/lti/module/retry']"


@pytest.fixture(scope="module")
def own_tool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveTool]:
    """The tool and its sandbox on a free port, for this module alone."""
    with serving_tool(tmp_path_factory.mktemp("live-tool-attempts")) as live:
        yield live


def go_back(page: Page) -> None:
    """The browser's Back button: the joint session history moves the tool's iframe back."""
    with page.expect_response(lambda r: "/lti/module?lt=" in r.url) as answer:
        page.evaluate("() => history.back()")
    # The module page was not stored (no-store): Back asked the tool again.
    assert answer.value.status == 200, answer.value.status
    assert answer.value.headers["cache-control"] == "no-store"


def test_learner_fails_tries_again_passes_and_back_always_shows_the_result(
    page: Page, own_tool: LiveTool, artifacts_dir: Path
) -> None:
    check = check_of(own_tool, SEEDED_MODULE)
    right, wrong = check.right, check.wrong

    page.goto(own_tool.sandbox("learner"))
    launch_and_wait_for_tool(page, "a.launch-link >> nth=0", own_tool)
    tool = page.frame_locator("#tool-frame")

    # Fail: the result takes focus, says so, and offers another try.
    answer_and_send(page, tool, right[:1] + wrong[1:])
    heading = tool.locator("#result-title")
    expect(heading).to_be_focused(timeout=STEP_MS)
    result = tool.locator("#result")
    expect(result).to_contain_text("尚未通過")
    expect(result).not_to_contain_text("您已完成此單元")
    expect(tool.locator(RETRY_FORM)).to_have_count(1)
    screenshot(page, artifacts_dir, "61-learner-failed")
    assert_no_axe_violations(page, own_tool.tool_url, "learner-failed-result")

    # Back: the module page shows the failed result and "try again", not the live check.
    go_back(page)
    expect(tool.locator("#result")).to_contain_text("及格標準：80%", timeout=STEP_MS)
    expect(tool.locator(CHECK_FORM)).to_have_count(0)
    expect(tool.locator("body")).not_to_contain_text("您已完成此單元")
    screenshot(page, artifacts_dir, "62-learner-back-after-failing")

    # Try again (keyboard): a new attempt's live check.
    again = tool.locator(f"#result {RETRY_FORM} button[type=submit]")
    expect(again).to_have_text("再試一次")
    again.focus()
    again.press("Enter")
    expect(tool.locator(CHECK_FORM)).to_have_count(1, timeout=STEP_MS)
    expect(tool.locator("#result")).to_have_count(0)

    # Pass: focus on the result, which now says the module is finished.
    answer_and_send(page, tool, right)
    expect(tool.locator("#result-title")).to_be_focused(timeout=STEP_MS)
    expect(tool.locator("#result")).to_contain_text("您已完成此單元")
    expect(tool.locator(RETRY_FORM)).to_have_count(0)
    screenshot(page, artifacts_dir, "63-learner-passed-after-trying-again")

    # Back after finishing: the result, no form to send again.
    go_back(page)
    expect(tool.locator("#result")).to_contain_text("您已完成此單元", timeout=STEP_MS)
    expect(tool.locator("#result")).to_contain_text("100%")
    expect(tool.locator(CHECK_FORM)).to_have_count(0)
    expect(tool.locator(RETRY_FORM)).to_have_count(0)
    screenshot(page, artifacts_dir, "64-learner-back-after-passing")
    assert_no_axe_violations(page, own_tool.tool_url, "learner-back-after-passing")

    with database(own_tool) as session:
        attempts = session.scalars(
            select(Attempt).where(Attempt.module_key == SEEDED_MODULE).order_by(Attempt.id)
        ).all()
        outcomes = [(a.outcome, a.is_open) for a in attempts]
        registrations = {a.registration for a in attempts}
    session.bind.dispose()  # type: ignore[union-attr]
    assert outcomes == [("failed", False), ("passed", False)]
    assert len(registrations) == 2
