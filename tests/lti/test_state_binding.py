"""A launch must come back to the browser that began the login: by the state cookie, or by
LTI platform storage (LTI Client Side OIDC Launch) when the cookie is blocked."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin.lti.models import Registration
from tests.support.flows import TOOL, Flow, assert_refused, counts, storage_config
from tests.support.platform import login_params


def _cookieless(app: Flask) -> FlaskClient:
    """A browser that blocks the tool's cookie inside the LMS iframe."""
    return app.test_client(use_cookies=False)


def _storage_login(flow: Flow, app: Flask) -> tuple[FlaskClient, dict[str, Any], str]:
    """A cookieless browser's login with a storage target: the browser, the storage page's
    config and an id_token for its nonce."""
    browser = _cookieless(app)
    login = browser.get(
        "/lti/login",
        query_string=login_params(flow.platform, lti_storage_target="_parent"),
        base_url=TOOL,
    )
    config = storage_config(login)
    return browser, config, flow.platform.sign(flow.platform.claims(config["nonce"]))


def _storage_answer(
    browser: FlaskClient,
    config: dict[str, Any],
    token: str,
    stored_state: str,
    headers: dict[str, str] | None = None,
) -> TestResponse:
    """The launch form sent back after the storage check read ``stored_state``."""
    return browser.post(
        "/lti/launch",
        data={
            "id_token": token,
            "state": config["state"],
            "lti_storage_state": stored_state,
            "lti_storage_checked": "1",
        },
        base_url=TOOL,
        headers=headers or {"Origin": TOOL},
    )


def test_launch_without_state_cookie_or_platform_storage_is_rejected(
    flow: Flow, app: Flask
) -> None:
    auth = flow.login()
    token = flow.platform.sign(flow.platform.claims(auth["nonce"]))
    response = _cookieless(app).post(
        "/lti/launch", data={"id_token": token, "state": auth["state"]}, base_url=TOOL
    )
    assert_refused(response, 400, "state_unverified")
    assert counts(app)["launches"] == 0
    assert counts(app)["used_states"] == 0


def test_login_with_a_storage_target_returns_the_storage_page_with_state_and_nonce(
    flow: Flow,
) -> None:
    response = flow.login_response(lti_storage_target="_parent")

    assert response.status_code == 200
    config = storage_config(response)
    assert config["mode"] == "put"
    assert config["target"] == "_parent"
    assert config["origin"] == "https://lms.example.edu"
    assert config["state"].startswith("state-") and config["nonce"]
    assert config["redirect"].startswith(flow.platform.auth_login_url + "?")
    assert f"state={config['state']}" in config["redirect"]
    assert f"nonce={config['nonce']}" in config["redirect"]
    # The cookie is still set, for browsers that keep it.
    assert flow.client.get_cookie(f"lti1p3-{config['state']}", domain="tool.test", path="/lti/")


def test_cookieless_launch_of_a_storage_login_gets_the_storage_check_page(
    flow: Flow, app: Flask
) -> None:
    browser, config, token = _storage_login(flow, app)

    check = browser.post(
        "/lti/launch",
        data={"id_token": token, "state": config["state"], "lti_storage_target": "_parent"},
        base_url=TOOL,
    )

    assert check.status_code == 200
    check_config = storage_config(check)
    assert check_config["mode"] == "get"
    # Client Side postMessages: ask the platform's frame, with the platform's origin only.
    assert check_config["target"] == "_parent"
    assert check_config["origin"] == "https://lms.example.edu"
    assert (check_config["state"], check_config["nonce"]) == (config["state"], config["nonce"])
    text = check.get_data(as_text=True)
    assert 'name="lti_storage_checked" value="1"' in text
    assert f'name="state" value="{config["state"]}"' in text
    assert counts(app)["launches"] == 0 and counts(app)["used_states"] == 0

    accepted = _storage_answer(browser, config, token, config["state"])
    assert accepted.status_code == 303, accepted.get_data(as_text=True)
    assert browser.get(accepted.headers["Location"], base_url=TOOL).status_code == 200
    assert counts(app)["launches"] == 1


@pytest.mark.parametrize(
    ("stored_state", "code"),
    [("state-of-another-login", "state_mismatch"), ("", "state_unverified")],
    ids=["another-logins-state", "nothing-stored"],
)
def test_storage_check_that_read_another_or_no_state_is_rejected(
    flow: Flow, app: Flask, stored_state: str, code: str
) -> None:
    browser, config, token = _storage_login(flow, app)
    assert_refused(_storage_answer(browser, config, token, stored_state), 400, code)
    assert counts(app)["launches"] == 0


def test_state_cookie_with_a_wrong_value_is_rejected(flow: Flow, app: Flask) -> None:
    auth = flow.login()
    flow.client.set_cookie(
        f"lti1p3-{auth['state']}", "state-forged", domain="tool.test", path="/lti/"
    )
    token = flow.platform.sign(flow.platform.claims(auth["nonce"]))
    assert_refused(flow.launch(token, auth["state"]), 400, "state_mismatch")
    assert counts(app)["launches"] == 0


def test_state_cookie_is_secure_httponly_samesite_none_and_partitioned(flow: Flow) -> None:
    response = flow.login_response()
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("lti1p3-"))
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")}
    assert {"secure", "httponly", "partitioned"} <= attributes
    assert "SameSite=None" in header and "Path=/lti/" in header


def test_storage_answer_from_a_cross_site_form_is_ignored(flow: Flow, app: Flask) -> None:
    """A forged form on another site cannot claim the platform-storage check (login CSRF)."""
    browser, config, token = _storage_login(flow, app)
    response = _storage_answer(
        browser,
        config,
        token,
        config["state"],
        headers={"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 200
    assert storage_config(response)["mode"] == "get"
    assert counts(app)["launches"] == 0 and counts(app)["used_states"] == 0


def _lose_platform_origin(app: Flask) -> None:
    """A registration whose OIDC authorization endpoint names no origin (a relative URL)."""
    with app.extensions["plugin.db"].session_scope() as session:
        for registration in session.scalars(select(Registration)):
            registration.auth_login_url = "/oidc/authorize"


def test_a_storage_login_without_a_known_platform_origin_is_refused(flow: Flow, app: Flask) -> None:
    _lose_platform_origin(app)
    response = flow.login_response(lti_storage_target="_parent")
    # No storage page that would post state and nonce to "*" (any window).
    assert_refused(response, 400, "platform_origin_unknown")
    assert "lti-storage-config" not in response.get_data(as_text=True)
    assert counts(app)["launches"] == 0


def test_a_storage_check_without_a_known_platform_origin_is_refused(flow: Flow, app: Flask) -> None:
    browser, config, token = _storage_login(flow, app)
    _lose_platform_origin(app)
    check = browser.post(
        "/lti/launch",
        data={"id_token": token, "state": config["state"], "lti_storage_target": "_parent"},
        base_url=TOOL,
    )
    assert_refused(check, 400, "platform_origin_unknown")
    assert "lti-storage-config" not in check.get_data(as_text=True)
