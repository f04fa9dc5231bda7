"""The tag editors' form values (the tag page and bulk tagging) and their refusals, told by
the item ID the designer sees, the field's label and the page's language."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _

from plugin.competencies.modules import load_input
from plugin.competencies.schemas import TagInput
from plugin.core.errors import N_, InvalidInput
from plugin.core.numbers import is_ascii_int


def _told(code: str, part: str, message: str) -> InvalidInput:
    """``DC1-K1 · Level: Choose a level.`` in the page's language, marking ``code.part``."""
    colon = "：" if str(get_locale()).startswith("zh") else ": "
    labels = {"level": _("Level"), "weight": _("Weight")}
    named = code or _("ID")
    where = f"{named} · {labels[part]}" if part in labels else named
    return InvalidInput(f"{where}{colon}{_(message)}", field=f"{code}.{part}")


def tag_input(code: str, level: str, weight: str = "") -> dict[str, Any]:
    """A TagInput mapping from form strings; errors name the item ID and its field."""
    code = code.strip()
    if not is_ascii_int(level.strip(), signed=True):
        raise _told(code, "level", N_("Choose a level."))
    raw: dict[str, Any] = {"item": code, "level": int(level.strip())}
    if weight.strip():
        raw["weight"] = weight.strip()
    try:
        load_input(TagInput(), raw)
    except InvalidInput as exc:
        path, message = exc.faults[0]
        raise _told(code, path.split(".")[0] or "item", message) from None
    return raw


def name_tag_error(exc: InvalidInput, raw_tags: list[dict[str, Any]]) -> InvalidInput:
    """``tags[2].level`` from the tag service, told with the item ID the designer sees; any
    other refusal as it is."""
    path, message = exc.faults[0]
    where = path.removeprefix("tags[")
    index = where.split("]")[0]
    if where == path or not is_ascii_int(index) or int(index) >= len(raw_tags):
        return exc
    part = where.split("]", 1)[1].lstrip(".") or "item"
    return _told(str(raw_tags[int(index)]["item"]), part, message)
