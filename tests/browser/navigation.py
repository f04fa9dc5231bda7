"""Following a link inside the sandbox's cross-site tool frame, reliably under load.

The tool frame is on another site than the sandbox page, so Chromium runs it in a process of
its own and routes each mouse event to it from the browser process's hit-test data. On a busy
machine, right after Playwright scrolls a link near the end of a long page into view, a click
can be lost on the way although the link is the element at that point (seen in CI on two
cores: no request ever reached the tool). A person's click comes long after any scroll has
settled, so the helper lets the compositor catch up first and, if the frame still has not left
its page, follows the link from the keyboard (focus and Enter), which needs no hit test,
rather than report a lost input event as a broken link.
"""

from __future__ import annotations

import contextlib

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import FrameLocator, Locator, Page

from tests.browser.accessibility import tool_frame

# Two animation frames: the scroll is painted and the hit-test data sent to the browser.
_SETTLE = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
# How long a followed link may take to start leaving the page before the keyboard is used.
LEAVE_MS = 5_000
STEP_MS = 20_000


def follow_link(page: Page, link: Locator) -> None:
    """Click ``link`` in the tool's frame and return once the frame has left the page it was on."""
    frame = tool_frame(page)
    before = frame.url
    link.scroll_into_view_if_needed()
    page.evaluate(_SETTLE)
    frame.evaluate(_SETTLE)
    link.click()
    try:
        frame.wait_for_url(lambda url: url != before, timeout=LEAVE_MS)
        return
    except PlaywrightError:
        pass
    # The click's page may arrive meanwhile, the link gone with the old one: nothing to press.
    with contextlib.suppress(PlaywrightError):
        link.press("Enter", timeout=LEAVE_MS)
    frame.wait_for_url(lambda url: url != before, timeout=STEP_MS)


def place_picked_modules(page: Page, tool: FrameLocator) -> None:
    """Submit the deep-linking picker's checked modules and wait for the tool's 200 answer."""
    submit = tool.locator("form:has(input[name=module]) button[type=submit]").last
    # A plain click at the foot of the long, scrolled frame proved flaky (see the check's
    # submit in test_attainment_walkthrough): focus it and press Enter, and wait for the POST.
    with page.expect_response(
        lambda r: r.url.endswith("/lti/deep-link") and r.request.method == "POST"
    ) as answer:
        submit.focus()
        submit.press("Enter")
    assert answer.value.status == 200, answer.value.status
