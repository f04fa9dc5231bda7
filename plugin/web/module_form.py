"""The module editor's form: slots for knowledge-check items and their choices, filled from
a module or from a sent form, and turned into the data ``ModuleInput`` loads; its refusals told
by field label in the page's language, and its content's cleaned preview. No request state:
the view passes the form it received."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from plugin.competencies.content import CleanContent, Removal, clean_markdown
from plugin.competencies.models import Module
from plugin.competencies.modules import MARKDOWN_FIELDS
from plugin.core.errors import InvalidInput
from plugin.core.numbers import is_ascii_int

MAX_ITEM_SLOTS = 50  # ModuleInput allows at most 50 knowledge-check items
MIN_CHOICE_SLOTS = 4
MAX_CHOICE_SLOTS = 6
TEXT_FIELDS = (
    "title_zh",
    "title_en",
    "description_zh",
    "description_en",
    "hours",
    *MARKDOWN_FIELDS,
    "external_url",
    "external_display",
    "mastery_score",
)
MULTILINE_FIELDS = ("description_zh", "description_en", *MARKDOWN_FIELDS)
CHOICE_KEYS = string.ascii_lowercase


@dataclass
class ChoiceSlot:
    """One answer slot of the editor (blank slots are left out)."""

    key: str = ""
    text_zh: str = ""
    text_en: str = ""
    correct: bool = False
    feedback_zh: str = ""
    feedback_en: str = ""

    def blank(self) -> bool:
        """Nothing typed or ticked."""
        texts = (self.text_zh, self.text_en, self.feedback_zh, self.feedback_en)
        return not any(texts) and not self.correct


@dataclass
class ItemSlot:
    """One knowledge-check item slot of the editor."""

    prompt_zh: str = ""
    prompt_en: str = ""
    multiple: bool = False
    choices: list[ChoiceSlot] = field(default_factory=list)

    def blank(self) -> bool:
        """No prompt and no choice filled in."""
        return not (self.prompt_zh or self.prompt_en) and all(c.blank() for c in self.choices)


@dataclass
class ModuleForm:
    """The editor's state: what the designer typed, kept across refusals and re-renders."""

    values: dict[str, str]
    items: list[ItemSlot]


def bounded(value: str | None, low: int, high: int) -> int:
    """``value`` as a slot count within ``[low, high]``; ``low`` when it is no such count."""
    # A count of editor slots the page itself sends back; anything else means "as few as can be".
    number = int(value) if value and is_ascii_int(value) else low
    return max(low, min(high, number))


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def form_from_module(module: Module) -> ModuleForm:
    """The editor's form filled from a stored module."""
    values = {name: str(getattr(module, name) or "") for name in TEXT_FIELDS}
    values["hours"] = _number(module.hours)
    values["mastery_score"] = _number(module.mastery_score)
    items = [
        ItemSlot(
            prompt_zh=item.prompt_zh,
            prompt_en=item.prompt_en,
            multiple=item.multiple,
            choices=[
                ChoiceSlot(
                    key=str(choice.get("key", "")),
                    text_zh=str(choice.get("text_zh", "")),
                    text_en=str(choice.get("text_en", "")),
                    correct=bool(choice.get("correct")),
                    feedback_zh=str(choice.get("feedback_zh", "")),
                    feedback_en=str(choice.get("feedback_en", "")),
                )
                for choice in item.choices
            ],
        )
        for item in module.check_items
    ]
    return ModuleForm(values=values, items=items)


def blank_form() -> ModuleForm:
    """The editor's form for a new module."""
    values = dict.fromkeys(TEXT_FIELDS, "")
    values["external_display"] = "window"
    return ModuleForm(values=values, items=[])


def _text(form: MultiDict[str, str], name: str, multiline: bool = False) -> str:
    value = form.get(name, "")
    # Browsers send CRLF from textareas; store what the designer sees.
    return value.replace("\r\n", "\n") if multiline else value.strip()


