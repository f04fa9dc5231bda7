"""What a refused commit's element tells the player, in the learner's language."""

from __future__ import annotations

from flask_babel import gettext as _

from plugin.content.cmi import CmiRefused


def refusal_message(refused: CmiRefused) -> str:
    """The sentence for a refused CMI element, naming it."""
    element = refused.element
    messages = {
        "vocabulary": _(
            "%(element)s: this value is not one the data model allows.", element=element
        ),
        "too_long": _(
            "%(element)s: the value is longer than the data model allows.", element=element
        ),
        "number": _("%(element)s: the value is not a number.", element=element),
        "range": _("%(element)s: the value is out of the allowed range.", element=element),
        "time": _(
            "%(element)s: the value is not a time span of this SCORM version.", element=element
        ),
        "type": _("%(element)s: the value must be text or a number.", element=element),
    }
    return messages.get(
        refused.reason, _("%(element)s: this element is not accepted.", element=element)
    )
