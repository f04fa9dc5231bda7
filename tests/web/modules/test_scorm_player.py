"""The SCORM player through real launches: the learner's launch opens the player without its
launch token, commits are checked, ordered and idempotent, relaunching resumes, and a runtime
token reaches its own attempt only."""

from __future__ import annotations

from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin.content.runtime_models import RuntimeAttempt, ScoState
from plugin.lti.models import GradeOutbox
from plugin.web.player import PACKAGE_POLICY
from plugin.xapi.models import OutboxStatement
from tests.content.packages import scorm12, scorm2004, scorm2004_flow
from tests.support.flows import TOOL, Flow
from tests.support.modules import launch, token_of
from tests.support.scorm import (
    add_package,
    open_player,
    player,
    send,
    settings_of,
    states,
    tagged_module,
)


@pytest.fixture
def module_key(app: Flask) -> str:
    """A page module of the default organisation, to attach packages to."""
    return tagged_module(app, [])[0]


@pytest.fixture
def scorm_key(app: Flask, module_key: str, tmp_path: Path) -> str:
    """A SCORM 1.2 module of the default organisation."""
    add_package(app, module_key, scorm12(tmp_path / "course.zip"))
    return module_key


def test_a_learners_launch_opens_the_player_with_a_runtime_token_and_no_launch_token(
    flow: Flow, scorm_key: str, tool: FlaskClient
) -> None:
    response = launch(flow, link="rl-1", module_key=scorm_key)
    launch_token = token_of(response)
    runtime = open_player(flow, scorm_key)
    page = player(tool, runtime)
    html = page.get_data(as_text=True)

    assert launch_token not in html and "lt=" not in html
    assert f'data-src="/scorm/{runtime}/files/index.html?lang=zh"' in html
    assert "/vendor/scorm-again/scorm12.min.js" in html and "js/scorm-player.js" in html
    settings = settings_of(page)
    assert settings["version"] == "1.2" and settings["sco"] == "item-1"
    assert settings["cmi"]["core"]["entry"] == "ab-initio"
    assert settings["cmi"]["launch_data"] == "mode=review"
    # The manifest's masteryscore, maxtimeallowed and timelimitaction (tests/content/packages).
    assert settings["cmi"]["student_data"] == {
        "mastery_score": "80",
        "max_time_allowed": "0000:30:00",
        "time_limit_action": "exit,message",
    }
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]  # the tool's own


def test_package_files_run_under_the_packages_policy_for_the_attempts_version_only(
    flow: Flow, scorm_key: str, tool: FlaskClient
) -> None:
    runtime = open_player(flow, scorm_key)
    sco = tool.get(f"/scorm/{runtime}/files/index.html", base_url=TOOL)
    assert sco.status_code == 200 and b"LMSInitialize" in sco.data
    policy = sco.headers["Content-Security-Policy"]
    assert policy.startswith(PACKAGE_POLICY + "; frame-ancestors 'self' ")
    assert "https://lms.example.edu" in policy  # the platform frames the player, the player it
    sco.close()
    assert "'unsafe-inline'" in PACKAGE_POLICY and "script-src 'none'" not in PACKAGE_POLICY
    assert tool.get(f"/scorm/{runtime}/files/../../x", base_url=TOOL).status_code == 404
    assert tool.get("/scorm/forged/files/index.html", base_url=TOOL).status_code == 404


def test_a_commit_is_stored_and_a_relaunch_resumes_at_the_bookmark(
    flow: Flow, scorm_key: str, tool: FlaskClient, app: Flask
) -> None:
    runtime = open_player(flow, scorm_key)
    cmi = {
        "cmi.core.lesson_location": "page-3",
        "cmi.suspend_data": "seen=1,2,3",
        "cmi.core.lesson_status": "incomplete",
        "cmi.core.exit": "suspend",
        "cmi.core.score.raw": "40",
        "cmi.core.session_time": "0000:02:30",
        "cmi.interactions.0.id": "q1",
        "cmi.interactions.0.type": "choice",
        "cmi.interactions.0.student_response": "b",
        "cmi.core.student_id": "ignored, read-only",
    }
    answer = send(tool, runtime, {"sco": "item-1", "seq": 1, "cmi": cmi})
    assert answer.status_code == 200 and answer.json == {
        "result": True,
        "errorCode": 0,
        "stored": True,
    }

    again = open_player(flow, scorm_key)
    settings = settings_of(player(tool, again))
    assert settings["cmi"]["core"]["entry"] == "resume"
    assert settings["cmi"]["core"]["lesson_location"] == "page-3"
    assert settings["cmi"]["suspend_data"] == "seen=1,2,3"
    assert settings["seq"] == 1
    with app.extensions["plugin.db"].session_scope() as session:
        state = session.scalars(select(ScoState)).one()
        assert state.interactions == [{"id": "q1", "type": "choice", "student_response": "b"}]
        assert state.score_raw == 40.0 and state.session_time == "0000:02:30"
        assert len(list(session.scalars(select(RuntimeAttempt)))) == 1


