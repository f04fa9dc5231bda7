"""Every kind of statement the tool emits is valid xAPI 1.0.3, by our rules and by Ralph's."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ralph.models.xapi.base.statements import BaseXapiStatement

from plugin.xapi.statements import (
    answered_result,
    build_statement,
    completed_result,
    format_timestamp,
    interaction_activity,
    judged_result,
    progress_result,
    terminated_result,
)
from plugin.xapi.validation import InvalidStatement, validate_statement
from plugin.xapi.vocabulary import COMPETENCY_TYPE, VERBS
from tests.support.statements import ANSWER, LEARNER, TAGS

MOMENT = datetime(2026, 11, 27, 10, 0, 0, 123000, tzinfo=UTC)
REGISTRATION = str(uuid.uuid4())


def every_kind(send_names: bool = False) -> dict[str, dict[str, Any]]:
    """One statement of each kind the tool emits."""
    duration = timedelta(minutes=3, seconds=2)
    build = {
        "launched": {},
        "initialized": {},
        "progressed": {"result": progress_result(40)},
        "answered": {
            "object_activity": interaction_activity(LEARNER, ANSWER),
            "result": answered_result(ANSWER),
        },
        "completed": {"result": completed_result(duration)},
        "passed": {"result": judged_result(True, 0.8, 4, 5, duration)},
        "failed": {"result": judged_result(False, 0.4, 2, 5, duration)},
        "terminated": {"result": terminated_result(duration)},
    }
    return {
        verb: build_statement(
            verb, LEARNER, REGISTRATION, moment=MOMENT, send_names=send_names, **kwargs
        )
        for verb, kwargs in build.items()
    }


KINDS = list(every_kind())


@pytest.mark.parametrize("verb", KINDS)
def test_every_statement_kind_passes_our_validator(verb: str) -> None:
    validate_statement(every_kind()[verb])


@pytest.mark.parametrize("verb", KINDS)
def test_every_statement_kind_passes_ralphs_strict_models(verb: str) -> None:
    BaseXapiStatement.model_validate(every_kind()[verb])


@pytest.mark.parametrize("verb", KINDS)
def test_every_statement_carries_all_tagged_competency_iris(verb: str) -> None:
    other = every_kind()[verb]["context"]["contextActivities"]["other"]
    assert [a["id"] for a in other] == [tag.iri for tag in TAGS]
    assert {a["definition"]["type"] for a in other} == {COMPETENCY_TYPE}


@pytest.mark.parametrize("verb", KINDS)
def test_no_statement_names_the_person_by_default(verb: str) -> None:
    statement = every_kind()[verb]
    assert statement["actor"] == {
        "objectType": "Agent",
        "account": {"homePage": "https://lms.example.gov.tw", "name": "learner-7"},
    }
    text = str(statement)
    assert "王小明" not in text and "@" not in text


def test_names_are_sent_only_when_the_operator_turns_them_on() -> None:
    statement = every_kind(send_names=True)["completed"]
    assert statement["actor"]["name"] == "王小明"
    validate_statement(statement)


def test_statement_shape_follows_the_profile() -> None:
    kinds = every_kind()
    passed = kinds["passed"]
    assert passed["verb"]["id"] == VERBS["passed"][0]
    assert passed["timestamp"] == "2026-11-27T10:00:00.123Z"
    assert passed["context"]["registration"] == REGISTRATION
    assert passed["result"]["score"] == {"scaled": 0.8, "raw": 4.0, "min": 0.0, "max": 5.0}
    assert passed["object"]["id"] == LEARNER.module_iri
    grouping = passed["context"]["contextActivities"]["grouping"][0]["id"]
    assert grouping == "https://lms.example.gov.tw/lti/contexts/course%20101"
    assert "version" not in passed
    answered = kinds["answered"]
    assert answered["object"]["id"] == LEARNER.module_iri + "/items/12"
    assert answered["result"] == {"success": True, "response": "a[,]c"}
    assert len({s["id"] for s in kinds.values()}) == len(kinds)


def test_timestamps_are_utc_with_milliseconds_whatever_the_zone() -> None:
    taipei = datetime(2026, 11, 27, 18, 0, 0, 5000, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Taipei")
    )
    assert format_timestamp(taipei) == "2026-11-27T18:00:00.005Z"


def broken(change: Any) -> dict[str, Any]:
    statement = copy.deepcopy(every_kind()["passed"])
    change(statement)
    return statement


BREAKAGES = {
    "id not a UUID": (lambda s: s.update(id="12345"), "statement.id"),
    "upper-case UUID": (lambda s: s.update(id=s["id"].upper()), "statement.id"),
    "timestamp without ms": (
        lambda s: s.update(timestamp="2026-11-27T10:00:00Z"),
        "statement.timestamp",
    ),
    "timestamp not UTC": (
        lambda s: s.update(timestamp="2026-11-27T18:00:00.000+08:00"),
        "statement.timestamp",
    ),
    "two IFIs": (lambda s: s["actor"].update(mbox="mailto:a@b.tw"), "statement.actor"),
    "no IFI": (lambda s: s["actor"].pop("account"), "statement.actor"),
    "verb not an IRI": (lambda s: s["verb"].update(id="passed"), "statement.verb.id"),
    "bad language tag": (
        lambda s: s["verb"]["display"].update({"zh_TW": "通過"}),
        "statement.verb.display.zh_TW",
    ),
    "extension key not an IRI": (
        lambda s: s["context"].update(extensions={"masteryscore": 0.8}),
        "statement.context.extensions.masteryscore",
    ),
    "scaled above 1": (
        lambda s: s["result"]["score"].update(scaled=1.2),
        "statement.result.score.scaled",
    ),
    "negative scaled": (
        lambda s: s["result"]["score"].update(scaled=-0.1),
        "statement.result.score.scaled",
    ),
    "a null": (lambda s: s["result"].update(response=None), "statement.result.response"),
    "registration not a UUID": (
        lambda s: s["context"].update(registration="r-1"),
        "statement.context.registration",
    ),
    "other not an array": (
        lambda s: s["context"]["contextActivities"].update(other={"id": "https://x.tw/a"}),
        "statement.context.contextActivities.other",
    ),
    "competency id with a space": (
        lambda s: s["context"]["contextActivities"]["other"][0].update(id="https://x.tw/a b"),
        "statement.context.contextActivities.other[0].id",
    ),
    "unknown top-level property": (lambda s: s.update(extra=1), "statement.extra"),
}


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_a_broken_statement_is_refused_naming_the_rule(name: str) -> None:
    change, path = BREAKAGES[name]
    with pytest.raises(InvalidStatement) as caught:
        validate_statement(broken(change))
    assert caught.value.field == path, caught.value.message


@pytest.mark.parametrize(
    ("ifi", "path"),
    [
        ({"mbox": "bob"}, "statement.actor.mbox"),
        ({"mbox_sha1sum": "xyz"}, "statement.actor.mbox_sha1sum"),
        ({"openid": "not an iri"}, "statement.actor.openid"),
    ],
)
def test_malformed_identifiers_are_refused(ifi: dict[str, str], path: str) -> None:
    def replace_actor(statement: dict[str, Any]) -> None:
        statement["actor"] = {"objectType": "Agent", **ifi}

    with pytest.raises(InvalidStatement) as caught:
        validate_statement(broken(replace_actor))
    assert caught.value.field == path
