"""Imports every package's models so that ``Base.metadata`` knows all tables."""

from __future__ import annotations

from plugin.competencies import models as competencies_models
from plugin.content import models as content_models
from plugin.content import runtime_models as content_runtime_models
from plugin.core.db import Base
from plugin.lti import models as lti_models
from plugin.organisations import models as organisations_models
from plugin.privacy import models as privacy_models
from plugin.rollup import models as rollup_models
from plugin.xapi import models as xapi_models

MODEL_MODULES = (
    competencies_models,
    content_models,
    content_runtime_models,
    lti_models,
    organisations_models,
    privacy_models,
    rollup_models,
    xapi_models,
)


def import_all_models() -> type[Base]:
    """Return the declarative base once every package's tables are registered on it."""
    return Base
