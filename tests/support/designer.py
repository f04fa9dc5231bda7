"""A course designer's launches into the tool (resource link and deep linking) as the pages
see them, the module editor's form, and reading the catalog: what the designer page tests share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from plugin.competencies.models import Module
from tests.support.flows import TOOL, Flow
from tests.support.platform import LTI, ROLE

SEED_MODULE = "tw-civil-service-dc.C4-T1"  # 生成式AI概論: DC3-K2, DC5-K1, AT4


@dataclass
class Tool:
    """The tool as one launch's iframe sees it: every request carries its launch token."""

    client: FlaskClient
    token: str

    def get(self, path: str, **params: Any) -> TestResponse:
        """GET ``path`` with the launch token."""
        return self.client.get(path, query_string={"lt": self.token, **params}, base_url=TOOL)

    def post(self, path: str, data: dict[str, Any]) -> TestResponse:
        """POST a form with the launch token, as the page's forms do."""
        return self.client.post(path, data={"lt": self.token, **data}, base_url=TOOL)

    def follow(self, response: TestResponse) -> TestResponse:
        """Follow a 303 (its Location carries the token already)."""
        assert response.status_code == 303, response.get_data(as_text=True)
        return self.client.get(response.headers["Location"], base_url=TOOL)


def token_of(response: TestResponse) -> str:
    """The launch token of an accepted launch's redirect."""
    assert response.status_code == 303, response.get_data(as_text=True)
    return parse_qs(urlsplit(response.headers["Location"]).query)["lt"][0]


def resource_launch(flow: Flow, role: str) -> Tool:
    """A resource-link launch with one LIS role."""
    sub = f"{role.lower()}-001"
    response = flow.complete(**{LTI + "roles": [ROLE + role], "sub": sub})
    return Tool(flow.client, token_of(response))


def deep_linking_launch(flow: Flow, role: str = "Instructor", **claims: Any) -> Tool:
    """A deep-linking request launch; ``claims`` replace the platform's (None drops one)."""
    claims.setdefault(LTI + "roles", [ROLE + role])

    def make(nonce: str) -> str:
        return flow.platform.sign(flow.platform.deep_linking_claims(nonce, **claims))

    return Tool(flow.client, token_of(flow.complete_with(make)))


def module_form(**overrides: Any) -> dict[str, Any]:
    """The editor's fields for a module with one question (slots as the page offers them)."""
    data: dict[str, Any] = {
        "title_zh": "資料視覺化入門",
        "title_en": "Introduction to data visualisation",
        "description_zh": "選對圖表，標示來源。",
        "description_en": "Choose the right chart; cite the source.",
        "hours": "1.5",
        "content_markdown_zh": "# 重點\r\n\r\n- **標示來源**\r\n- [開放資料](https://data.gov.tw)",
        "content_markdown_en": "# Key ideas\r\n\r\n- **Cite the source**",
        "external_url": "https://data.gov.tw",
        "external_display": "embed",
        "mastery_score": "0.8",
        "item_count": "2",
        "item-0-prompt_zh": "比較各機關預算，哪種圖最合適？",
        "item-0-prompt_en": "Which chart compares agency budgets best?",
        "item-0-choice_count": "4",
        "item-0-choice-0-text_zh": "長條圖",
        "item-0-choice-0-text_en": "Bar chart",
        "item-0-choice-0-correct": "1",
        "item-0-choice-0-feedback_zh": "對，長條圖便於比較。",
        "item-0-choice-0-feedback_en": "Yes: bars compare well.",
        "item-0-choice-1-text_zh": "圓餅圖",
        "item-0-choice-1-text_en": "Pie chart",
        # Blank slots, as an untouched form posts them: left out.
        "item-0-choice-2-text_zh": "",
        "item-0-choice-3-text_en": "",
        "item-1-prompt_zh": "",
        "item-1-choice_count": "4",
        "action": "save",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def count_modules(app: Flask) -> int:
    """How many modules the catalog holds."""
    with app.extensions["plugin.db"].session_scope() as session:
        return session.scalar(select(func.count()).select_from(Module)) or 0


def copy_of(designer: Tool, key: str) -> str:
    """Copy the module ``key`` into the designer's organisation; the copy's key.

    The national catalog is read-only from a launch: designers change their own copies.
    """
    response = designer.post(f"/designer/modules/{key}/copy", {})
    assert response.status_code == 303, response.get_data(as_text=True)
    match = re.match(r"/designer/modules/([^/]+)/edit\?", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def text(response: TestResponse) -> str:
    """The page, HTML entities resolved."""
    return unescape(response.get_data(as_text=True))
