"""The test platform's people launched into a module of the tool (the flow of
tests.support.flows), and what the module recorded: the attempt's registration, the xAPI
statements in the outbox, a check form with every item right."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin import app_state
from plugin.competencies.modules import get_module
from plugin.lti.models import Launch
from plugin.lti.tokens import read_launch_token
from plugin.xapi.attempts import latest_attempt
from plugin.xapi.models import OutboxStatement
from tests.support.flows import Flow
from tests.support.platform import LTI, ROLE

AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
LINE_ITEM = "https://lms.example.edu/api/lineitems/7"
C4_T5 = "tw-civil-service-dc.C4-T5"  # a demo module with a three-item check, mastery 0.8


def statements(app: Flask) -> list[dict[str, Any]]:
    """The statements in the outbox of the first LRS target, oldest first."""
    with app.extensions["plugin.db"].session_scope() as session:
        targets = {row.target for row in session.scalars(select(OutboxStatement))}
        target = sorted(targets)[0] if targets else ""
        rows = session.scalars(
            select(OutboxStatement)
            .where(OutboxStatement.target == target)
            .order_by(OutboxStatement.id)
        )
        return [row.statement for row in rows]


def verbs(app: Flask) -> list[str]:
    """The last segment of each outbox statement's verb id, oldest first."""
    return [s["verb"]["id"].rsplit("/", 1)[1] for s in statements(app)]


def correct_answers(app: Flask, token: str) -> dict[str, object]:
    """C4-T5's check form for ``token`` with every item right."""
    with app.extensions["plugin.db"].session_scope() as session:
        module = get_module(session, C4_T5)
        data: dict[str, object] = {"lt": token, "attempt": registration_of(app, token, C4_T5)}
        for item in module.check_items:
            data[f"item_{item.id}"] = [c["key"] for c in item.choices if c["correct"]]
        return data


def launch(flow: Flow, *, link: str, module_key: str | None = None, role: str = "Learner",
           sub: str = "learner-001", grades: bool = True) -> TestResponse:  # fmt: skip
    """Launch resource link ``link`` (with a module_key custom parameter when given)."""
    overrides: dict[str, Any] = {
        LTI + "resource_link": {"id": link, "title": "活動"},
        LTI + "roles": [ROLE + role],
        "sub": sub,
    }
    if module_key:
        overrides[LTI + "custom"] = {"module_key": module_key}
    if grades:
        overrides[AGS] = {
            "scope": [
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            ],
            "lineitems": "https://lms.example.edu/api/lineitems",
            "lineitem": LINE_ITEM,
        }
    response = flow.complete(**overrides)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def token_of(response: TestResponse) -> str:
    """The launch token a launch redirected with."""
    return response.headers["Location"].split("lt=", 1)[1]


def registration_of(app: Flask, token: str, module_key: str) -> str:
    """The registration of the latest attempt of the token's person at ``module_key``: what the
    module page puts in its check form's ``attempt`` field."""
    launch_id = read_launch_token(app_state.settings(app).secret_key, token, 3600) or ""
    with app.extensions["plugin.db"].session_scope() as session:
        person = session.get_one(Launch, launch_id).person
        attempt = latest_attempt(session, person.issuer, person.sub, module_key)
        return attempt.registration if attempt is not None else ""


def module_input(**overrides: Any) -> dict[str, Any]:
    """A valid module form (one check item), with ``overrides``."""
    data: dict[str, Any] = {
        "title_zh": "資料視覺化入門",
        "title_en": "Introduction to data visualisation",
        "hours": 1.5,
        "content_markdown_zh": "# 重點\n\n- 選對圖表\n- **標示來源**",
        "content_markdown_en": "# Key ideas\n\n- Choose the chart\n- **Cite the source**",
        "mastery_score": 0.8,
        "check_items": [
            {
                "prompt_zh": "比較各機關預算，哪種圖最合適？",
                "prompt_en": "Which chart compares agency budgets best?",
                "choices": [
                    {"key": "a", "text_zh": "長條圖", "text_en": "Bar chart", "correct": True},
                    {"key": "b", "text_zh": "圓餅圖", "text_en": "Pie chart", "correct": False},
                ],
            }
        ],
    }
    data.update(overrides)
    return data
