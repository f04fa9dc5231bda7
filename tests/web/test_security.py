"""Security headers on every response and the refusal of forms sent by other sites."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from plugin.competencies.models import Module, ModuleTag, Placement
from plugin.core.errors import InvalidInput
from plugin.lti.models import GradeOutbox
from plugin.lti.registrations import PlatformDetails, register_platform
from plugin.web.security import CROSS_SITE_BLUEPRINTS, CROSS_SITE_ENDPOINTS, FrameOriginCache
from plugin.xapi.models import Attempt, OutboxStatement
from tests.support.flows import TOOL, Flow
from tests.support.modules import launch, token_of
from tests.support.platform import TestPlatform

CANVAS_SCHOOL = "https://school.instructure.example"


def policy(response: TestResponse) -> dict[str, list[str]]:
    """The response's CSP as directive → sources."""
    header = response.headers.get("Content-Security-Policy", "")
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


@pytest.fixture
def registered(app: Flask, platform: TestPlatform) -> TestPlatform:
    """The test platform plus a Canvas-like one framed from a school domain and a disabled one."""
    with app.extensions["plugin.db"].session_scope() as session:
        register_platform(
            session,
            PlatformDetails(
                issuer="https://canvas.instructure.example",
                client_id="10000000000001",
                auth_login_url="https://sso.canvaslms.example/api/lti/authorize_redirect",
                auth_token_url="https://sso.canvaslms.example/login/oauth2/token",
                key_set_url="https://sso.canvaslms.example/api/lti/security/jwks",
                frame_origins=(CANVAS_SCHOOL,),
            ),
        )
        disabled = register_platform(
            session,
            PlatformDetails(
                issuer="https://retired-lms.example",
                client_id="old",
                auth_login_url="https://retired-lms.example/auth",
                auth_token_url="https://retired-lms.example/token",
                key_set_url="https://retired-lms.example/jwks",
            ),
        )
        disabled.enabled = False
    return platform


def test_frame_ancestors_lists_exactly_the_enabled_platforms_origins(
    registered: TestPlatform, flow: Flow
) -> None:
    page = flow.land(flow.complete())
    assert set(policy(page)["frame-ancestors"]) == {
        "'self'",
        registered.issuer,  # issuer and login URL share the test platform's origin
        "https://canvas.instructure.example",
        "https://sso.canvaslms.example",
        CANVAS_SCHOOL,
    }


def test_scripts_come_only_from_the_tool_itself(registered: TestPlatform, flow: Flow) -> None:
    page = flow.land(flow.complete())
    directives = policy(page)
    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    sources = " ".join(source for values in directives.values() for source in values)
    assert "unsafe-inline" not in sources and "unsafe-eval" not in sources
    # And the pages keep to it: no inline script or style attribute in the markup.
    body = page.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\b(src|type=\"application/json\"))", body)
    assert " style=" not in body


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/no-such-page", "/static/css/plugin.css", "/api/v1/frameworks", "/lti/config"],
)
def test_every_kind_of_response_carries_nosniff_and_a_same_origin_referrer_policy(
    client: Any, path: str
) -> None:
    response = client.get(path, base_url=TOOL)
    response.close()  # a static file's handle
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]


def test_the_json_api_may_not_be_framed_or_load_anything(client: Any) -> None:
    directives = policy(client.get("/api/v1/frameworks", base_url=TOOL))
    assert directives["frame-ancestors"] == ["'none'"] and directives["default-src"] == ["'none'"]


def test_deep_linking_answer_may_post_only_to_the_platforms_return_url(
    flow: Flow, app: Flask
) -> None:
    picker = flow.land(
        flow.complete_with(
            lambda nonce: flow.platform.sign(flow.platform.deep_linking_claims(nonce))
        )
    )
    page = picker.get_data(as_text=True)
    assert policy(picker)["form-action"] == ["'self'"]
    token = re.search(r'name="lt" value="([^"]+)"', page).group(1)
    module_key = re.search(r'name="module" value="([^"]+)"', page).group(1)
    answer = flow.client.post(
        "/lti/deep-link", data={"lt": token, "module": module_key}, base_url=TOOL
    )
    assert answer.status_code == 200
    assert policy(answer)["form-action"] == ["'self'", flow.platform.issuer]


def test_frame_origin_cache_reads_again_after_its_ttl_or_when_told() -> None:
    reads: list[int] = []

    def load() -> list[str]:
        reads.append(1)
        return [f"https://lms{len(reads)}.example"]

    cache = FrameOriginCache(ttl=3600)
    assert cache.get(load) == ["https://lms1.example"]
    assert cache.get(load) == ["https://lms1.example"] and len(reads) == 1
    cache.forget()
    assert cache.get(load) == ["https://lms2.example"]
    assert FrameOriginCache(ttl=0).get(load) == ["https://lms3.example"]


def test_a_bad_frame_origin_is_refused_naming_the_field(app: Flask) -> None:
    with (
        app.extensions["plugin.db"].session_scope() as session,
        pytest.raises(InvalidInput, match="frame_origins") as raised,
    ):
        register_platform(
            session,
            PlatformDetails(
                issuer="https://lms.example.org",
                client_id="c",
                auth_login_url="https://lms.example.org/auth",
                auth_token_url="https://lms.example.org/token",
                key_set_url="https://lms.example.org/jwks",
                frame_origins=("https://lms.example.org/course/1",),
            ),
        )
    assert raised.value.field == "frame_origins"