def form_from_request(form: MultiDict[str, str]) -> ModuleForm:
    """The editor's form as it was sent."""
    values = {name: _text(form, name, name in MULTILINE_FIELDS) for name in TEXT_FIELDS}
    items = []
    for i in range(bounded(form.get("item_count"), 0, MAX_ITEM_SLOTS)):
        prefix = f"item-{i}-"
        choices = [
            ChoiceSlot(
                key=_text(form, f"{prefix}choice-{j}-key"),
                text_zh=_text(form, f"{prefix}choice-{j}-text_zh"),
                text_en=_text(form, f"{prefix}choice-{j}-text_en"),
                correct=f"{prefix}choice-{j}-correct" in form,
                feedback_zh=_text(form, f"{prefix}choice-{j}-feedback_zh", multiline=True),
                feedback_en=_text(form, f"{prefix}choice-{j}-feedback_en", multiline=True),
            )
            for j in range(bounded(form.get(f"{prefix}choice_count"), 0, MAX_CHOICE_SLOTS))
        ]
        items.append(
            ItemSlot(
                prompt_zh=_text(form, f"{prefix}prompt_zh", multiline=True),
                prompt_en=_text(form, f"{prefix}prompt_en", multiline=True),
                multiple=f"{prefix}multiple" in form,
                choices=choices,
            )
        )
    return ModuleForm(values=values, items=items)


def padded(form: ModuleForm, extra_items: int = 0) -> ModuleForm:
    """Offer blank slots: one blank item (more when asked), at least four choices an item."""
    blank_items = sum(1 for item in form.items if item.blank())
    wanted = max(1 - blank_items, 0) + extra_items
    while wanted > 0 and len(form.items) < MAX_ITEM_SLOTS:
        form.items.append(ItemSlot())
        wanted -= 1
    for item in form.items:
        while len(item.choices) < MIN_CHOICE_SLOTS:
            item.choices.append(ChoiceSlot())
    return form


def module_data(form: ModuleForm) -> tuple[dict[str, Any], list[tuple[int, list[int]]]]:
    """The ModuleInput mapping, and where each submitted item and choice sits in the form."""
    values = form.values
    data: dict[str, Any] = {name: values[name] for name in TEXT_FIELDS}
    data["mastery_score"] = values["mastery_score"] or None
    data["external_display"] = values["external_display"] or "window"
    items: list[dict[str, Any]] = []
    slots: list[tuple[int, list[int]]] = []
    for i, item in enumerate(form.items):
        if item.blank():
            continue
        # Keys of slots emptied in this edit stay taken: old answers may still name them.
        used = {choice.key for choice in item.choices if choice.key}
        choices: list[dict[str, Any]] = []
        choice_slots: list[int] = []
        for j, choice in enumerate(item.choices):
            if choice.blank():
                continue
            if not choice.key:
                # Keys stay put once given: recorded answers name the choices by key.
                choice.key = next(k for k in CHOICE_KEYS if k not in used)
                used.add(choice.key)
            choices.append(
                {
                    "key": choice.key,
                    "text_zh": choice.text_zh,
                    "text_en": choice.text_en,
                    "correct": choice.correct,
                    "feedback_zh": choice.feedback_zh,
                    "feedback_en": choice.feedback_en,
                }
            )
            choice_slots.append(j)
        items.append(
            {
                "prompt_zh": item.prompt_zh,
                "prompt_en": item.prompt_en,
                "multiple": item.multiple,
                "choices": choices,
            }
        )
        slots.append((i, choice_slots))
    data["check_items"] = items
    return data, slots


def error_anchor(field_path: str | None, slots: list[tuple[int, list[int]]]) -> str:
    """The form control an input error belongs to (``check_items.0.choices.1.text_zh`` →
    ``item-2-choice-1-text_zh`` when blank slots were skipped)."""
    if not field_path:
        return ""
    parts = field_path.split(".")
    if parts[0] != "check_items":
        return parts[0]
    if len(parts) < 2 or not is_ascii_int(parts[1]) or int(parts[1]) >= len(slots):
        return "check_items"
    slot, choice_slots = slots[int(parts[1])]
    if len(parts) == 2:
        return f"item-{slot}"
    if parts[2] != "choices":
        return f"item-{slot}-{parts[2]}"
    if len(parts) < 4 or not is_ascii_int(parts[3]) or int(parts[3]) >= len(choice_slots):
        return f"item-{slot}-choices"
    choice = f"item-{slot}-choice-{choice_slots[int(parts[3])]}"
    if len(parts) < 5 or parts[4] == "key":
        return choice
    return f"{choice}-{parts[4]}"


