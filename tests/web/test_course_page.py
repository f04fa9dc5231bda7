"""The designer's course page: members from the platform (NRPS), paged, and the grade queue."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from werkzeug.test import TestResponse

import plugin.web.course as course_module
from plugin.lti.claims import CLAIM_NRPS
from plugin.lti.models import Launch
from plugin.lti.tokens import issue_launch_token
from sandbox.courses import DEMO_COURSE_TITLE
from tests.support.app import TEST_SECRET
from tests.support.flows import TOOL
from tests.support.grades import GradesWorld
from tests.support.sandbox import parse_page

MEMBERSHIPS_PATH = "/sandbox/api/contexts/sandbox-course-1/memberships"
NAMES = ("王小明", "林雅婷", "陳志豪")


def course_page(sandbox_world: GradesWorld, launch_id: str, **query: str) -> TestResponse:
    """GET /lti/course with the launch's token (and ``query``)."""
    token = issue_launch_token(TEST_SECRET, launch_id)
    return sandbox_world.browser.get(TOOL + "/lti/course?" + urlencode({"lt": token, **query}))


def member_rows(page: TestResponse) -> list[list[str]]:
    """The cells of the members table, row by row."""
    html = page.get_data(as_text=True)
    body = html.split('<table class="table" id="members">', 1)[1].split("</table>", 1)[0]
    rows = []
    for row in body.split("<tbody>", 1)[1].split("<tr>")[1:]:
        cells = [cell.split("</td>", 1)[0] for cell in row.split("<td>")[1:]]
        rows.append([" ".join(_text(cell).split()) for cell in cells])
    return rows


def _text(html: str) -> str:
    out, inside = [], False
    for char in html:
        if char == "<":
            inside = True
        elif char == ">":
            inside = False
        elif not inside:
            out.append(char)
    return "".join(out)


def test_designer_sees_the_three_sandbox_members_with_their_roles(
    sandbox_world: GradesWorld,
) -> None:
    page = course_page(sandbox_world, sandbox_world.launch("designer"), lang="en")
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    assert f"<h1>{DEMO_COURSE_TITLE}</h1>" in html
    assert member_rows(page) == [
        ["王小明", "learner", "active"],
        ["林雅婷 (you)", "course designer", "active"],
        ["陳志豪", "administrator", "active"],
    ]
    assert (
        '<th scope="col">Full name</th>' in html and "<caption>Members 1–3 of 3</caption>" in html
    )


def test_administrator_sees_the_members_too(sandbox_world: GradesWorld) -> None:
    page = course_page(sandbox_world, sandbox_world.launch("admin"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert all(name in html for name in NAMES)


def test_learner_is_refused_with_403(sandbox_world: GradesWorld) -> None:
    page = course_page(sandbox_world, sandbox_world.launch("learner"))
    assert page.status_code == 403
    assert not any(name in page.get_data(as_text=True) for name in ("林雅婷", "陳志豪"))
    assert sandbox_world.transport.count("GET", MEMBERSHIPS_PATH) == 0


def test_without_a_launch_token_the_page_asks_for_a_launch(sandbox_world: GradesWorld) -> None:
    assert sandbox_world.browser.get(TOOL + "/lti/course").status_code == 401


def test_members_are_paged_and_every_link_carries_the_launch_token(
    sandbox_world: GradesWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(course_module, "PAGE_SIZE", 2)
    launch_id = sandbox_world.launch("designer")
    first = course_page(sandbox_world, launch_id, lang="en")
    assert [row[0] for row in member_rows(first)] == ["王小明", "林雅婷 (you)"]
    token = parse_qs(urlsplit(first.request.url).query)["lt"][0]
    anchors = parse_page(first.get_data(as_text=True)).anchors
    pager = [a for a in anchors if "page=" in a.get("href", "")]
    assert {a["href"] for a in pager} >= {f"/lti/course?page=2&lt={token}"}
    for anchor in anchors:
        href = anchor.get("href", "")
        if href.startswith("/") and not href.startswith("/static"):
            assert f"lt={token}" in href, href
    second = course_page(sandbox_world, launch_id, lang="en", page="2")
    assert member_rows(second) == [["陳志豪", "administrator", "active"]]
    html = second.get_data(as_text=True)
    assert "Members 3–3 of 3" in html and 'aria-current="page"' in html


@pytest.mark.parametrize(
    ("page", "status"),
    [("0", 400), ("abc", 400), ("9", 404), ("²", 400), ("１", 400), ("٢", 400), ("9" * 40, 400)],
)
def test_a_bad_page_number_is_refused_naming_the_field(
    sandbox_world: GradesWorld, page: str, status: int
) -> None:
    response = course_page(sandbox_world, sandbox_world.launch("designer"), page=page, lang="en")
    assert response.status_code == status
    assert "page" in response.get_data(as_text=True)


def test_a_platform_without_nrps_gets_a_clear_message(sandbox_world: GradesWorld) -> None:
    launch_id = sandbox_world.launch("designer")
    with sandbox_world.app.extensions["plugin.db"].session_scope() as session:
        launch = session.get(Launch, launch_id)
        assert launch is not None
        launch.claims = {k: v for k, v in launch.claims.items() if k != CLAIM_NRPS}
    page = course_page(sandbox_world, launch_id, lang="en")
    assert page.status_code == 200
    assert "offers no member list" in page.get_data(as_text=True)
    assert sandbox_world.transport.count("GET", MEMBERSHIPS_PATH) == 0


@pytest.mark.parametrize(
    "answer", [requests.ConnectionError("refused"), 500, 403], ids=["down", "500", "403"]
)
def test_a_failing_membership_service_shows_a_message_not_a_500(
    sandbox_world: GradesWorld, answer: int | Exception
) -> None:
    launch_id = sandbox_world.launch("designer")
    sandbox_world.transport.answer("GET", MEMBERSHIPS_PATH, answer)
    page = course_page(sandbox_world, launch_id, lang="en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "could not be read from the platform" in html and 'role="alert"' in html
    assert "Scores sent to the gradebook" in html  # the rest of the page still works


def test_the_grade_queue_counts_of_this_registration_are_shown(sandbox_world: GradesWorld) -> None:
    learner = sandbox_world.launch("learner")
    sandbox_world.enqueue(learner)
    sandbox_world.enqueue(learner, user_id="not-a-member")
    sandbox_world.worker_once()  # one delivered, one refused (400)
    sandbox_world.enqueue(learner)  # and one waiting
    page = course_page(sandbox_world, sandbox_world.launch("designer"), lang="en")
    html = " ".join(page.get_data(as_text=True).split())
    assert "<dt>Waiting to be sent</dt><dd>1</dd>" in html
    assert "<dt>Delivered</dt><dd>1</dd>" in html
    assert "<dt>Failed</dt><dd>1</dd>" in html
    assert "grades retry" in html