# --- CSRF: state-changing forms -----------------------------------------------------------


def state_changing_rules(app: Flask) -> list[tuple[str, str]]:
    """(rule, method) of every route that changes state and is not cross-site by design."""
    rules = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else ""
        if rule.endpoint in CROSS_SITE_ENDPOINTS or blueprint in CROSS_SITE_BLUEPRINTS:
            continue
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            rules.append((rule.rule, method))
    return sorted(rules)


def filled(rule: str, module_key: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?[a-z_]+>", module_key, rule)


def row_counts(app: Flask) -> dict[str, int]:
    with app.extensions["plugin.db"].session_scope() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Module, ModuleTag, Placement, Attempt, OutboxStatement, GradeOutbox)
        }


@pytest.fixture
def designer_token(flow: Flow, app: Flask) -> Iterator[tuple[str, str]]:
    """A designer's launch token on a placed module, and that module's key."""
    with app.extensions["plugin.db"].session_scope() as session:
        module_key = session.scalars(select(Module.key).order_by(Module.id)).first()
    assert module_key, "the seeded catalog has modules"
    response = launch(flow, link="rl-csrf", module_key=module_key, role="Instructor")
    yield token_of(response), module_key


def test_the_walk_covers_the_tools_forms(app: Flask) -> None:
    walked = state_changing_rules(app)
    # The forms learners and designers post; a new one joins the walk automatically.
    assert ("/lti/module/check", "POST") in walked and ("/designer/modules/new", "POST") in walked
    assert len(walked) >= 10


def send_every_state_changing_form(
    app: Flask, flow: Flow, module_key: str, form: dict[str, str], headers: dict[str, str]
) -> Iterator[tuple[str, TestResponse]]:
    """Each state-changing route (``module_key`` in its path) sent ``form`` with ``headers``:
    the rule and the answer, one by one."""
    for rule, method in state_changing_rules(app):
        yield (
            rule,
            flow.client.open(
                filled(rule, module_key), method=method, data=form, headers=headers, base_url=TOOL
            ),
        )


CROSS_SITE_HEADERS = [
    {"Origin": "https://attacker.example"},
    {"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "null"},
]


Fields = dict[str, str]


def assert_every_form_refused(
    app: Flask, flow: Flow, module_key: str, form: Fields, headers: Fields, refusal: tuple[int, str]
) -> None:
    """Every state-changing form sent with ``form`` and ``headers`` gets ``refusal`` (its
    status and error code), and no table gains or loses a row."""
    status, code = refusal
    before = row_counts(app)
    for rule, response in send_every_state_changing_form(app, flow, module_key, form, headers):
        assert response.status_code == status, (rule, response.status_code)
        assert code in response.get_data(as_text=True), rule
    assert row_counts(app) == before


@pytest.mark.parametrize("headers", CROSS_SITE_HEADERS, ids=lambda h: "+".join(h.values()))
def test_every_state_changing_form_sent_from_another_site_is_refused_and_writes_nothing(
    app: Flask, flow: Flow, designer_token: tuple[str, str], headers: dict[str, str]
) -> None:
    token, module_key = designer_token
    form = {"lt": token, "module": module_key, "percent": "50", "title_zh": "x"}
    assert_every_form_refused(app, flow, module_key, form, headers, (403, "cross_site_request"))


def test_every_state_changing_form_without_a_launch_token_is_refused_and_writes_nothing(
    app: Flask, flow: Flow, designer_token: tuple[str, str]
) -> None:
    _token, module_key = designer_token
    form = {"module": module_key, "percent": "50"}
    same_origin = {"Origin": TOOL, "Sec-Fetch-Site": "same-origin"}
    assert_every_form_refused(app, flow, module_key, form, same_origin, (401, "launch_expired"))


def test_a_form_from_the_tools_own_page_is_accepted(
    app: Flask, flow: Flow, designer_token: tuple[str, str]
) -> None:
    # An attacker holding a valid launch token of their own is refused above by the Origin;
    # the same token from the tool's own page goes through.
    _designer, module_key = designer_token
    learner = launch(flow, link="rl-csrf", module_key=module_key, sub="learner-002")
    flow.land(learner)  # opening the module starts the attempt
    token = token_of(learner)
    statements_before = row_counts(app)["OutboxStatement"]
    response = flow.client.post(
        "/lti/module/progress",
        data={"lt": token, "percent": "40"},
        headers={"Origin": TOOL, "Sec-Fetch-Site": "same-origin"},
        base_url=TOOL,
    )
    assert response.status_code < 400, response.get_data(as_text=True)
    assert row_counts(app)["OutboxStatement"] > statements_before


def test_the_platforms_cross_site_launch_post_is_still_accepted(flow: Flow) -> None:
    auth = flow.login()
    response = flow.client.post(
        "/lti/launch",
        data={
            "id_token": flow.platform.sign(flow.platform.claims(auth["nonce"])),
            "state": auth["state"],
        },
        headers={"Origin": flow.platform.issuer, "Sec-Fetch-Site": "cross-site"},
        base_url=TOOL,
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].startswith("/lti/")
