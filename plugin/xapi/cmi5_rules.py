"""The cmi5 rules for statements an AU sends, checked before the tool accepts one (cmi5 §9).

Pure: no database, no web framework. The caller keeps the session's facts (:class:`Session`)
and what happened so far (:class:`Progress`, immutable) and asks :func:`check_statement`
about each incoming statement; an accepted statement comes back with the new progress, a
refused one with the rule it broke, the statement path at fault and an English message — the
LMS answers such a statement with 403 and stores nothing of it (cmi5 §6.3 and the xAPI rules).

Section numbers are those of the cmi5 specification, "quartz" edition. "cmi5 defined"
statements are those in the cmi5 category (§7.1.3, §9.6.2.1); every other statement the AU
sends is "cmi5 allowed" and only the session rules apply to it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from plugin.core.errors import PluginError
from plugin.xapi.validation import DURATION_PATTERN
from plugin.xapi.vocabulary import (
    ADL_VERBS,
    CMI5_CATEGORY,
    MASTERY_EXTENSION,
    MOVEON_CATEGORY,
    SESSION_EXTENSION,
    VOIDED,
)

INITIALIZED = ADL_VERBS + "initialized"
COMPLETED = ADL_VERBS + "completed"
PASSED = ADL_VERBS + "passed"
FAILED = ADL_VERBS + "failed"
TERMINATED = ADL_VERBS + "terminated"
# §9.3: the verbs an AU may use in cmi5 defined statements (launched, satisfied, abandoned and
# waived are the LMS's own).
AU_VERBS = frozenset({INITIALIZED, COMPLETED, PASSED, FAILED, TERMINATED})
# §10 launchMode: in Browse and Review only initialized and terminated are sent.
JUDGING_VERBS = frozenset({COMPLETED, PASSED, FAILED})
# §9.5.4.1: the AU statements that must carry a duration.
TIMED_VERBS = frozenset({COMPLETED, PASSED, FAILED, TERMINATED})
LAUNCH_MODES = ("Normal", "Browse", "Review")
SESSION_PATH = f'context.extensions["{SESSION_EXTENSION}"]'
MASTERY_PATH = f'context.extensions["{MASTERY_EXTENSION}"]'
CATEGORY_PATH = "context.contextActivities.category"
CONTEXT_LISTS = ("parent", "grouping", "category", "other")


@dataclass(frozen=True)
class Session:
    """What the LMS fixed when it launched the AU (cmi5 §8.1, §10 LMS.LaunchData)."""

    actor: Mapping[str, Any]
    registration: str
    activity_id: str
    session_id: str
    launch_mode: str = "Normal"
    mastery_score: float | None = None
    move_on: str = "NotApplicable"


@dataclass(frozen=True)
class Progress:
    """What the AU has said so far: in this session, and in the registration for this AU."""

    initialized: bool = False
    terminated: bool = False
    session_verbs: frozenset[str] = field(default_factory=frozenset)
    completed: bool = False
    passed: bool = False

    def next_session(self) -> Progress:
        """The progress a new session of the same AU and registration starts from."""
        return Progress(completed=self.completed, passed=self.passed)

    def to_dict(self) -> dict[str, Any]:
        """The progress as JSON-ready data, for the caller to store."""
        return {
            "initialized": self.initialized,
            "terminated": self.terminated,
            "session_verbs": sorted(self.session_verbs),
            "completed": self.completed,
            "passed": self.passed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Progress:
        """Progress read back from :meth:`to_dict`'s data."""
        return cls(
            initialized=bool(data.get("initialized", False)),
            terminated=bool(data.get("terminated", False)),
            session_verbs=frozenset(data.get("session_verbs", ())),
            completed=bool(data.get("completed", False)),
            passed=bool(data.get("passed", False)),
        )


@dataclass(frozen=True)
class Accepted:
    """The statement keeps every rule; ``progress`` replaces the caller's."""

    progress: Progress
    defined: bool


class Cmi5RuleBroken(PluginError):
    """A statement from an AU breaks a cmi5 rule; answered with 403 (cmi5 §6.3)."""

    code = "cmi5_rule_broken"
    status = 403