def test_a_late_or_repeated_commit_never_overwrites_newer_data(
    flow: Flow, scorm_key: str, tool: FlaskClient, app: Flask
) -> None:
    runtime = open_player(flow, scorm_key)
    newer = {"cmi.core.lesson_location": "page-5"}
    older = {"cmi.core.lesson_location": "page-2"}
    assert send(tool, runtime, {"sco": "item-1", "seq": 2, "cmi": newer}).json["stored"] is True
    late = send(tool, runtime, {"sco": "item-1", "seq": 1, "cmi": older})
    repeated = send(tool, runtime, {"sco": "item-1", "seq": 2, "cmi": older})

    assert late.json == repeated.json == {"result": True, "errorCode": 0, "stored": False}
    assert [(seq, where) for _reg, seq, where, _status in states(app)] == [(2, "page-5")]


@pytest.mark.parametrize(
    ("element", "value"),
    [
        ("cmi.core.lesson_status", "done"),
        ("cmi.core.exit", "normal"),  # a 2004 value, not 1.2's
        ("cmi.core.score.raw", "101"),
        ("cmi.core.score.min", "ten"),
        ("cmi.core.lesson_location", "x" * 256),
        ("cmi.suspend_data", "x" * 4097),
        ("cmi.core.session_time", "PT1M"),
        ("cmi.interactions.0.type", "essay"),
        ("cmi.interactions.0.id", {"nested": "object"}),
    ],
)
def test_a_value_the_data_model_refuses_is_named_and_nothing_is_stored(
    flow: Flow, scorm_key: str, tool: FlaskClient, app: Flask, element: str, value: object
) -> None:
    runtime = open_player(flow, scorm_key)
    cmi = {"cmi.core.lesson_location": "page-1", element: value}
    answer = send(tool, runtime, {"sco": "item-1", "seq": 1, "cmi": cmi})

    assert answer.status_code == 400
    assert answer.json["result"] is False and answer.json["field"] == element
    assert element in answer.json["message"]
    assert states(app) == []


def test_a_refusal_speaks_the_learners_language(
    flow: Flow, scorm_key: str, tool: FlaskClient
) -> None:
    runtime = open_player(flow, scorm_key)
    cmi = {"cmi.core.lesson_status": "done"}
    answer = send(tool, runtime, {"sco": "item-1", "seq": 1, "cmi": cmi})
    assert answer.json["message"] == "cmi.core.lesson_status：資料模型不接受這個值。"


def test_the_page_hide_commit_carries_its_token_in_the_body(
    flow: Flow, scorm_key: str, tool: FlaskClient, app: Flask
) -> None:
    runtime = open_player(flow, scorm_key)
    body = {"sco": "item-1", "seq": 1, "token": runtime, "cmi": {"cmi.core.lesson_location": "p9"}}
    # A beacon: text/plain, no header of its own.
    answer = send(tool, None, body, content_type="text/plain;charset=UTF-8")
    assert answer.status_code == 200 and answer.json["stored"] is True
    assert [where for _reg, _seq, where, _status in states(app)] == ["p9"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sco": "nope", "seq": 1, "cmi": {}}, "sco"),
        ({"sco": "item-1", "seq": 0, "cmi": {}}, "seq"),
        ({"sco": "item-1", "seq": "1", "cmi": {}}, "seq"),
        ({"sco": "item-1", "seq": 1, "cmi": ["x"]}, "cmi"),
    ],
)
def test_a_commit_without_its_sco_sequence_or_data_is_refused(
    flow: Flow, scorm_key: str, tool: FlaskClient, body: dict[str, Any], field: str
) -> None:
    runtime = open_player(flow, scorm_key)
    answer = send(tool, runtime, body)
    assert answer.status_code == 400 and answer.json["field"] == field


