"""``flask --app plugin token create|list|revoke``: the token is printed once and works."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient


def _create(app: Flask, *args: str) -> tuple[int, str, str]:
    result = app.test_cli_runner().invoke(args=["token", "create", *args])
    return result.exit_code, result.stdout, result.output


def test_token_create_prints_a_working_token_once_and_list_never_shows_it(
    app: Flask, client: FlaskClient
) -> None:
    code, stdout, _output = _create(
        app, "--name", "HR 報表", "--scope", "read:persons", "--scope", "read:attainment"
    )
    assert code == 0, stdout
    token = stdout.strip().splitlines()[-1]
    assert token.startswith("dct.")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/persons", headers=headers).status_code == 200
    assert client.get("/api/v1/frameworks", headers=headers).status_code == 403
    listing = app.test_cli_runner().invoke(args=["token", "list"])
    assert listing.exit_code == 0
    assert "HR 報表" in listing.output and "read:persons read:attainment" in listing.output
    assert token not in listing.output
    assert token.rsplit(".", 1)[0] in listing.output  # the public prefix identifies it
    assert "active" in listing.output


def test_token_revoke_stops_the_token(app: Flask, client: FlaskClient) -> None:
    _code, stdout, _output = _create(app, "--name", "ci", "--scope", "read:modules")
    token = stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/modules", headers=headers).status_code == 200
    token_id = app.test_cli_runner().invoke(args=["token", "list"]).output.split("\t", 1)[0]
    revoked = app.test_cli_runner().invoke(args=["token", "revoke", token_id])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert client.get("/api/v1/modules", headers=headers).status_code == 401
    assert "revoked" in app.test_cli_runner().invoke(args=["token", "list"]).output


def test_token_create_refuses_unknown_scopes_and_missing_names(app: Flask) -> None:
    code, _stdout, output = _create(app, "--name", "x", "--scope", "write:everything")
    assert code != 0 and "write:everything" in output
    code, _stdout, output = _create(app, "--scope", "read:modules")
    assert code != 0 and "--name" in output
    code, _stdout, output = _create(app, "--name", "   ", "--scope", "read:modules")
    assert code != 0 and "name" in output
    code, _stdout, output = _create(app, "--name", "x")
    assert code != 0 and "--scope" in output


def test_token_revoke_of_an_unknown_id_fails_naming_it(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["token", "revoke", "4242"])
    assert result.exit_code != 0 and "4242" in result.output


def test_token_revoke_refuses_an_id_not_in_ascii_digits(app: Flask) -> None:
    # click's own int type read full-width "１" as token 1.
    for raw in ("１", "²", "1_0"):
        result = app.test_cli_runner().invoke(args=["token", "revoke", raw])
        assert result.exit_code == 2, result.output
        assert "digits 0-9" in result.output and "TOKEN_ID" in result.output
