"""Unknown deployments wait for an administrator; disabled platforms are refused."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin.lti.models import Deployment, LoginState
from tests.support.flows import Flow, assert_refused, counts, registered_flow
from tests.support.platform import LTI

NEW_DEPLOYMENT = "deployment-new-course"


def _launch_from(flow: Flow, deployment_id: str) -> TestResponse:
    auth = flow.login(lti_deployment_id=deployment_id)
    body = flow.platform.claims(auth["nonce"], **{LTI + "deployment_id": deployment_id})
    return flow.launch(flow.platform.sign(body), auth["state"])


def _deployment(app: Flask, deployment_id: str) -> Deployment | None:
    with app.extensions["plugin.db"].session_scope() as session:
        return session.scalars(
            select(Deployment).where(Deployment.deployment_id == deployment_id)
        ).one_or_none()


def test_launch_from_an_unknown_deployment_is_held_for_approval(flow: Flow, app: Flask) -> None:
    before = counts(app)
    response = _launch_from(flow, NEW_DEPLOYMENT)

    text = assert_refused(response, 403, "deployment_pending")
    assert "等待管理員核准" in text and "awaits approval by an administrator" in text
    assert NEW_DEPLOYMENT in text
    recorded = _deployment(app, NEW_DEPLOYMENT)
    assert recorded is not None and recorded.active is False
    after = counts(app)
    assert after["launches"] == before["launches"] == 0
    assert after["people"] == 0
    assert after["deployments"] == before["deployments"] + 1
    assert after["used_states"] == 0


def test_second_launch_from_a_pending_deployment_records_it_once(flow: Flow, app: Flask) -> None:
    assert_refused(_launch_from(flow, NEW_DEPLOYMENT), 403, "deployment_pending")
    assert_refused(_launch_from(flow, NEW_DEPLOYMENT), 403, "deployment_pending")
    assert counts(app)["deployments"] == 2  # the registered one and the pending one


def test_activated_deployment_is_accepted(flow: Flow, app: Flask) -> None:
    assert_refused(_launch_from(flow, NEW_DEPLOYMENT), 403, "deployment_pending")

    issuer = flow.platform.issuer
    activate = ["deployment", "activate", "--issuer", issuer, "--deployment-id", NEW_DEPLOYMENT]
    result = app.test_cli_runner().invoke(args=activate)

    assert result.exit_code == 0, result.output
    assert NEW_DEPLOYMENT in result.output
    recorded = _deployment(app, NEW_DEPLOYMENT)
    assert recorded is not None and recorded.active and recorded.activated_at is not None
    assert flow.land(_launch_from(flow, NEW_DEPLOYMENT)).status_code == 200
    assert counts(app)["launches"] == 1


def test_activating_a_deployment_never_seen_fails_naming_it(flow: Flow, app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["deployment", "activate", "--issuer", flow.platform.issuer, "--deployment-id", "x9"]
    )
    assert result.exit_code != 0
    assert "x9" in result.output


def test_auto_activated_deployment_is_accepted_at_once(make_app: Callable[..., Flask]) -> None:
    app = make_app(lti={"auto_activate_deployments": True})
    with registered_flow(app) as flow:
        assert flow.land(_launch_from(flow, NEW_DEPLOYMENT)).status_code == 200
        recorded = _deployment(app, NEW_DEPLOYMENT)
        assert recorded is not None and recorded.active
        assert counts(app)["launches"] == 1


def test_auto_activation_still_refuses_a_bad_launch_and_records_nothing(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(lti={"auto_activate_deployments": True})
    with registered_flow(app) as flow:
        auth = flow.login()
        body = flow.platform.claims(
            "not-the-login-nonce", **{LTI + "deployment_id": NEW_DEPLOYMENT}
        )
        assert_refused(flow.launch(flow.platform.sign(body), auth["state"]), 401, "nonce_mismatch")
        assert _deployment(app, NEW_DEPLOYMENT) is None


def test_disabled_platform_is_refused_at_login_and_at_launch(flow: Flow, app: Flask) -> None:
    in_flight = flow.login()  # a login begun before the platform was disabled
    result = app.test_cli_runner().invoke(
        args=["platform", "disable", "--issuer", flow.platform.issuer]
    )
    assert result.exit_code == 0, result.output

    login = flow.login_response()
    assert_refused(login, 403, "platform_disabled")
    token = flow.platform.sign(flow.platform.claims(in_flight["nonce"]))
    assert_refused(flow.launch(token, in_flight["state"]), 403, "platform_disabled")
    assert counts(app)["launches"] == 0
    with app.extensions["plugin.db"].session_scope() as session:
        assert session.get(LoginState, in_flight["state"]).used_at is None
