"""Recording who opened or exported whose records (plugin.privacy.audit), from a launch or an
API token; the entry is committed with the page or file it records (plugin/web/transaction.py)."""

from __future__ import annotations

from plugin import app_state
from plugin.lti.claims import LEARNER
from plugin.lti.models import Launch
from plugin.organisations.models import ApiToken
from plugin.privacy.audit import Accessor, record_access
from plugin.privacy.records import learner_subject, person_actor


def launch_accessor(launch: Launch) -> Accessor:
    """The launched person, by role and opaque id, in their registration's organisation."""
    organisation_id = launch.deployment.registration.organisation_id
    return Accessor(launch.role, person_actor(launch.person_id), organisation_id)


def audit_launch(launch: Launch, action: str, subject: str) -> None:
    """Record that ``launch`` did ``action`` on ``subject`` (a learner reading their own
    records is not an access to someone else's, and is not recorded)."""
    if launch.role == LEARNER:
        return
    _record(launch_accessor(launch), action, subject)


def audit_learner(launch: Launch, action: str, learner_id: int) -> None:
    """Record that ``launch`` did ``action`` on the records of learner ``learner_id``."""
    audit_launch(launch, action, learner_subject(learner_id))


def course_subject(launch: Launch, people: int) -> str:
    """How the audit names a course's learners read at once."""
    return f"course {launch.context_id or '-'} {people} people"


def audit_token(token: ApiToken, action: str, subject: str) -> None:
    """Record that API token ``token`` did ``action`` on ``subject``."""
    _record(Accessor.token(token.id, token.organisation_id), action, subject)


def _record(accessor: Accessor, action: str, subject: str) -> None:
    record_access(app_state.session(), accessor, action, subject)
