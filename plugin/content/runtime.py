"""The SCORM player's run-time: attempts, runtime tokens, the CMI a SCO starts with, commits.

A learner's launch of a SCORM module opens (or resumes) their attempt on the package version
it started on. The player and the package's files never see the launch token: they get a
runtime token, signed with its own salt, that names one attempt and nothing else, so a
package's script can read and write that attempt and cannot act as the learner anywhere else.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import fields
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plugin.competencies.models import Module
from plugin.content.cmi import DURATION_2004, TIMESPAN_12, CmiValues, merge_indexed
from plugin.content.models import PackageItem, PackageVersion
from plugin.content.runtime_models import RuntimeAttempt, ScoState
from plugin.core.db import utcnow
from plugin.lti.models import Launch
from plugin.lti.tokens import withdrawn_reason

SALT = "scorm-runtime-token"  # never the launch token's salt: one cannot pass for the other
RUNTIME_TOKEN_SECONDS = 12 * 3600  # a working day in one sitting, then a new launch
# How a SCO left that means it ended rather than paused (RTE 1.2 §3.4.4, RTE 2004 §4.2.8).
ENDING_EXITS = frozenset({"normal", "logout", "time-out"})
ENDED_12 = frozenset({"passed", "completed", "failed"})

# RTE 1.2 §3.4.4 and RTE 2004 4.2.23: the vocabulary of time_limit_action.
TIME_LIMIT_ACTIONS = ("exit,message", "exit,no message", "continue,message", "continue,no message")


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def issue_runtime_token(secret_key: str, attempt: RuntimeAttempt) -> str:
    """A signed token naming ``attempt`` (by its registration) and nothing else."""
    return _serializer(secret_key).dumps(attempt.registration)


def attempt_for_token(session: Session, secret_key: str, token: str) -> RuntimeAttempt | None:
    """The attempt a valid, unexpired runtime token names, if its launch may still act.

    A launch token is signed with another salt, so it names no attempt here; the platform being
    disabled since stops the runtime token as it stops the launch's own.
    """
    try:
        registration = _serializer(secret_key).loads(token, max_age=RUNTIME_TOKEN_SECONDS)
    except BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(registration, str):
        return None
    attempt = session.scalars(
        select(RuntimeAttempt).where(RuntimeAttempt.registration == registration)
    ).one_or_none()
    if attempt is None:
        return None
    launch = session.get(Launch, attempt.launch_id)
    if launch is None or withdrawn_reason(launch) is not None:
        return None
    return attempt


def latest_version(session: Session, module: Module) -> PackageVersion | None:
    """The module's newest package version, the one new attempts start on."""
    return session.scalars(
        select(PackageVersion)
        .where(PackageVersion.module_id == module.id)
        .order_by(PackageVersion.number.desc())
        .limit(1)
    ).one_or_none()


def open_attempt(session: Session, launch: Launch, module: Module) -> RuntimeAttempt | None:
    """The learner's unfinished attempt at ``module``, else a new one on the newest version;
    None when the module has no package. Flushes."""
    attempt = session.scalars(
        select(RuntimeAttempt)
        .where(
            RuntimeAttempt.person_id == launch.person_id,
            RuntimeAttempt.module_id == module.id,
            RuntimeAttempt.finished_at.is_(None),
        )
        .order_by(RuntimeAttempt.id.desc())
        .limit(1)
    ).one_or_none()
    if attempt is not None:
        attempt.launch_id = launch.id  # the newest launch answers for it from now on
        session.flush()
        return attempt
    version = latest_version(session, module)
    if version is None:
        return None
    attempt = RuntimeAttempt(
        registration=str(uuid.uuid4()),
        person_id=launch.person_id,
        module_id=module.id,
        version_id=version.id,
        launch_id=launch.id,
    )
    session.add(attempt)
    session.flush()
    return attempt


def sco_items(attempt: RuntimeAttempt) -> list[PackageItem]:
    """The attempt's version's SCOs, in the organization's order."""
    return attempt.version.scos


def find_item(attempt: RuntimeAttempt, identifier: str) -> PackageItem | None:
    """The item ``identifier`` of the attempt's version (SCO or asset), if it has one."""
    for item in attempt.version.items:
        if item.identifier == identifier:
            return item
    return None


def sco_state(session: Session, attempt: RuntimeAttempt, identifier: str) -> ScoState | None:
    """What the SCO ``identifier`` last committed in ``attempt``."""
    return session.scalars(
        select(ScoState).where(
            ScoState.attempt_id == attempt.id, ScoState.item_identifier == identifier
        )
    ).one_or_none()


def resumes(state: ScoState | None) -> bool:
    """True when the SCO left part-way (suspended, or closed without ending) and resumes."""
    return state is not None and state.exit not in ENDING_EXITS and state.seq > 0