def test_a_runtime_token_reaches_its_own_attempt_and_acts_as_no_launch(
    flow: Flow, scorm_key: str, tool: FlaskClient, app: Flask
) -> None:
    mine = open_player(flow, scorm_key, sub="learner-a")
    theirs = open_player(flow, scorm_key, sub="learner-b")
    send(tool, theirs, {"sco": "item-1", "seq": 1, "cmi": {"cmi.core.lesson_location": "b-1"}})

    # Whatever the body names, A's token writes A's attempt only; B's data stays as it was.
    attack = {"sco": "item-1", "seq": 9, "cmi": {"cmi.core.lesson_location": "hacked"}}
    attack["attempt"] = theirs  # type: ignore[assignment]
    attack["token"] = theirs  # the header wins: the body's token is for beacons only
    assert send(tool, mine, attack).json["stored"] is True
    by_attempt = {reg: where for reg, _seq, where, _status in states(app)}
    assert sorted(by_attempt.values()) == ["b-1", "hacked"]
    assert settings_of(player(tool, theirs))["cmi"]["core"]["lesson_location"] == "b-1"

    # Neither a page nor a form of the tool takes a runtime token as a launch.
    assert tool.get("/lti/module", query_string={"lt": mine}, base_url=TOOL).status_code == 401
    assert tool.get("/lti/map", query_string={"lt": mine}, base_url=TOOL).status_code == 401
    # Nor does the player take a launch token as a runtime token.
    launch_token = token_of(launch(flow, link="rl-x", module_key=scorm_key, sub="learner-a"))
    assert player(tool, launch_token).status_code == 404
    forged = send(tool, launch_token, {"sco": "item-1", "seq": 1, "cmi": {}})
    assert forged.status_code == 401 and forged.json["field"] == "token"


