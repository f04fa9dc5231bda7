"""The learners' attempts on a SCORM module's designer page: who (as the heat map names them),
which version, when, status and score; shown to staff of the module's organisation only, and
never of learners the viewer does not reach."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin.competencies.framework import get_framework
from plugin.competencies.modules import create_module
from plugin.organisations.services import default_organisation
from tests.content.packages import scorm12
from tests.support.app import IRI_BASE
from tests.support.designer import Tool, text, token_of
from tests.support.flows import Flow, register
from tests.support.platform import LTI, ROLE, TestPlatform, running_platform
from tests.support.scorm import add_package, send
from tests.support.tenants import register_in


def scorm_module(app: Flask, tmp_path: Path, *, national: bool = False) -> str:
    """A SCORM 1.2 module (mastery by the SCO) of the default organisation or the national
    catalog; its key."""
    with app.extensions["plugin.db"].session_scope() as session:
        framework = get_framework(session)
        assert framework is not None
        owner = None if national else default_organisation(session).id
        data = {"title_zh": "套件單元", "title_en": "Package module", "hours": "1"}
        key = create_module(session, data, framework, IRI_BASE, organisation_id=owner).key
    add_package(app, key, scorm12(tmp_path / f"{key}.zip"))
    return key


def play(flow: Flow, key: str, sub: str, name: str) -> str:
    """Launch ``key`` as learner ``sub`` called ``name``; the player's runtime token."""
    response = flow.complete(**{
        LTI + "resource_link": {"id": f"rl-{key}", "title": "活動"},
        LTI + "roles": [ROLE + "Learner"],
        LTI + "custom": {"module_key": key},
        "sub": sub, "name": name,
    })  # fmt: skip
    landed = flow.land(response)
    match = re.fullmatch(r"/scorm/([^/]+)/play", landed.headers.get("Location", ""))
    assert match, landed.get_data(as_text=True)
    return match.group(1)


def staff(flow: Flow, sub: str, role: str = "Instructor") -> Tool:
    """A staff launch in English."""
    response = flow.complete(**{LTI + "roles": [ROLE + role], "sub": sub, "locale": "en"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return Tool(flow.client, token_of(response))


def attempts_table(page: str) -> str:
    """The attempts table of the page ("" when it has none)."""
    found = re.search(r'<table class="table" id="attempts">.*?</table>', page, re.S)
    return found.group(0) if found else ""


def cells(table: str) -> list[list[str]]:
    """The body rows of ``table``, each cell's text."""
    body = table.split("<tbody>", 1)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [
            re.sub(r"<[^>]+>|\s+", " ", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in rows
    ]


def played(flow: Flow, tool: FlaskClient, key: str) -> None:
    """王小明 passes with 90; 李大華 is part-way through."""
    passed = play(flow, key, "learner-wang", "王小明")
    done = {"cmi.core.lesson_status": "passed", "cmi.core.exit": "", "cmi.core.score.raw": "90"}
    send(tool, passed, {"sco": "item-1", "seq": 1, "final": True, "cmi": done})
    going = play(flow, key, "learner-li", "李大華")
    send(tool, going, {"sco": "item-1", "seq": 1, "cmi": {"cmi.core.lesson_status": "incomplete"}})


def test_the_designer_sees_each_learners_attempt_with_version_status_and_score(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    key = scorm_module(app, tmp_path)
    played(flow, tool, key)
    designer = staff(flow, "designer-1")

    page = text(designer.get(f"/designer/modules/{key}/package"))

    rows = cells(attempts_table(page))
    assert len(rows) == 2
    newest, oldest = rows  # newest first
    assert re.fullmatch(r"李大華 \(.+ learner #\d+\)", newest[0])
    assert newest[1] == "1" and newest[3] == "in progress" and newest[5] == ""
    assert re.fullmatch(r"王小明 \(.+ learner #\d+\)", oldest[0])
    assert oldest[1:2] == ["1"] and oldest[3:5] == ["passed", "90%"]
    assert oldest[2].endswith("UTC") and oldest[5].endswith("UTC")


def test_a_module_no_learner_started_says_so(flow: Flow, app: Flask, tmp_path: Path) -> None:
    key = scorm_module(app, tmp_path)

    page = text(staff(flow, "designer-1").get(f"/designer/modules/{key}/package"))

    assert attempts_table(page) == "" and "No learner has started this module yet." in page


@pytest.fixture
def east(app: Flask, platform: TestPlatform) -> Iterator[Flow]:
    """Another organisation on the same issuer (the Canvas cloud case), its own client."""
    with running_platform(
        key_slot=3, issuer=platform.issuer, client_id="east-client", deployment_id="e-dep"
    ) as other:
        register_in(app, other, "east")
        yield Flow(app.test_client(), other)


def test_another_organisations_staff_see_no_attempt_and_no_name(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path, east: Flow
) -> None:
    own, national = scorm_module(app, tmp_path), scorm_module(app, tmp_path, national=True)
    played(flow, tool, own)
    played(flow, tool, national)
    answers: list[Any] = []
    for role in ("Instructor", "Administrator"):
        intruder = staff(east, f"east-{role.lower()}", role)
        answers += [intruder.get(f"/designer/modules/{key}/package") for key in (own, national)]

    assert [answer.status_code for answer in answers] == [404, 200, 404, 200]
    for answer in answers:
        page = text(answer)
        assert "王小明" not in page and "李大華" not in page and attempts_table(page) == ""


def test_the_national_catalogs_attempts_are_shown_to_no_organisations_staff(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    key = scorm_module(app, tmp_path, national=True)
    played(flow, tool, key)

    page = text(staff(flow, "designer-1").get(f"/designer/modules/{key}/package"))

    assert "王小明" not in page and "Learners' attempts" not in page


def test_a_designer_of_another_registration_sees_none_of_this_ones_learners(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    key = scorm_module(app, tmp_path)
    played(flow, tool, key)
    with running_platform(key_slot=1, issuer="https://other.example.edu", client_id="o",
                          deployment_id="o-dep") as other:  # fmt: skip
        register(app, other)  # a second registration of the same (default) organisation
        page = text(
            staff(Flow(app.test_client(), other), "other-designer").get(
                f"/designer/modules/{key}/package"
            )
        )

    assert "Learners' attempts" in page and attempts_table(page) == ""
    assert "王小明" not in page and "李大華" not in page


def test_a_chinese_launch_reads_the_attempts_in_chinese(
    flow: Flow, tool: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    key = scorm_module(app, tmp_path)
    played(flow, tool, key)
    response = flow.complete(**{LTI + "roles": [ROLE + "Instructor"], "sub": "designer-zh"})
    designer = Tool(flow.client, token_of(response))

    page = text(designer.get(f"/designer/modules/{key}/package"))

    assert "學員的學習紀錄" in page
    statuses = [row[3] for row in cells(attempts_table(page))]
    assert statuses == ["進行中", "通過"]
