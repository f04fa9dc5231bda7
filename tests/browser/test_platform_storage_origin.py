"""The platform-storage page talks to the platform's origin only (LTI Client Side postMessages).

The tool's real storage page (templates/lti/storage.html with static/js/lti-storage.js) runs
in Chromium inside a course page; Playwright serves the platform, the tool and another site
on their own origins. The page must post ``lti.get_data`` only to the platform's origin, and
take the state only from the platform's frame and origin: an answer from anywhere else would
let another site decide which login the launch belongs to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from flask import Flask, render_template
from playwright.sync_api import Page, Route

pytestmark = pytest.mark.browser

PROJECT_DIR = Path(__file__).resolve().parents[2]
TOOL = "https://tool.test"
PLATFORM = "https://platform.test"
OTHER = "https://other.test"
STATE = "state-of-this-login"
WAIT_MS = 10_000


def storage_page(app: Flask, origin: str) -> str:
    """The tool's storage-check page as the launch view renders it."""
    with app.test_request_context("/lti/launch", method="POST", base_url=TOOL):
        return render_template(
            "lti/storage.html",
            config={
                "mode": "get",
                "target": "_parent",
                "origin": origin,
                "state": STATE,
                "nonce": "nonce-of-this-login",
            },
            fields={"id_token": "a.b.c", "state": STATE},
            action=f"{TOOL}/lti/launch",
        )


def course_page(answer: str | None) -> str:
    """A course page that records what it receives and, if ``answer``, answers lti.get_data."""
    reply = json.dumps(answer)
    return f"""<!doctype html><html><body>
<script>
window.received = [];
window.addEventListener("message", function (event) {{
  window.received.push({{ origin: event.origin, data: event.data }});
  var answer = {reply};
  if (answer !== null && event.data && event.data.subject === "lti.get_data") {{
    event.source.postMessage({{ subject: "lti.get_data.response",
      message_id: event.data.message_id, key: event.data.key, value: answer }}, event.origin);
  }}
}});
</script>
<iframe name="tool" src="{TOOL}/lti/launch-page"></iframe>
</body></html>"""


class Sites:
    """Serves the course page, the tool's page and static files; records the launch POST."""

    def __init__(self, page: Page, app: Flask, *, origin: str, course_at: str, answer: str | None):
        self.posted: list[dict[str, list[str]]] = []
        self.tool_html = storage_page(app, origin)
        self.course_html = course_page(answer)
        self.course_at = course_at
        page.route("**/*", self.serve)

    def serve(self, route: Route) -> None:
        """Answer every request of the test from memory or the project's static files."""
        url = route.request.url
        if url == f"{self.course_at}/course":
            route.fulfill(body=self.course_html, content_type="text/html")
        elif url == f"{TOOL}/lti/launch-page":
            route.fulfill(body=self.tool_html, content_type="text/html; charset=utf-8")
        elif url == f"{TOOL}/lti/launch":
            self.posted.append(parse_qs(route.request.post_data or "", keep_blank_values=True))
            route.fulfill(body="<p id='done'>posted</p>", content_type="text/html")
        elif url.startswith(f"{TOOL}/static/"):
            path = PROJECT_DIR / "static" / url.removeprefix(f"{TOOL}/static/").split("?")[0]
            if path.is_file():
                route.fulfill(path=str(path))
            else:
                route.fulfill(status=404, body="")
        else:
            route.fulfill(status=404, body="")

    def stored_state(self, page: Page) -> str:
        """The ``lti_storage_state`` the tool's page posted with the launch."""
        page.wait_for_function("() => true")
        deadline_ms = WAIT_MS
        while not self.posted and deadline_ms > 0:
            page.wait_for_timeout(100)
            deadline_ms -= 100
        assert self.posted, "the storage page never posted the launch"
        return self.posted[0]["lti_storage_state"][0]


def received(page: Page) -> list[dict[str, Any]]:
    """What the course page received."""
    return page.evaluate("() => window.received")


def test_the_platform_gets_the_question_and_its_answer_is_used(page: Page, app: Flask) -> None:
    sites = Sites(page, app, origin=PLATFORM, course_at=PLATFORM, answer=STATE)
    page.goto(f"{PLATFORM}/course")
    assert sites.stored_state(page) == STATE
    (message,) = received(page)
    assert message["origin"] == TOOL
    assert message["data"]["subject"] == "lti.get_data"
    assert message["data"]["key"] == f"state_{STATE}"


def test_a_page_on_another_origin_never_receives_the_question(page: Page, app: Flask) -> None:
    # The tool is framed by a site that is not the platform: with "*" as the target origin it
    # would receive the question (and could answer it); with the platform's origin it gets none.
    sites = Sites(page, app, origin=PLATFORM, course_at=OTHER, answer="forged-state")
    page.goto(f"{OTHER}/course")
    assert sites.stored_state(page) == ""
    assert received(page) == []


@pytest.mark.parametrize(
    ("origin", "source", "accepted"),
    [
        (PLATFORM, "window.parent", True),  # the control: this is how the platform answers
        (OTHER, "window.parent", False),  # the platform's frame, but another origin
        (PLATFORM, "window", False),  # the platform's origin, but not the platform's frame
    ],
)
def test_an_answer_is_taken_only_from_the_platforms_frame_and_origin(
    page: Page, app: Flask, origin: str, source: str, accepted: bool
) -> None:
    sites = Sites(page, app, origin=PLATFORM, course_at=PLATFORM, answer=None)
    page.goto(f"{PLATFORM}/course")
    page.wait_for_function("() => window.received.length > 0", timeout=WAIT_MS)
    message_id = received(page)[0]["data"]["message_id"]
    tool = page.frame(name="tool")
    assert tool is not None
    # A MessageEvent with the origin and source under test, as the browser would deliver it.
    tool.evaluate(
        f"""(id) => window.dispatchEvent(new MessageEvent("message", {{
            origin: {json.dumps(origin)}, source: {source},
            data: {{ subject: "lti.get_data.response", message_id: id,
                     key: "state_{STATE}", value: "forged-state" }} }}))""",
        message_id,
    )
    assert sites.stored_state(page) == ("forged-state" if accepted else "")


def test_without_a_platform_origin_nothing_is_posted_anywhere(page: Page, app: Flask) -> None:
    # The server refuses such a launch (platform_origin_unknown); the script never falls back
    # to "*" either.
    sites = Sites(page, app, origin="", course_at=PLATFORM, answer=STATE)
    page.goto(f"{PLATFORM}/course")
    assert sites.stored_state(page) == ""
    assert received(page) == []
