"""``flask --app plugin platform …``: manual registration, listing and disabling."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from plugin.lti.models import Registration
from tests.support.platform_cli import ADD, ISSUER


def _option(args: list[str], name: str, value: str) -> list[str]:
    changed = list(args)
    changed[changed.index(name) + 1] = value
    return changed


def test_platform_add_with_every_flag_then_list_shows_it_with_active_deployments(
    app: Flask,
) -> None:
    runner = app.test_cli_runner()
    added = runner.invoke(args=ADD)
    assert added.exit_code == 0, added.output
    assert "moodle-client-7" in added.output and "3,4" in added.output

    listing = runner.invoke(args=["platform", "list"])

    assert listing.exit_code == 0, listing.output
    assert f"{ISSUER}  client_id=moodle-client-7  enabled  (公務園 Moodle)" in listing.output
    assert "deployment 3: active" in listing.output
    assert "deployment 4: active" in listing.output
    with app.extensions["plugin.db"].session_scope() as session:
        row = session.scalars(select(Registration)).one()
        assert row.auth_audience == ISSUER + "/token-audience"
        assert row.key_set_url == ISSUER + "/mod/lti/certs.php"
        assert row.origin == "manual"


def test_platform_add_twice_updates_the_registration(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=ADD).exit_code == 0
    again = runner.invoke(args=_option(ADD, "--name", "Moodle 4.4"))
    assert again.exit_code == 0, again.output
    with app.extensions["plugin.db"].session_scope() as session:
        assert [r.name for r in session.scalars(select(Registration))] == ["Moodle 4.4"]


@pytest.mark.parametrize(
    ("flag", "field"),
    [
        ("--auth-login-url", "auth_login_url"),
        ("--auth-token-url", "auth_token_url"),
        ("--key-set-url", "key_set_url"),
        ("--issuer", "issuer"),
    ],
)
def test_platform_add_with_a_non_url_fails_naming_the_field(
    flag: str, field: str, app: Flask
) -> None:
    result = app.test_cli_runner().invoke(args=_option(ADD, flag, "not a url"))
    assert result.exit_code != 0
    assert field in result.output and "http(s) URL" in result.output
    with app.extensions["plugin.db"].session_scope() as session:
        assert session.scalars(select(Registration)).all() == []


def test_platform_add_with_an_empty_client_id_fails_naming_it(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=_option(ADD, "--client-id", " "))
    assert result.exit_code != 0
    assert "client_id" in result.output


def test_platform_add_without_a_required_flag_fails(app: Flask) -> None:
    args = [a for a in ADD]
    index = args.index("--key-set-url")
    del args[index : index + 2]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert "--key-set-url" in result.output


def test_platform_disable_marks_it_disabled_in_the_list(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=ADD).exit_code == 0
    disabled = runner.invoke(args=["platform", "disable", "--issuer", ISSUER])
    assert disabled.exit_code == 0, disabled.output
    assert "disabled 1 registration(s)" in disabled.output
    listing = runner.invoke(args=["platform", "list"])
    assert "client_id=moodle-client-7  disabled" in listing.output


def test_platform_disable_of_an_unknown_issuer_fails(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["platform", "disable", "--issuer", "https://nobody.example"]
    )
    assert result.exit_code != 0
    assert "https://nobody.example" in result.output


def test_platform_list_when_empty(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["platform", "list"])
    assert result.exit_code == 0 and "no platforms registered" in result.output


def test_platform_add_with_frame_origins_lists_where_the_platform_may_frame_the_tool(
    app: Flask,
) -> None:
    runner = app.test_cli_runner()
    school = "https://school.instructure.example"
    added = runner.invoke(args=[*ADD, "--frame-origin", school, "--frame-origin", school + ":8443"])
    assert added.exit_code == 0, added.output

    listing = runner.invoke(args=["platform", "list"])

    assert f"frames the tool from: {ISSUER} {school} {school}:8443" in listing.output


def test_platform_add_with_a_frame_origin_that_has_a_path_is_refused_naming_the_option(
    app: Flask,
) -> None:
    runner = app.test_cli_runner()
    added = runner.invoke(args=[*ADD, "--frame-origin", "https://school.example/courses"])
    assert added.exit_code != 0
    assert "frame_origins" in added.output and "https://school.example/courses" in added.output
    with app.extensions["plugin.db"].session_scope() as session:
        assert session.scalars(select(Registration)).first() is None