@dataclass(frozen=True)
class Refused:
    """The statement breaks a rule: ``code`` names it, ``path`` the statement part at fault."""

    code: str
    path: str
    message: str

    def error(self) -> Cmi5RuleBroken:
        """The refusal as the error a web layer turns into a 403 answer."""
        return Cmi5RuleBroken(f"{self.path}: {self.message}", field=self.path, code=self.code)


class _Broken(Exception):
    def __init__(self, code: str, path: str, message: str):
        super().__init__(message)
        self.refusal = Refused(code, path, message)


def check_statement(session: Session, progress: Progress, statement: Any) -> Accepted | Refused:
    """Check one statement from the AU against cmi5 §9; say what the progress becomes."""
    try:
        return _check(session, progress, statement)
    except _Broken as broken:
        return broken.refusal


def _check(session: Session, progress: Progress, statement: Any) -> Accepted:
    if not isinstance(statement, dict):
        raise _Broken("not_an_object", "statement", "a statement must be a JSON object")
    verb = _verb(statement)
    if verb == VOIDED:
        # §6.3: the AU is never given the right to void statements.
        raise _Broken("voiding_refused", "verb.id", "an AU may not void statements")
    _check_actor(session, statement.get("actor"))
    context = _mapping(statement.get("context"), "context")
    _check_session_context(session, context)
    if not statement.get("timestamp"):
        # §9.7: every statement carries its timestamp.
        raise _Broken("timestamp_missing", "timestamp", "every cmi5 statement needs a timestamp")
    if progress.terminated:
        # §9.3.8: terminated is the last statement of any kind in the session.
        raise _Broken(
            "session_terminated", "verb.id", "the session is terminated: nothing may follow"
        )
    if CMI5_CATEGORY in _category_ids(context):
        return Accepted(_check_defined(session, progress, statement, verb), defined=True)
    _check_allowed(session, progress, statement, verb)
    return Accepted(progress, defined=False)


def _verb(statement: dict[str, Any]) -> str:
    verb = statement.get("verb")
    if not isinstance(verb, dict) or not isinstance(verb.get("id"), str):
        raise _Broken("verb_missing", "verb.id", "a statement needs a verb with an id")
    return str(verb["id"])


