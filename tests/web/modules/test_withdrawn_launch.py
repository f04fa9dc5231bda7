"""A launch token stops working as soon as its platform or deployment is switched off."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from plugin.lti.models import Deployment
from tests.support.flows import TOOL, Flow
from tests.support.modules import C4_T5, launch, token_of, verbs


def _disable_platform(app: Flask, flow: Flow) -> None:
    """What the operator runs: ``flask --app plugin platform disable <issuer>``."""
    result = app.test_cli_runner().invoke(
        args=["platform", "disable", "--issuer", flow.platform.issuer]
    )
    assert result.exit_code == 0, result.output


def _deactivate_deployment(app: Flask, flow: Flow) -> None:
    """The platform stays enabled; its deployment is deactivated."""
    with app.extensions["plugin.db"].session_scope() as session:
        for deployment in session.scalars(select(Deployment)):
            deployment.active = False


SWITCH_OFF: dict[str, Callable[[Flask, Flow], None]] = {
    "platform_disabled": _disable_platform,
    "deployment_inactive": _deactivate_deployment,
}


@pytest.mark.parametrize("code", sorted(SWITCH_OFF))
def test_a_token_issued_before_the_switch_off_no_longer_reads_or_writes(
    flow: Flow, app: Flask, code: str
) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    page = flow.client.get("/lti/map", query_string={"lt": token}, base_url=TOOL)
    assert page.status_code == 200  # works before the switch-off
    before = verbs(app)

    SWITCH_OFF[code](app, flow)

    page = flow.client.get("/lti/map", query_string={"lt": token, "lang": "en"}, base_url=TOOL)
    assert page.status_code == 403
    assert f"<code>{code}</code>" in page.get_data(as_text=True)
    assert "Ask your LMS administrator" in page.get_data(as_text=True)
    write = flow.client.post(
        "/lti/module/progress", data={"lt": token, "percent": "80"}, base_url=TOOL
    )
    assert write.status_code == 403
    assert verbs(app) == before  # nothing recorded for the refused write
    api = flow.client.get("/api/v1/me/attainment", headers={"Authorization": f"Bearer lt.{token}"})
    assert api.status_code == 401
    assert api.get_json()["error"]["code"] == code
    assert 'error="invalid_token"' in api.headers["WWW-Authenticate"]


def test_the_refusal_is_in_the_launch_language(flow: Flow, app: Flask) -> None:
    token = token_of(launch(flow, link="rl-1", module_key=C4_T5))
    _disable_platform(app, flow)
    page = flow.client.get("/lti/map", query_string={"lt": token}, base_url=TOOL)
    assert page.status_code == 403
    assert "已停用" in page.get_data(as_text=True)
