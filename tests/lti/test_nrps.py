"""Course rosters from NRPS 2.0: every page read, page cap, hosts, errors, nothing stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from plugin.lti.claims import CLAIM_NRPS
from plugin.lti.keys import SigningKey, signing_key
from plugin.lti.models import Person
from plugin.lti.nrps import MEMBERSHIP_MEDIA, Member, fetch_roster, memberships_url
from plugin.lti.registrations import find_registration
from plugin.lti.service_tokens import EXTENSION, ServiceCredentials, ServiceError, ServiceTokens
from tests.support.app import TEST_SECRET
from tests.support.grades import GradesWorld
from tests.support.sandbox import CONTEXT_URL, PLATFORM

MEMBERSHIPS_URL = CONTEXT_URL + "/memberships"
MEMBERSHIPS_PATH = "/sandbox/api/contexts/sandbox-course-1/memberships"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


@pytest.fixture
def world(sandbox_world: GradesWorld) -> GradesWorld:
    """The sandbox platform behind a recording transport, after one designer launch."""
    sandbox_world.launch("designer")
    return sandbox_world


def sandbox_access(world: GradesWorld) -> tuple[ServiceTokens, ServiceCredentials, SigningKey]:
    """What a roster call needs for the sandbox registration."""
    with world.app.extensions["plugin.db"].session_scope() as session:
        registration = find_registration(session, PLATFORM + "/sandbox", "sandbox-tool")
        assert registration is not None
        credentials = ServiceCredentials.of(registration)
        key = signing_key(session, TEST_SECRET)
    return world.app.extensions[EXTENSION], credentials, key


def test_paging_with_limit_1_returns_all_three_sandbox_members(world: GradesWorld) -> None:
    tokens, credentials, key = sandbox_access(world)
    roster = fetch_roster(tokens, credentials, lambda: key, MEMBERSHIPS_URL, limit=1)
    assert roster.complete and roster.pages == 3
    assert roster.context_title == "數位職能入門（示範課程）"
    assert [m.user_id for m in roster.members] == [
        "sandbox-learner",
        "sandbox-designer",
        "sandbox-admin",
    ]
    learner = roster.members[0]
    assert learner == Member(
        user_id="sandbox-learner",
        name="王小明",
        given_name="小明",
        family_name="王",
        email="",
        roles=(MEMBERSHIP + "Learner",),
        status="Active",
    )
    assert world.transport.count("GET", MEMBERSHIPS_PATH) == 3
    assert world.transport.count("POST", "/sandbox/token") == 1  # one token for every page


def test_page_cap_stops_reading_and_says_the_roster_is_incomplete(world: GradesWorld) -> None:
    tokens, credentials, key = sandbox_access(world)
    roster = fetch_roster(tokens, credentials, lambda: key, MEMBERSHIPS_URL, limit=1, max_pages=2)
    assert not roster.complete and roster.pages == 2
    assert len(roster.members) == 2


def test_no_new_page_is_read_once_the_time_budget_is_spent(world: GradesWorld) -> None:
    tokens, credentials, key = sandbox_access(world)
    ticks = iter(range(0, 1000, 5))  # every look at the clock: 5 s later
    roster = fetch_roster(
        tokens,
        credentials,
        lambda: key,
        MEMBERSHIPS_URL,
        limit=1,
        max_seconds=8,
        clock=lambda: float(next(ticks)),
    )
    assert not roster.complete and len(roster.members) == 2


def test_reading_the_roster_stores_nothing(world: GradesWorld) -> None:
    with world.session() as session:
        before = session.scalar(select(func.count()).select_from(Person))
    tokens, credentials, key = sandbox_access(world)
    fetch_roster(tokens, credentials, lambda: key, MEMBERSHIPS_URL)
    with world.session() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == before
        names = set(session.scalars(select(Person.name)))
    assert "王小明" not in names  # only the designer launched; the roster added nobody


def test_a_refusal_raises_service_error_naming_the_answer(world: GradesWorld) -> None:
    tokens, credentials, key = sandbox_access(world)
    world.transport.answer("GET", MEMBERSHIPS_PATH, 403)
    with pytest.raises(ServiceError) as caught:
        fetch_roster(tokens, credentials, lambda: key, MEMBERSHIPS_URL)
    assert not caught.value.transient and caught.value.http_status == 403
    assert "HTTP 403" in caught.value.message


class Pages(requests.adapters.BaseAdapter):
    """A platform whose pages the test writes: path → (body, Link header)."""

    def __init__(self, pages: dict[str, tuple[Any, str]]):
        super().__init__()
        self.pages = pages
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Answer a token request or a page."""
        self.requests.append(request)
        response = requests.Response()
        # A body already read, as the tool's streamed reads expect (iter_content serves it).
        response._content, response._content_consumed = b"", True
        response.request = request
        response.url = request.url or ""
        response.status_code = 200
        if (request.url or "").endswith("/token"):
            response._content = b'{"access_token": "t", "expires_in": 3600}'
            return response
        body, link = self.pages[request.path_url]
        response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response.headers["Content-Type"] = MEMBERSHIP_MEDIA
        if link:
            response.headers["Link"] = link
        return response

    def close(self) -> None:
        """Nothing to release."""


