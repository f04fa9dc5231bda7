"""xAPI 1.0.3 statement rules, checked before a statement may enter the outbox.

Not a full conformance suite: the rules the tool's own statements must keep, strictly, so a
bug that builds a bad statement fails at once (in tests) instead of at an LRS — and some LRSs
(Ralph among them) accept statements that others refuse.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from plugin.core.errors import PluginError
from plugin.xapi.vocabulary import VOIDED

UUID_PATTERN = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)
# RFC 3339 in UTC with exactly three fractional digits, as the profile requires.
TIMESTAMP_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# RFC 3987 IRI, absolute: a scheme, then no whitespace or control characters.
IRI_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f<>\"{}|\\^`]+$")
# RFC 5646 language tag: language, optional script, region and variants (no private use).
LANGUAGE_TAG = re.compile(
    r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|\d{3}))?(-([A-Za-z0-9]{5,8}|\d[A-Za-z0-9]{3}))*$"
)
DURATION_PATTERN = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
)
STATEMENT_KEYS = {
    "id", "actor", "verb", "object", "result", "context", "timestamp", "attachments",
    "authority",
}  # fmt: skip
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")


class InvalidStatement(PluginError):
    """A statement the tool built breaks an xAPI rule; ``field`` is its JSON path."""

    code = "invalid_statement"
    status = 500


def validate_statement(statement: Any) -> None:
    """Raise :class:`InvalidStatement` naming the first broken rule."""
    _Checker().statement(statement)


class _Checker:
    def fail(self, path: str, rule: str) -> None:
        raise InvalidStatement(f"{path}: {rule}", field=path)

    def no_nulls(self, value: Any, path: str) -> None:
        # xAPI 1.0.3 §2.2: no property may be null.
        if value is None:
            self.fail(path, "null is not allowed")
        if isinstance(value, dict):
            for key, inner in value.items():
                self.no_nulls(inner, f"{path}.{key}")
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                self.no_nulls(inner, f"{path}[{index}]")

    def iri(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not IRI_PATTERN.match(value):
            self.fail(path, f"not an absolute IRI: {value!r}")
        if value.lower().startswith(("http:", "https:")) and not value.split(":", 1)[1].startswith(
            "//"
        ):
            self.fail(path, f"an http(s) IRI needs a host: {value!r}")

    def uuid(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not UUID_PATTERN.match(value):
            self.fail(path, f"not a lower-case RFC 4122 UUID: {value!r}")
        uuid.UUID(value)

    def language_map(self, value: Any, path: str) -> None:
        if not isinstance(value, dict) or not value:
            self.fail(path, "must be a non-empty language map")
        for tag, text in value.items():
            if not LANGUAGE_TAG.match(tag):
                self.fail(f"{path}.{tag}", "not an RFC 5646 language tag")
            if not isinstance(text, str) or not text:
                self.fail(f"{path}.{tag}", "must be a non-empty string")

    def json_object(self, value: Any, path: str) -> None:
        """Refuse ``value`` unless it is a JSON object."""
        if not isinstance(value, dict):
            self.fail(path, "must be an object")

    def typed_object(self, value: Any, path: str, object_type: str, refusal: str) -> None:
        """Refuse ``value`` unless it is a JSON object whose objectType (absent: the default,
        xAPI 1.0.3 §2.4.2.1 and §2.4.4.1) is ``object_type``."""
        self.json_object(value, path)
        if value.get("objectType", object_type) != object_type:
            self.fail(f"{path}.objectType", refusal)

    def extensions(self, value: Any, path: str) -> None:
        self.json_object(value, path)
        for key in value:
            self.iri(key, f"{path}.{key}")

    def statement(self, statement: Any) -> None:
        self.json_object(statement, "statement")
        self.no_nulls(statement, "statement")
        unknown = set(statement) - STATEMENT_KEYS
        if unknown:
            self.fail(f"statement.{sorted(unknown)[0]}", "unknown property")
        for key in ("id", "actor", "verb", "object", "timestamp"):
            if key not in statement:
                self.fail(f"statement.{key}", "missing (the tool always sets it)")
        self.uuid(statement["id"], "statement.id")
        timestamp = statement["timestamp"]
        if not isinstance(timestamp, str) or not TIMESTAMP_PATTERN.match(timestamp):
            self.fail("statement.timestamp", f"not RFC 3339 UTC with milliseconds: {timestamp!r}")
        self.agent(statement["actor"], "statement.actor")
        self.verb(statement["verb"])
        if statement["verb"].get("id") == VOIDED:
            self.statement_ref(statement["object"])
        else:
            self.activity(statement["object"], "statement.object")
        if "result" in statement:
            self.result(statement["result"])
        if "context" in statement:
            self.context(statement["context"])
        if "authority" in statement:
            # xAPI 1.0.3 §2.4.9: an Agent (or an OAuth Group, which the tool never sends);
            # the tool names itself when it restates imported or pulled evidence.
            self.agent(statement["authority"], "statement.authority")

    def statement_ref(self, target: Any) -> None:
        # xAPI 1.0.3 §2.4.8: a voiding statement's object is a StatementRef to the voided id.
        if not isinstance(target, dict) or target.get("objectType") != "StatementRef":
            self.fail("statement.object.objectType", "a voiding statement needs a StatementRef")
        if set(target) != {"objectType", "id"}:
            self.fail("statement.object", "a StatementRef holds exactly objectType and id")
        self.uuid(target["id"], "statement.object.id")

    def agent(self, actor: Any, path: str) -> None:
        self.typed_object(actor, path, "Agent", "the tool's actors are Agents")
        present = [ifi for ifi in IFIS if ifi in actor]
        # xAPI 1.0.3 §2.4.2.1: exactly one inverse functional identifier.
        if len(present) != 1:
            self.fail(path, f"needs exactly one IFI, has {present or 'none'}")
        # xAPI 1.0.3 §2.4.2.3: the formats of the other IFIs (Ralph answers 500, not 400,
        # to a malformed mbox, so a bad one would block the queue instead of being refused).
        if "mbox" in actor and not re.match(r"^mailto:[^@\s]+@[^@\s]+$", str(actor["mbox"])):
            self.fail(f"{path}.mbox", "must be mailto:address")
        if "mbox_sha1sum" in actor and not re.match(r"^[0-9a-f]{40}$", str(actor["mbox_sha1sum"])):
            self.fail(f"{path}.mbox_sha1sum", "must be 40 hexadecimal digits")
        if "openid" in actor:
            self.iri(actor["openid"], f"{path}.openid")
        if "account" in actor:
            account = actor["account"]
            if not isinstance(account, dict) or set(account) != {"homePage", "name"}:
                self.fail(f"{path}.account", "must hold exactly homePage and name")
            self.iri(account["homePage"], f"{path}.account.homePage")
            if not isinstance(account["name"], str) or not account["name"]:
                self.fail(f"{path}.account.name", "must be a non-empty string")
        if "name" in actor and not isinstance(actor["name"], str):
            self.fail(f"{path}.name", "must be a string")

    def verb(self, verb: Any) -> None:
        self.json_object(verb, "statement.verb")
        self.iri(verb.get("id"), "statement.verb.id")
        if "display" in verb:
            self.language_map(verb["display"], "statement.verb.display")

    def activity(self, activity: Any, path: str) -> None:
        self.typed_object(activity, path, "Activity", "the tool's objects are Activities")
        self.iri(activity.get("id"), f"{path}.id")
        definition = activity.get("definition")
        if definition is None:
            return
        self.json_object(definition, f"{path}.definition")
        for key in ("name", "description"):
            if key in definition:
                self.language_map(definition[key], f"{path}.definition.{key}")
        if "type" in definition:
            self.iri(definition["type"], f"{path}.definition.type")
        if "extensions" in definition:
            self.extensions(definition["extensions"], f"{path}.definition.extensions")
        for index, choice in enumerate(definition.get("choices", [])):
            if not isinstance(choice, dict) or not isinstance(choice.get("id"), str):
                self.fail(f"{path}.definition.choices[{index}]", "needs an id")
            self.language_map(
                choice.get("description"), f"{path}.definition.choices[{index}].description"
            )

    def result(self, result: Any) -> None:
        path = "statement.result"
        self.json_object(result, path)
        for key in ("success", "completion"):
            if key in result and not isinstance(result[key], bool):
                self.fail(f"{path}.{key}", "must be true or false")
        if "duration" in result and not DURATION_PATTERN.match(str(result["duration"])):
            self.fail(f"{path}.duration", "not an ISO 8601 duration")
        if "extensions" in result:
            self.extensions(result["extensions"], f"{path}.extensions")
        if result.get("score") is not None:
            self.score(result["score"], f"{path}.score")

    def score(self, score: Any, path: str) -> None:
        self.json_object(score, path)
        scaled = score.get("scaled")
        # The profile's scores are in [0, 1] (xAPI allows [-1, 1]; ours are never negative).
        if scaled is not None and not (isinstance(scaled, int | float) and 0 <= scaled <= 1):
            self.fail(f"{path}.scaled", f"must be a number in [0, 1], got {scaled!r}")
        low, high, raw = score.get("min"), score.get("max"), score.get("raw")
        if low is not None and high is not None and low > high:
            self.fail(path, "min is above max")
        if raw is not None and low is not None and raw < low:
            self.fail(f"{path}.raw", "below min")
        if raw is not None and high is not None and raw > high:
            self.fail(f"{path}.raw", "above max")

    def context(self, context: Any) -> None:
        path = "statement.context"
        self.json_object(context, path)
        if "registration" in context:
            self.uuid(context["registration"], f"{path}.registration")
        if "language" in context and not LANGUAGE_TAG.match(str(context["language"])):
            self.fail(f"{path}.language", "not an RFC 5646 language tag")
        if "extensions" in context:
            self.extensions(context["extensions"], f"{path}.extensions")
        activities = context.get("contextActivities", {})
        self.json_object(activities, f"{path}.contextActivities")
        for key, value in activities.items():
            where = f"{path}.contextActivities.{key}"
            if key not in ("parent", "grouping", "category", "other"):
                self.fail(where, "unknown context activity kind")
            if not isinstance(value, list):
                self.fail(where, "the tool writes arrays")
            for index, activity in enumerate(value):
                self.activity(activity, f"{where}[{index}]")