def test_a_finished_attempt_starts_a_new_one_on_the_newest_version(
    flow: Flow, scorm_key: str, tool: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    first = open_player(flow, scorm_key)
    add_package(app, scorm_key, scorm12(tmp_path / "v2.zip", title="Version two"))
    # An attempt in progress stays on the version it started on.
    resumed = open_player(flow, scorm_key)
    assert "Version two" not in player(tool, resumed).get_data(as_text=True)

    done = {"cmi.core.lesson_status": "passed", "cmi.core.exit": "", "cmi.core.score.raw": "90"}
    send(tool, first, {"sco": "item-1", "seq": 1, "final": True, "cmi": done})

    fresh = open_player(flow, scorm_key)
    page = player(tool, fresh)
    assert "Version two" in page.get_data(as_text=True)
    assert settings_of(page)["cmi"]["core"]["entry"] == "ab-initio"
    with app.extensions["plugin.db"].session_scope() as session:
        attempts = list(session.scalars(select(RuntimeAttempt).order_by(RuntimeAttempt.id)))
        assert [a.finished_at is not None for a in attempts] == [True, False]
        assert attempts[0].version_id != attempts[1].version_id


def test_a_multi_sco_package_has_a_table_of_contents_and_finishes_when_every_sco_has(
    flow: Flow, module_key: str, tool: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    add_package(app, module_key, scorm2004(tmp_path / "multi.zip"))
    runtime = open_player(flow, module_key)
    page = player(tool, runtime)
    html = unescape(page.get_data(as_text=True))
    assert f"/scorm/{runtime}/play?sco=a" in html and f"/scorm/{runtime}/play?sco=b" in html
    assert "/vendor/scorm-again/scorm2004.min.js" in html
    settings = settings_of(page)
    assert settings["version"] == "2004" and settings["sco"] == "a"
    assert (
        settings["cmi"]["entry"] == "ab-initio" and settings["cmi"]["scaled_passing_score"] == "0.7"
    )
    # Item a's limitConditions and timeLimitAction; item b states none, so gets none.
    assert (settings["cmi"]["max_time_allowed"], settings["cmi"]["time_limit_action"]) == (
        "PT45M",
        "continue,no message",
    )
    second = settings_of(player(tool, runtime, sco="b"))
    assert second["sco"] == "b"
    assert "max_time_allowed" not in second["cmi"] and "time_limit_action" not in second["cmi"]

    done = {
        "cmi.completion_status": "completed",
        "cmi.success_status": "passed",
        "cmi.score.scaled": "0.9",
        "cmi.exit": "normal",
        "cmi.session_time": "PT2M5.5S",
    }
    send(tool, runtime, {"sco": "a", "seq": 1, "final": True, "cmi": done})
    with app.extensions["plugin.db"].session_scope() as session:
        assert session.scalars(select(RuntimeAttempt)).one().finished_at is None  # b remains
    send(tool, runtime, {"sco": "b", "seq": 1, "final": True, "cmi": done})
    with app.extensions["plugin.db"].session_scope() as session:
        assert session.scalars(select(RuntimeAttempt)).one().finished_at is not None
    bad = send(tool, runtime, {"sco": "a", "seq": 2, "cmi": {"cmi.score.scaled": "1.5"}})
    assert bad.status_code == 400 and bad.json["field"] == "cmi.score.scaled"


def test_a_finished_multi_sco_attempt_rolls_up_to_the_module_as_statements_and_a_grade(
    flow: Flow, module_key: str, tool: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    add_package(app, module_key, scorm2004(tmp_path / "multi.zip"))  # mastery score 0.7
    runtime = open_player(flow, module_key)
    ended = {"cmi.completion_status": "completed", "cmi.exit": "normal"}
    send(tool, runtime, {"sco": "a", "seq": 1, "final": True,
                         "cmi": {**ended, "cmi.score.scaled": "0.9"}})  # fmt: skip
    with app.extensions["plugin.db"].session_scope() as session:
        assert list(session.scalars(select(GradeOutbox))) == []  # one SCO of two: no result yet
    send(tool, runtime, {"sco": "b", "seq": 1, "final": True,
                         "cmi": {**ended, "cmi.score.scaled": "0.6"}})  # fmt: skip

    with app.extensions["plugin.db"].session_scope() as session:
        grade = session.scalars(select(GradeOutbox)).one()
        assert grade.resource_id == module_key
        assert grade.score["scoreGiven"] == 75.0  # the mean of 0.9 and 0.6, both SCOs counted
        statements = [row.statement for row in session.scalars(select(OutboxStatement))]
    verbs = [s["verb"]["id"].rsplit("/", 1)[-1] for s in statements]
    assert verbs[-3:] == ["completed", "passed", "terminated"]  # 0.75 >= 0.7
    passed = statements[-2]
    assert passed["result"]["score"]["scaled"] == 0.75
    registrations = {s["context"]["registration"] for s in statements}
    assert len(registrations) == 1


def test_a_mastery_score_the_mean_misses_fails_the_module(
    flow: Flow, module_key: str, tool: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    add_package(app, module_key, scorm2004(tmp_path / "multi.zip"))
    runtime = open_player(flow, module_key)
    for sco, scaled in (("a", "1"), ("b", "0.2")):
        cmi = {"cmi.completion_status": "completed", "cmi.success_status": "passed",
               "cmi.exit": "", "cmi.score.scaled": scaled}  # fmt: skip
        send(tool, runtime, {"sco": sco, "seq": 1, "final": True, "cmi": cmi})
    with app.extensions["plugin.db"].session_scope() as session:
        verbs = [row.statement["verb"]["id"] for row in session.scalars(select(OutboxStatement))]
        assert session.scalars(select(GradeOutbox)).one().score["scoreGiven"] == 60.0
    assert any(verb.endswith("/failed") for verb in verbs)


def test_a_designers_launch_keeps_the_module_page_and_opens_no_attempt(
    flow: Flow, scorm_key: str, app: Flask
) -> None:
    response = launch(flow, link="rl-staff", module_key=scorm_key, role="Instructor", sub="d-1")
    page = flow.land(response)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "/scorm/" not in html
    assert f"/designer/modules/{scorm_key}/edit" in html  # the staff bar
    with app.extensions["plugin.db"].session_scope() as session:
        assert list(session.scalars(select(RuntimeAttempt))) == []


def navigate(client: FlaskClient, runtime: str, **query: str) -> TestResponse:
    """GET the player's navigation endpoint, as its buttons and scorm-player.js do."""
    return client.get(f"/scorm/{runtime}/navigate", query_string=query, base_url=TOOL)


def test_flow_shows_previous_and_continue_and_continue_delivers_the_next_sco(
    flow: Flow, module_key: str, tool: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    add_package(app, module_key, scorm2004_flow(tmp_path / "flow.zip"))
    runtime = open_player(flow, module_key)
    page = player(tool, runtime)
    html = unescape(page.get_data(as_text=True))

    assert f"/scorm/{runtime}/navigate?request=continue&from=one" in html
    assert '<button type="button" class="button--secondary" id="scorm-previous" disabled>' in html
    assert 'class="player__toc"' in html
    assert settings_of(page)["nav"]["requestValid"]["continue"] == "true"
    assert settings_of(page)["nav"]["requestValid"]["previous"] == "false"
    moved = navigate(tool, runtime, request="continue", **{"from": "one"})
    assert moved.status_code == 303
    assert moved.headers["Location"] == f"/scorm/{runtime}/play?sco=two"
    back = navigate(tool, runtime, request="previous", **{"from": "two"})
    assert back.headers["Location"] == f"/scorm/{runtime}/play?sco=one"


def test_without_flow_or_choice_the_player_shows_no_buttons_and_no_contents(
    flow: Flow, module_key: str, tool: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    package = scorm2004_flow(tmp_path / "p.zip", organization_mode='choice="false"')
    add_package(app, module_key, package)
    runtime = open_player(flow, module_key)
    html = player(tool, runtime).get_data(as_text=True)

    assert "scorm-continue" not in html and "scorm-previous" not in html
    assert 'class="player__toc"' not in html


def test_hide_lms_ui_removes_the_continue_button_only(
    flow: Flow, module_key: str, tool: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    add_package(app, module_key, scorm2004_flow(tmp_path / "p.zip", hide=("continue",)))
    runtime = open_player(flow, module_key)
    html = player(tool, runtime).get_data(as_text=True)

    assert "scorm-continue" not in html and "scorm-previous" in html


def test_an_item_the_version_lacks_is_refused_naming_the_field_in_the_learners_language(
    flow: Flow, module_key: str, tool: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    add_package(app, module_key, scorm2004_flow(tmp_path / "p.zip"))
    runtime = open_player(flow, module_key)

    unknown = player(tool, runtime, sco="not-an-item")
    assert unknown.status_code == 404 and "問題所在欄位：sco<" in unknown.get_data(as_text=True)
    for query, field in [
        ({"request": "choice", "from": "one", "target": "not-an-item"}, "target"),
        ({"request": "continue", "from": "not-an-item"}, "from"),
        ({"request": "leap", "from": "one"}, "request"),
        ({"request": "continue", "from": "three"}, "request"),
    ]:
        refused = navigate(tool, runtime, **query)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 400, (query, html)
        assert "<code>navigation_refused</code>" in html and f"問題所在欄位：{field}<" in html
    assert "這個 SCORM 套件沒有這個項目。" in navigate(
        tool, runtime, request="choice", target="x", **{"from": "one"}
    ).get_data(as_text=True)


def test_suspend_all_ends_the_delivery_and_exit_leaves_the_contents_to_choose_from(
    flow: Flow, module_key: str, tool: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    add_package(app, module_key, scorm2004_flow(tmp_path / "p.zip"))
    runtime = open_player(flow, module_key)

    ended = navigate(tool, runtime, request="suspendAll", **{"from": "two"})
    assert ended.status_code == 200 and 'id="scorm-ended"' in ended.get_data(as_text=True)
    assert "scorm-frame" not in ended.get_data(as_text=True)
    assert 'class="player__toc"' not in ended.get_data(as_text=True)
    exited = unescape(navigate(tool, runtime, request="exit", **{"from": "two"}).get_data(True))
    # exit leaves the item only: the contents stay for the learner's next choice
    assert f"/scorm/{runtime}/play?sco=three" in exited and "scorm-frame" not in exited
