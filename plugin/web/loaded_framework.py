"""The loaded framework a report page needs, or a 404 in the page's language."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from plugin.competencies.framework import get_framework
from plugin.competencies.models import Framework
from plugin.core.errors import NotFound


def framework_or_404(session: Session) -> Framework:
    """The loaded framework, or a 404 in the page's language."""
    framework = get_framework(session)
    if framework is None:
        raise NotFound(_("No competency framework is loaded yet."), field="framework")
    return framework
