"""The sandbox course page, its host, its identity as a platform, and when it exists at all."""

from __future__ import annotations

import stat
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from plugin.lti.models import Deployment, Registration
from sandbox.models import SandboxCourse, SandboxPerson, SandboxResourceLink
from tests.support.flows import TOOL
from tests.support.sandbox import PLATFORM, Browser, launch_links, parse_page


def test_course_page_lists_the_seeded_link_the_people_and_the_tool_frame(browser: Browser) -> None:
    response = browser.get(PLATFORM + "/sandbox")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "數位職能入門（示範課程）" in html and "DC101" in html
    for name in ("王小明", "林雅婷", "陳志豪"):
        assert name in html
    (link,) = launch_links(html)
    assert link["href"] == f"/sandbox/launch/{link['data-link-id']}?as=learner"
    assert link["target"] == "tool-frame"
    assert '<iframe name="tool-frame" id="tool-frame"' in html
    assert "/sandbox/static/platform-storage.js" in html
    assert f'data-tool-origin="{TOOL}"' in html
    assert "<script>" not in html  # no inline scripts: data travels in attributes
    assert 'id="add-activity"' not in html  # learners do not place activities


def test_designer_and_admin_see_the_add_activity_link(browser: Browser) -> None:
    for persona in ("designer", "admin"):
        html = browser.get(f"{PLATFORM}/sandbox?as={persona}").get_data(as_text=True)
        (add,) = [a for a in parse_page(html).anchors if a.get("id") == "add-activity"]
        assert add["href"] == f"/sandbox/deep-link?as={persona}"
        assert add["target"] == "tool-frame"


def test_unknown_person_is_refused_naming_the_as_parameter(browser: Browser) -> None:
    response = browser.get(PLATFORM + "/sandbox?as=principal")
    assert response.status_code == 400
    assert "as must be one of learner, designer, admin" in response.get_data(as_text=True)


def test_sandbox_on_the_tool_host_redirects_to_the_platform_host(browser: Browser) -> None:
    response = browser.get(TOOL + "/sandbox/gradebook?as=designer")
    assert response.status_code == 302
    assert response.headers["Location"] == PLATFORM + "/sandbox/gradebook?as=designer"


def test_first_use_registers_the_sandbox_with_the_tool_once(
    browser: Browser, sandbox_app: Flask
) -> None:
    browser.get(PLATFORM + "/sandbox")
    sandbox_app.extensions["sandbox"].ready = False  # as after a restart
    browser.get(PLATFORM + "/sandbox?as=designer")
    with sandbox_app.extensions["plugin.db"].session_scope() as session:
        registration = session.scalars(select(Registration)).one()
        assert registration.issuer == PLATFORM + "/sandbox"
        assert registration.client_id == "sandbox-tool"
        assert registration.auth_login_url == PLATFORM + "/sandbox/auth"
        assert registration.auth_token_url == PLATFORM + "/sandbox/token"
        assert registration.key_set_url == PLATFORM + "/sandbox/jwks.json"
        assert registration.origin == "sandbox"
        deployment = session.scalars(select(Deployment)).one()
        assert (deployment.deployment_id, deployment.active) == ("sandbox-deployment-1", True)
        assert session.scalar(select(func.count()).select_from(SandboxCourse)) == 1
        assert session.scalar(select(func.count()).select_from(SandboxPerson)) == 3
        assert session.scalar(select(func.count()).select_from(SandboxResourceLink)) == 1


def test_platform_key_is_kept_private_and_published_with_its_kid(
    browser: Browser, sandbox_app: Flask, tmp_path: Path
) -> None:
    first = browser.get(PLATFORM + "/sandbox/jwks.json").json
    key_file = tmp_path / "sandbox_platform_key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    (jwk,) = first["keys"]
    assert jwk["kid"] and jwk["kty"] == "RSA" and jwk["alg"] == "RS256"
    assert "d" not in jwk  # public half only
    sandbox_app.extensions["sandbox"]._key = None  # a new process reads the same file
    assert browser.get(PLATFORM + "/sandbox/jwks.json").json == first


def test_sandbox_does_not_exist_unless_enabled(client: FlaskClient) -> None:
    assert client.get("/sandbox").status_code == 404
    assert client.get("/sandbox/jwks.json").status_code == 404
