"""``aud`` and ``azp`` (LTI 1.3 core §5.1.2, OIDC Core §3.1.3.7); one issuer with two clients."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from plugin.lti.models import Launch
from tests.support.flows import Flow, assert_refused, counts, register

OTHER = "some-other-client"


def test_aud_list_with_our_client_id_and_azp_ours_is_accepted(flow: Flow, app: Flask) -> None:
    client_id = flow.platform.client_id
    response = flow.complete(aud=[client_id, OTHER], azp=client_id)
    assert flow.land(response).status_code == 200
    assert counts(app)["launches"] == 1


def test_aud_list_without_azp_is_rejected(flow: Flow, app: Flask) -> None:
    response = flow.complete(aud=[flow.platform.client_id, OTHER])
    assert_refused(response, 401, "bad_azp")
    assert counts(app)["launches"] == 0


def test_aud_list_with_azp_of_another_client_is_rejected(flow: Flow, app: Flask) -> None:
    response = flow.complete(aud=[flow.platform.client_id, OTHER], azp=OTHER)
    assert_refused(response, 401, "bad_azp")
    assert counts(app)["launches"] == 0


def test_single_aud_with_azp_of_another_client_is_rejected(flow: Flow, app: Flask) -> None:
    response = flow.complete(azp=OTHER)
    assert_refused(response, 401, "bad_azp")


def test_aud_without_our_client_id_is_rejected(flow: Flow, app: Flask) -> None:
    response = flow.complete(aud=OTHER)
    assert_refused(response, 401, "bad_audience")
    response = flow.complete(aud=[OTHER, "a-third-client"], azp=OTHER)
    assert_refused(response, 401, "bad_audience")
    assert counts(app)["launches"] == 0


def test_one_issuer_with_two_client_ids_resolves_each_launch_to_its_registration(
    flow: Flow, app: Flask
) -> None:
    platform = flow.platform
    register(app, platform, ("deployment-canvas-2",), client_id="tool-client-2")

    first = flow.complete()
    auth = flow.login(client_id="tool-client-2", lti_deployment_id="deployment-canvas-2")
    body = platform.claims(
        auth["nonce"],
        aud="tool-client-2",
        sub="learner-002",
        **{"https://purl.imsglobal.org/spec/lti/claim/deployment_id": "deployment-canvas-2"},
    )
    second = flow.launch(platform.sign(body), auth["state"])

    assert first.status_code == 303 and second.status_code == 303, second.get_data(as_text=True)
    with app.extensions["plugin.db"].session_scope() as session:
        resolved = {
            launch.claims["sub"]: launch.deployment.registration.client_id
            for launch in session.scalars(select(Launch))
        }
    assert resolved == {"learner-001": "tool-client-1", "learner-002": "tool-client-2"}


def test_state_of_one_client_cannot_carry_a_launch_for_the_other(flow: Flow, app: Flask) -> None:
    register(app, flow.platform, ("deployment-canvas-2",), client_id="tool-client-2")
    auth = flow.login()  # a login for tool-client-1
    body = flow.platform.claims(
        auth["nonce"],
        aud="tool-client-2",
        **{"https://purl.imsglobal.org/spec/lti/claim/deployment_id": "deployment-canvas-2"},
    )
    assert_refused(flow.launch(flow.platform.sign(body), auth["state"]), 400, "state_unknown")
    assert counts(app)["launches"] == 0


def test_login_without_client_id_for_an_issuer_with_two_clients_is_refused(
    flow: Flow, app: Flask
) -> None:
    register(app, flow.platform, ("deployment-canvas-2",), client_id="tool-client-2")
    response = flow.login_response(client_id="")
    text = assert_refused(response, 400, "login_missing_parameter")
    assert "client_id" in text