def initial_cmi(
    attempt: RuntimeAttempt, item: PackageItem, state: ScoState | None
) -> dict[str, Any]:
    """The CMI a SCO starts with, as scorm-again's ``loadFromJSON`` takes it.

    ``cmi.entry`` is "resume" and the location and suspend data come back while the SCO was
    left part-way; otherwise it starts afresh ("ab-initio"). The learner is named to the
    package by the attempt's registration only, never by name or LMS id.
    """
    resuming = resumes(state)
    entry = "resume" if resuming else "ab-initio"
    location = state.location if state is not None and resuming else ""
    suspend_data = state.suspend_data if state is not None and resuming else ""
    if attempt.version.scorm_version == "1.2":
        core: dict[str, Any] = {
            "student_id": attempt.registration,
            "student_name": "",
            "entry": entry,
            "lesson_location": location,
        }
        if state is not None and state.lesson_status:
            core["lesson_status"] = state.lesson_status
        # RTE 1.2 §3.4.4: the LMS gives the SCO its item's mastery score (0-100), time allowed
        # and time-limit action from the manifest, as 2004's cmi.scaled_passing_score below.
        # Only those the manifest states: the API checks the format of what it is given.
        mastery = f"{item.mastery_score * 100:g}" if item.mastery_score is not None else ""
        student_data = {"mastery_score": mastery} if mastery else {}
        student_data.update(time_limits(item, TIMESPAN_12))
        return {
            "core": core,
            "suspend_data": suspend_data,
            "launch_data": item.data_from_lms,
            "student_data": student_data,
        }
    cmi: dict[str, Any] = {
        "learner_id": attempt.registration,
        "learner_name": "",
        "entry": entry,
        "location": location,
        "suspend_data": suspend_data,
        "launch_data": item.data_from_lms,
    }
    if state is not None and state.completion_status:
        cmi["completion_status"] = state.completion_status
    if state is not None and state.success_status:
        cmi["success_status"] = state.success_status
    if item.mastery_score is not None:
        cmi["scaled_passing_score"] = str(item.mastery_score)
    # RTE 2004 4.2.14 and 4.2.23: max_time_allowed from the item's
    # imsss:attemptAbsoluteDurationLimit, time_limit_action from adlcp:timeLimitAction.
    cmi.update(time_limits(item, DURATION_2004))
    return cmi


def time_limits(item: PackageItem, time_pattern: re.Pattern[str]) -> dict[str, str]:
    """The item's time allowed and time-limit action, those the manifest states in the data
    model's own format only: the run-time API refuses to load anything else, and the SCO
    would find no API at all."""
    limits: dict[str, str] = {}
    if time_pattern.match(item.max_time_allowed):
        limits["max_time_allowed"] = item.max_time_allowed
    if item.time_limit_action in TIME_LIMIT_ACTIONS:
        limits["time_limit_action"] = item.time_limit_action
    return limits


def commit(
    session: Session,
    attempt: RuntimeAttempt,
    item: PackageItem,
    seq: int,
    values: CmiValues,
    *,
    final: bool,
) -> bool:
    """Store a SCO's commit unless one with this or a higher ``seq`` is already stored.

    True when stored; False for a late or repeated commit, which changes nothing (the newest
    data wins whatever order commits arrive in). Flushes.
    """
    state = session.scalars(
        select(ScoState)
        .where(ScoState.attempt_id == attempt.id, ScoState.item_identifier == item.identifier)
        .with_for_update()
    ).one_or_none()
    if state is None:
        state = ScoState(attempt_id=attempt.id, item_identifier=item.identifier, seq=0)
        try:
            with session.begin_nested():
                session.add(state)
        except IntegrityError:  # another request made the row first: read theirs
            state = sco_state(session, attempt, item.identifier)
            if state is None:
                raise
    if seq <= state.seq:
        return False
    state.seq = seq
    for name in (f.name for f in fields(CmiValues)):
        value = getattr(values, name)
        if name in ("interactions", "objectives"):
            setattr(state, name, merge_indexed(getattr(state, name) or [], value))
        elif value is not None:
            setattr(state, name, value)
    state.updated_at = utcnow()
    if final and _sco_ended(attempt.version.scorm_version, state):
        _finish_if_all_ended(session, attempt)
    session.flush()
    return True


def _sco_ended(scorm_version: str, state: ScoState) -> bool:
    if state.exit == "suspend":
        return False
    if scorm_version == "1.2":
        return state.lesson_status in ENDED_12
    return state.completion_status == "completed"


def _finish_if_all_ended(session: Session, attempt: RuntimeAttempt) -> None:
    session.flush()
    states = {
        state.item_identifier: state
        for state in session.scalars(select(ScoState).where(ScoState.attempt_id == attempt.id))
    }
    version = attempt.version.scorm_version
    if all(
        item.identifier in states and _sco_ended(version, states[item.identifier])
        for item in sco_items(attempt)
    ):
        attempt.finished_at = utcnow()
