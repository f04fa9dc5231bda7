"""Health, languages and the one error design."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin import create_app
from plugin.core.errors import InvalidInput
from plugin.core.version import tool_version
from tests.support.app import app_config


def test_healthz_reports_version_and_reachable_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "version": tool_version(),
        "database": {"reachable": True},
    }


def test_healthz_says_when_the_database_is_unreachable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'x.sqlite3'}"
    app = create_app(app_config(tmp_path, url))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == {"reachable": False}
    assert response.json["status"] == "degraded"


def test_pages_default_to_traditional_chinese(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-Hant-TW">' in page
    assert "數位職能學習工具" in page
    assert "資訊與資料素養" not in page  # the start page shows counts, not the tree
    assert "<td>16</td>" in page


def test_lang_argument_switches_to_english(client: FlaskClient) -> None:
    page = client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Digital competency learning tool" in page


def test_language_links_keep_the_other_query_arguments(client: FlaskClient) -> None:
    page = client.get("/framework?lang=en&x=1").get_data(as_text=True)
    assert 'href="/framework?x=1&amp;lang=zh_TW"' in page


def test_framework_page_shows_the_tree_in_both_languages(client: FlaskClient) -> None:
    zh = client.get("/framework").get_data(as_text=True)
    en = client.get("/framework?lang=en").get_data(as_text=True)
    assert "資訊與資料素養" in zh and "DC5-S3" in zh
    assert "https://w3id.org/tw-civil-service-dc/tw-civil-service-dc/DC1-K1" in zh
    assert "Information and data literacy" in en.replace(
        "Information and Data Literacy", "Information and data literacy"
    )


def test_unknown_page_gets_the_error_page_in_chinese(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "找不到此頁面" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"


def test_api_errors_are_json(client: FlaskClient) -> None:
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json == {"error": {"code": "not_found", "message": "找不到此頁面。"}}
    english = client.get("/api/no-such-thing?lang=en")
    assert english.json["error"]["message"] == "This page does not exist."


def test_plugin_errors_keep_their_status_code_and_field(app: Flask) -> None:
    @app.get("/api/probe")
    def probe() -> str:
        raise InvalidInput("score must be between 0 and 1", field="score")

    response = app.test_client().get("/api/probe")
    assert response.status_code == 400
    assert response.json == {
        "error": {
            "code": "invalid_input",
            "message": "score must be between 0 and 1",
            "field": "score",
        }
    }


def test_unhandled_error_is_a_500_page_without_details(
    tmp_path: Path, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    app.testing = False
    # The "plugin" logger is shared by every app: silence it for this test only.
    monkeypatch.setattr(app.logger, "disabled", True)
    response = app.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret detail" not in body
    assert "系統發生錯誤" in body