# The labels the editor shows (templates/designer/module_form.html), by ModuleInput field.
def _labels() -> dict[str, str]:
    return {
        "title_zh": _("Title (Chinese)"),
        "title_en": _("Title (English)"),
        "description_zh": _("Description (Chinese)"),
        "description_en": _("Description (English)"),
        "hours": _("Expected hours"),
        "content_markdown_zh": _("Content (Chinese, Markdown)"),
        "content_markdown_en": _("Content (English, Markdown)"),
        "external_url": _("External resource (URL)"),
        "external_display": _("Show the external resource"),
        "mastery_score": _("Mastery score"),
        "check_items": _("Knowledge check"),
        "prompt_zh": _("Question (Chinese)"),
        "prompt_en": _("Question (English)"),
        "multiple": _("More than one answer is correct"),
        "choices": _("Answers"),
        "text_zh": _("Answer (Chinese)"),
        "text_en": _("Answer (English)"),
        "correct": _("Correct answer"),
        "feedback_zh": _("Feedback (Chinese)"),
        "feedback_en": _("Feedback (English)"),
    }


@dataclass(frozen=True)
class FieldError:
    """One refusal as the editor shows it: the control it marks, the field's label, the
    message in the page's language, and ``lang`` when the message is in the other language."""

    anchor: str
    label: str
    message: str
    lang: str = ""


def fault_label(field_path: str, slots: list[tuple[int, list[int]]]) -> str:
    """The label the designer sees for a ModuleInput field path (``check_items.0.choices.1.
    text_zh`` → "Question 1 · Answer 2 · Answer (Chinese)", counting the form's slots)."""
    labels = _labels()
    parts = field_path.split(".") if field_path else []
    if not parts:
        return ""
    if parts[0] != "check_items" or len(parts) < 2 or not is_ascii_int(parts[1]):
        return labels.get(parts[0], parts[0])
    if int(parts[1]) >= len(slots):
        return labels["check_items"]
    slot, choice_slots = slots[int(parts[1])]
    said = [_("Question %(n)s", n=slot + 1)]
    rest = parts[2:]
    if rest[:1] == ["choices"] and len(rest) >= 2 and is_ascii_int(rest[1]):
        if int(rest[1]) < len(choice_slots):
            said.append(_("Answer %(n)s", n=choice_slots[int(rest[1])] + 1))
            rest = rest[2:]
        else:
            rest = rest[:1]
    if rest and rest[0] != "key":
        said.append(labels.get(rest[0], rest[0]))
    return " · ".join(said)


def field_errors(exc: InvalidInput, slots: list[tuple[int, list[int]]]) -> list[FieldError]:
    """Every fault of a refused module, by label, in the page's language."""
    chinese_page = str(get_locale()).startswith("zh")
    found = []
    for path, message in exc.faults:
        shown = _(message)
        # A message the catalog does not know stays English: say so to screen readers.
        lang = "en" if chinese_page and shown == message and message.isascii() else ""
        found.append(FieldError(error_anchor(path, slots), fault_label(path, slots), shown, lang))
    return found


def by_anchor(errors: list[FieldError]) -> dict[str, list[FieldError]]:
    """The errors grouped by the control they mark."""
    grouped: dict[str, list[FieldError]] = {}
    for error in errors:
        grouped.setdefault(error.anchor, []).append(error)
    return grouped


def removal_text(removal: Removal) -> str:
    """What cleaning removed, told in the page's language."""
    if removal.kind == "element":
        text = _("the <%(element)s> element", element=removal.name)
    elif removal.kind == "attribute":
        text = _(
            "the %(attribute)s attribute of <%(element)s>",
            attribute=removal.name,
            element=removal.element,
        )
    else:
        text = _("the address %(address)s", address=removal.name)
    return text if removal.count == 1 else f"{text} ×{removal.count}"


def content_preview(values: dict[str, str]) -> dict[str, CleanContent]:
    """Each language's content, rendered and cleaned, with what cleaning removed."""
    return {
        "zh": clean_markdown(values["content_markdown_zh"]),
        "en": clean_markdown(values["content_markdown_en"]),
    }