def fake_roster(pages: dict[str, tuple[Any, str]], key: SigningKey) -> tuple[Any, Pages]:
    adapter = Pages(pages)
    tokens = ServiceTokens(timeout=3)
    tokens.http.mount("https://lms.example/", adapter)
    credentials = ServiceCredentials(1, "tool", "https://lms.example/token", "x")
    try:
        roster = fetch_roster(
            tokens, credentials, lambda: key, "https://lms.example/CourseA/members"
        )
    except ServiceError as exc:
        return exc, adapter
    return roster, adapter


@pytest.fixture
def key(session: Any) -> SigningKey:
    """A tool key."""
    return signing_key(session, TEST_SECRET)


def test_next_links_keep_their_case_and_never_leave_the_platforms_host(key: SigningKey) -> None:
    member = {"user_id": "u1", "roles": ["Learner"]}
    roster, adapter = fake_roster(
        {
            "/CourseA/members": ({"members": [member]}, '<?p=2&Cursor=AbC>; rel="next"'),
            "/CourseA/members?p=2&Cursor=AbC": (
                {"members": [{**member, "user_id": "u2"}]},
                '<https://elsewhere.example/steal>; rel="next"',
            ),
        },
        key,
    )
    assert [m.user_id for m in roster.members] == ["u1", "u2"]
    assert all("elsewhere" not in (r.url or "") for r in adapter.requests)
    assert adapter.requests[-1].headers["Accept"] == MEMBERSHIP_MEDIA


@pytest.mark.parametrize(
    "link",
    [
        pytest.param('</CourseA/members>; rel="next"', id="back-to-a-page-already-read"),
        # urljoin raises ValueError for "http://[": it must end the roster, not the request.
        pytest.param('<http://[/x>; rel="next"', id="not-a-url"),
    ],
)
def test_a_next_link_that_leads_nowhere_new_ends_the_roster(key: SigningKey, link: str) -> None:
    roster, adapter = fake_roster(
        {"/CourseA/members": ({"members": [{"user_id": "u1"}]}, link)}, key
    )
    assert [m.user_id for m in roster.members] == ["u1"] and roster.complete
    assert len(adapter.requests) == 2  # the token and one page


def test_members_without_user_id_are_skipped_and_status_defaults_to_active(
    key: SigningKey,
) -> None:
    roster, _ = fake_roster(
        {
            "/CourseA/members": (
                {
                    "members": [
                        {"name": "no id"},
                        "not an object",
                        {"user_id": "u1", "status": "Inactive", "roles": ["Learner", 7]},
                        {"user_id": "u2", "email": "u2@example.gov.tw"},
                    ]
                },
                "",
            )
        },
        key,
    )
    assert [(m.user_id, m.status, m.roles) for m in roster.members] == [
        ("u1", "Inactive", ("Learner",)),
        ("u2", "Active", ()),
    ]
    assert roster.members[1].email == "u2@example.gov.tw"


def test_an_answer_that_is_not_a_membership_container_is_an_error(key: SigningKey) -> None:
    error, _ = fake_roster({"/CourseA/members": (b"<html>login</html>", "")}, key)
    assert isinstance(error, ServiceError)
    assert "not a membership container" in error.message


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({CLAIM_NRPS: {"context_memberships_url": "https://lms/m", "service_versions": ["2.0"]}},
         "https://lms/m"),
        ({}, None),
        ({CLAIM_NRPS: "https://lms/m"}, None),
        ({CLAIM_NRPS: {"context_memberships_url": "javascript:alert(1)"}}, None),
        ({CLAIM_NRPS: {"context_memberships_url": 5}}, None),
    ],
)  # fmt: skip
def test_memberships_url_comes_only_from_a_well_formed_claim(
    claims: dict[str, Any], expected: str | None
) -> None:
    assert memberships_url(claims) == expected
