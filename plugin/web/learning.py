"""Learner events as xAPI, with the app's settings: thin adapters over plugin.xapi.learning."""

from __future__ import annotations

from sqlalchemy.orm import Session

from plugin import app_state
from plugin.competencies.models import Module
from plugin.lti.models import Launch
from plugin.xapi import learning
from plugin.xapi.attempts import XapiOptions
from plugin.xapi.models import Attempt
from plugin.xapi.statements import LearnerContext


def xapi_options(launch: Launch) -> XapiOptions:
    """Targets and privacy switches from the app's settings; the launch's organisation."""
    return learning.xapi_options(launch, app_state.settings())


def learner_context(launch: Launch, module: Module) -> LearnerContext:
    """The plain values a statement about this launch's person in ``module`` needs."""
    return learning.learner_context(launch, module, app_state.settings().framework.iri_base)


def begin_attempt(session: Session, launch: Launch, module: Module) -> Attempt | None:
    """Start an attempt (``launched``) for a learner's launch; None for previews."""
    return learning.begin_attempt(session, launch, module, app_state.settings())