def _mapping(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Broken("context_missing", path, "must be a JSON object")
    return value


def _check_actor(session: Session, actor: Any) -> None:
    # §9.2 and §8.1 actor: an Agent identified by the account the LMS put in the launch URL;
    # the facade answers only for that learner.
    if not isinstance(actor, dict) or actor.get("objectType", "Agent") != "Agent":
        raise _Broken("actor_mismatch", "actor", "the actor must be the launched learner's Agent")
    if actor.get("account") != session.actor.get("account") or any(
        key in actor for key in ("mbox", "mbox_sha1sum", "openid")
    ):
        raise _Broken(
            "actor_mismatch", "actor.account", "the actor must be the launched learner's account"
        )


def _check_session_context(session: Session, context: dict[str, Any]) -> None:
    # §9.6.1: the LMS's registration; §9.6.3.1: its session id, in every statement.
    if context.get("registration") != session.registration:
        raise _Broken(
            "registration_mismatch",
            "context.registration",
            "the registration must be the one given at launch",
        )
    extensions = context.get("extensions")
    if not isinstance(extensions, dict) or extensions.get(SESSION_EXTENSION) != session.session_id:
        raise _Broken(
            "session_mismatch", SESSION_PATH, "the session id must be the one in LMS.LaunchData"
        )


def _category_ids(context: dict[str, Any]) -> set[str]:
    activities = context.get("contextActivities")
    if not isinstance(activities, dict):
        return set()
    return _ids(activities.get("category"))


def _ids(value: Any) -> set[str]:
    return {
        item["id"]
        for item in _as_list(value)
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    }


def _as_list(value: Any) -> list[Any]:
    # xAPI 1.0.3 §2.4.6.2: a context activity list may be sent as one object.
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _object_id(statement: dict[str, Any]) -> Any:
    target = statement.get("object")
    return target.get("id") if isinstance(target, dict) else None


def _check_allowed(
    session: Session, progress: Progress, statement: dict[str, Any], verb: str
) -> None:
    context = statement["context"]
    if verb in AU_VERBS and _object_id(statement) == session.activity_id:
        # §7.1.3, §9.6.2.1: a cmi5 verb about the AU is a cmi5 defined statement and carries
        # the cmi5 category; without it the LMS could not tell it from an allowed one.
        raise _Broken(
            "cmi5_category_missing",
            CATEGORY_PATH,
            f"a cmi5 defined statement needs {CMI5_CATEGORY}",
        )
    if MOVEON_CATEGORY in _category_ids(context):
        # §9.6.2.2: only cmi5 defined statements with success or completion carry it.
        raise _Broken(
            "moveon_category_misplaced", CATEGORY_PATH, "only cmi5 defined statements carry moveon"
        )
    if not progress.initialized:
        # §7.1.3, §9.3: allowed statements come between initialized and terminated.
        raise _Broken(
            "not_initialized", "verb.id", "the session's first statement must be initialized"
        )


def _check_defined(
    session: Session, progress: Progress, statement: dict[str, Any], verb: str
) -> Progress:
    if verb not in AU_VERBS:
        raise _Broken(
            "verb_not_for_au", "verb.id", f"{verb} is not a verb an AU may use in cmi5 statements"
        )
    if _object_id(statement) != session.activity_id:
        # §9.4: the object of an AU's cmi5 defined statement is the AU, by its launch id.
        raise _Broken("object_mismatch", "object.id", "the object must be the launched AU")
    _check_order(session, progress, verb)
    _check_result(session, statement, verb)
    _check_moveon(statement)
    return replace(
        progress,
        initialized=progress.initialized or verb == INITIALIZED,
        terminated=verb == TERMINATED,
        session_verbs=progress.session_verbs | {verb},
        completed=progress.completed or verb == COMPLETED,
        passed=progress.passed or verb == PASSED,
    )


def _check_order(session: Session, progress: Progress, verb: str) -> None:
    if not progress.initialized and verb != INITIALIZED:
        raise _Broken(
            "not_initialized", "verb.id", "the session's first statement must be initialized"
        )
    if verb in progress.session_verbs:
        # §9.3: verbs are not repeated within a session (initialized: §9.3.2).
        raise _Broken("verb_repeated", "verb.id", "this verb was already used in the session")
    if verb in JUDGING_VERBS and session.launch_mode != "Normal":
        # §10 launchMode: Browse and Review send only initialized and terminated.
        raise _Broken(
            "launch_mode", "verb.id", f"{session.launch_mode} mode records no completion or success"
        )
    if verb in (PASSED, FAILED) and progress.session_verbs & {PASSED, FAILED}:
        raise _Broken(
            "passed_and_failed", "verb.id", "a session has at most one of passed and failed"
        )
    _check_registration_order(progress, verb)


def _check_registration_order(progress: Progress, verb: str) -> None:
    # §9.3 rules within a registration: one completed (§9.3.3), one passed (§9.3.4), no failed
    # after a passed. A failed may be followed by a passed in a later session: the spec
    # forbids only the reverse order.
    if verb == COMPLETED and progress.completed:
        raise _Broken(
            "completed_again", "verb.id", "completed was already sent in this registration"
        )
    if verb == PASSED and progress.passed:
        raise _Broken("passed_again", "verb.id", "passed was already sent in this registration")
    if verb == FAILED and progress.passed:
        raise _Broken("failed_after_passed", "verb.id", "failed may not follow passed")


def _check_result(session: Session, statement: dict[str, Any], verb: str) -> None:
    result = statement.get("result", {})
    if not isinstance(result, dict):
        raise _Broken("result_invalid", "result", "must be a JSON object")
    # §9.5.2: success true on passed, false on failed, absent elsewhere.
    _expect(result, "success", {PASSED: True, FAILED: False}.get(verb))
    # §9.5.3: completion true on completed, absent elsewhere.
    _expect(result, "completion", True if verb == COMPLETED else None)
    if verb in TIMED_VERBS and not DURATION_PATTERN.match(str(result.get("duration", ""))):
        # §9.5.4.1: terminated, completed, passed and failed carry an ISO 8601 duration.
        raise _Broken("duration_missing", "result.duration", "an ISO 8601 duration is required")
    if "score" in result:
        if verb not in (PASSED, FAILED):
            # §9.5.1: only passed and failed may carry a score.
            raise _Broken("score_misplaced", "result.score", "only passed and failed carry a score")
        _check_score(session, statement, result["score"], verb)


def _expect(result: dict[str, Any], key: str, wanted: bool | None) -> None:
    if wanted is None and key in result:
        raise _Broken(f"{key}_misplaced", f"result.{key}", f"this verb must not carry {key}")
    if wanted is not None and result.get(key) is not wanted:
        raise _Broken(f"{key}_wrong", f"result.{key}", f"must be {str(wanted).lower()}")


def _check_score(session: Session, statement: dict[str, Any], score: Any, verb: str) -> None:
    if not isinstance(score, dict):
        raise _Broken("score_invalid", "result.score", "must be a JSON object")
    if "raw" in score and not ("min" in score and "max" in score):
        # §9.5.1 raw: the AU gives min and max with a raw score.
        raise _Broken("score_range_missing", "result.score", "raw needs min and max")
    scaled = score.get("scaled")
    if scaled is None:
        return
    if isinstance(scaled, bool) or not isinstance(scaled, int | float) or not 0 <= scaled <= 1:
        raise _Broken("scaled_invalid", "result.score.scaled", "must be a number from 0 to 1")
    if session.mastery_score is None:
        return
    # §9.3.4 / §9.3.5: a passed score reaches the masteryScore, a failed one stays below it.
    if verb == PASSED and scaled < session.mastery_score:
        raise _Broken(
            "below_mastery", "result.score.scaled", "a passed score must reach the mastery score"
        )
    if verb == FAILED and scaled >= session.mastery_score:
        raise _Broken(
            "mastery_reached",
            "result.score.scaled",
            "a failed score must be below the mastery score",
        )
    # §9.6.3.2: a judgement made on the masteryScore carries it, as the LMS gave it.
    extensions = statement["context"]["extensions"]
    if extensions.get(MASTERY_EXTENSION) != session.mastery_score:
        raise _Broken(
            "mastery_score_mismatch", MASTERY_PATH, "must be the mastery score from LMS.LaunchData"
        )


def _check_moveon(statement: dict[str, Any]) -> None:
    # §9.6.2.2: moveon in the category exactly when the result has success or completion.
    result = statement.get("result", {})
    judged = "success" in result or "completion" in result
    present = MOVEON_CATEGORY in _category_ids(statement["context"])
    if judged != present:
        wanted = "needs" if judged else "must not carry"
        raise _Broken(
            "moveon_category", CATEGORY_PATH, f"this statement {wanted} {MOVEON_CATEGORY}"
        )


def merge_context_template(
    statement: Mapping[str, Any], template: Mapping[str, Any]
) -> dict[str, Any]:
    """The statement with the LMS.LaunchData contextTemplate added where the AU left gaps."""
    # §10 contextTemplate and §9.6.2: every value of the template is in each statement; what
    # the AU added stays as it is (a conflicting session id was refused before this).
    merged = copy.deepcopy(dict(statement))
    context = merged.setdefault("context", {})
    for key, value in template.items():
        if key == "contextActivities":
            context["contextActivities"] = _merge_activities(
                context.get("contextActivities", {}), value
            )
        elif key == "extensions":
            context["extensions"] = {**copy.deepcopy(value), **context.get("extensions", {})}
        elif key not in context:
            context[key] = copy.deepcopy(value)
    return merged


def _merge_activities(own: Mapping[str, Any], template: Mapping[str, Any]) -> dict[str, Any]:
    merged = {key: _as_list(value) for key, value in own.items()}
    for name in CONTEXT_LISTS:
        present = _ids(merged.get(name))
        extra = [
            copy.deepcopy(item)
            for item in _as_list(template.get(name))
            if isinstance(item, dict) and item.get("id") not in present
        ]
        if extra:
            merged[name] = merged.get(name, []) + extra
    return merged
