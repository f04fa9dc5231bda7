"""marshmallow schemas for the framework data file (``data/framework.toml``)."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from plugin.competencies.content import MAX_MARKDOWN_CHARS
from plugin.core.errors import N_
from plugin.core.numbers import is_ascii_decimal

INDICATOR_CODE = re.compile(r"^DC[1-9][0-9]*-[KS][1-9][0-9]*$")
COMPETENCY_CODE = re.compile(r"^DC[1-9][0-9]*$")
ATTITUDE_CODE = re.compile(r"^AT[1-9][0-9]*$")
KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
BANDS = ("foundation", "intermediate", "advanced", "highly_specialised")


class AsciiFloat(fields.Float):
    """A number; typed as text it must be a plain decimal in ASCII digits (``1.5``, not ``１.5``,
    ``1e3`` or ``nan``, which ``float()`` would read)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and not is_ascii_decimal(value.strip()):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class LocalizedText(Schema):
    """A text in zh-TW and en, both required and non-empty."""

    zh_tw = fields.String(data_key="zh-TW", required=True, validate=validate.Length(min=1))
    en = fields.String(required=True, validate=validate.Length(min=1))


def _text(required: bool = True) -> fields.Nested:
    return fields.Nested(LocalizedText, required=required)


class LocalizedKeywords(Schema):
    """Search words in zh-TW and en: abbreviations and synonyms of an item's name."""

    zh_tw = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)), data_key="zh-TW", load_default=list
    )
    en = fields.List(fields.String(validate=validate.Length(min=1, max=40)), load_default=list)


def _keywords() -> fields.Nested:
    return fields.Nested(LocalizedKeywords, load_default=lambda: {"zh_tw": [], "en": []})


class FrameworkHeader(Schema):
    """The ``[framework]`` table."""

    id = fields.String(required=True, validate=validate.Regexp(KEY))
    version = fields.String(required=True, validate=validate.Length(min=1, max=40))
    title = _text()
    source = _text(required=False)


class _Entry(Schema):
    """What every competency, indicator and attitude has: a bilingual name and keywords."""

    name = _text()
    keywords = _keywords()


class _DescribedEntry(_Entry):
    """An indicator or an attitude: an entry with a bilingual description."""

    description = _text()


class CompetencyEntry(_Entry):
    """One ``[[competencies]]`` entry."""

    id = fields.String(required=True, validate=validate.Regexp(COMPETENCY_CODE))
    definition = _text()


class IndicatorEntry(_DescribedEntry):
    """One ``[[indicators]]`` entry."""

    id = fields.String(required=True, validate=validate.Regexp(INDICATOR_CODE))
    competency = fields.String(required=True, validate=validate.Regexp(COMPETENCY_CODE))
    kind = fields.String(required=True, validate=validate.OneOf(("knowledge", "skill")))

    @validates_schema
    def check_code_matches(self, data: dict[str, Any], **_kwargs: object) -> None:
        """``DC1-K2`` must belong to ``DC1`` and be a knowledge indicator."""
        code, competency, kind = data["id"], data["competency"], data["kind"]
        if not code.startswith(f"{competency}-"):
            raise ValidationError(f"id {code} does not belong to {competency}", "competency")
        letter = code.split("-")[1][0]
        if (letter == "K") != (kind == "knowledge"):
            raise ValidationError(f"id {code} does not match kind {kind!r}", "kind")


class AttitudeEntry(_DescribedEntry):
    """One ``[[attitudes]]`` entry."""

    id = fields.String(required=True, validate=validate.Regexp(ATTITUDE_CODE))


class LevelEntry(Schema):
    """One level of a scale."""

    number = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    band = fields.String(load_default="", validate=validate.OneOf((*BANDS, "")))
    name = _text()
    description = _text(required=False)


class ScaleEntry(Schema):
    """One ``[[scales]]`` entry with its levels."""

    id = fields.String(required=True, validate=validate.Regexp(KEY))
    name = _text()
    levels = fields.List(fields.Nested(LevelEntry), required=True, validate=validate.Length(min=1))

    @validates_schema
    def check_levels_numbered(self, data: dict[str, Any], **_kwargs: object) -> None:
        """Levels are numbered 1..n without gaps."""
        numbers = [level["number"] for level in data["levels"]]
        if sorted(numbers) != list(range(1, len(numbers) + 1)):
            raise ValidationError(f"levels must be numbered 1..{len(numbers)}", "levels")


class MappingEntry(Schema):
    """One ``[[scale_mapping]]`` row: a report level and its DigComp levels."""

    report_level = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    digcomp_levels = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1)),
        required=True,
        validate=validate.Length(min=1),
    )
    note = _text(required=False)

    @validates_schema
    def check_contiguous(self, data: dict[str, Any], **_kwargs: object) -> None:
        """A report level maps to a run of consecutive DigComp levels."""
        levels = sorted(data["digcomp_levels"])
        if levels != list(range(levels[0], levels[-1] + 1)):
            raise ValidationError("must be consecutive levels", "digcomp_levels")


class GradeEntry(Schema):
    """One ``[[grades]]`` entry."""

    id = fields.String(required=True, validate=validate.Regexp(KEY))
    name = _text()


class TopicEntry(Schema):
    """One topic of a class; each becomes a catalog module."""

    id = fields.String(required=True, validate=validate.Regexp(KEY))
    title = _text()
    hours = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    description = _text(required=False)
    tags = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class ClassEntry(Schema):
    """One ``[[classes]]`` entry (a recommended class of 表 4)."""

    id = fields.String(required=True, validate=validate.Regexp(KEY))
    name = _text()
    audience = _text()
    grades = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    days = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    hours = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    competencies = fields.List(
        fields.String(validate=validate.Regexp(COMPETENCY_CODE)),
        required=True,
        validate=validate.Length(min=1),
    )
    goal = _text(required=False)
    topics = fields.List(fields.Nested(TopicEntry), required=True, validate=validate.Length(min=1))

    @validates_schema
    def check_hours_add_up(self, data: dict[str, Any], **_kwargs: object) -> None:
        """The class's hours are the sum of its topics' hours."""
        total = sum(topic["hours"] for topic in data["topics"])
        if abs(total - data["hours"]) > 1e-9:
            raise ValidationError(
                f"hours {data['hours']:g} differ from the topics' sum {total:g}", "hours"
            )


class GradeTargetEntry(Schema):
    """The default target levels of one grade."""

    grade = fields.String(required=True)
    levels = fields.Dict(
        keys=fields.String(validate=validate.Regexp(COMPETENCY_CODE)),
        values=fields.Integer(strict=True, validate=validate.Range(min=1)),
        required=True,
    )


class TargetsSection(Schema):
    """The ``[targets]`` table."""

    scale = fields.String(required=True)
    note = _text()
    grades = fields.List(fields.Nested(GradeTargetEntry), required=True)


class FrameworkFile(Schema):
    """The whole framework data file."""

    framework = fields.Nested(FrameworkHeader, required=True)
    competencies = fields.List(fields.Nested(CompetencyEntry), required=True)
    indicators = fields.List(fields.Nested(IndicatorEntry), required=True)
    attitudes = fields.List(fields.Nested(AttitudeEntry), load_default=list)
    scales = fields.List(fields.Nested(ScaleEntry), required=True)
    scale_mapping = fields.List(fields.Nested(MappingEntry), load_default=list)
    grades = fields.List(fields.Nested(GradeEntry), required=True)
    classes = fields.List(fields.Nested(ClassEntry), load_default=list)
    targets = fields.Nested(TargetsSection, required=True)


# --- Designer input -------------------------------------------------------------------------
# Each message is fixed English text marked with N_() for the catalog: the web layer shows it
# in the page's language after the field's label, so it names no field and no key itself.


Messages = dict[str, str | list[Any] | dict[Any, Any]]  # a field's error_messages
FILL_IN = N_("Fill this in.")
NOT_TEXT = N_("Must be text.")
NOT_A_NUMBER = N_("Enter a number.")
NOT_YES_NO = N_("Must be ticked or not.")
TOO_LONG = {
    200: N_("At most 200 characters."),
    500: N_("At most 500 characters."),
    1000: N_("At most 1,000 characters."),
    2000: N_("At most 2,000 characters."),
    MAX_MARKDOWN_CHARS: N_("At most 50,000 characters."),
}
TEXT_MESSAGES: Messages = {"required": FILL_IN, "null": FILL_IN, "invalid": NOT_TEXT}
NUMBER_MESSAGES: Messages = {
    "required": FILL_IN,
    "null": FILL_IN,
    "invalid": NOT_A_NUMBER,
    "too_large": NOT_A_NUMBER,
    "special": NOT_A_NUMBER,
}
YES_NO_MESSAGES: Messages = {"required": FILL_IN, "null": FILL_IN, "invalid": NOT_YES_NO}


def _above_zero(maximum: float, refusal: str, **options: Any) -> AsciiFloat:
    """A designer's number more than 0 and at most ``maximum``; ``refusal`` says so."""
    return AsciiFloat(
        error_messages=NUMBER_MESSAGES,
        validate=validate.Range(min=0, max=maximum, min_inclusive=False, error=refusal),
        **options,
    )


def _text_input(max_length: int, *, required: bool = False) -> fields.String:
    """A designer's text of at most ``max_length`` characters (non-empty when ``required``)."""
    checks = [validate.Length(max=max_length, error=TOO_LONG[max_length])]
    if required:
        return fields.String(
            required=True,
            error_messages=TEXT_MESSAGES,
            validate=[validate.Length(min=1, error=FILL_IN), *checks],
        )
    return fields.String(load_default="", error_messages=TEXT_MESSAGES, validate=checks)


def _http_url(value: str) -> None:
    """An empty string or an absolute http(s) URL."""
    if value and not re.match(r"^https?://[^\s/$.?#][^\s]*$", value, re.IGNORECASE):
        raise ValidationError(N_("Enter an address that starts with https:// or http://."))


class ChoiceInput(Schema):
    """One answer choice of a knowledge-check item."""

    key = fields.String(
        required=True,
        error_messages=TEXT_MESSAGES,
        validate=validate.Regexp(
            r"^[a-z0-9_]{1,20}$", error=N_("Not an answer key: a–z, 0–9 or _, at most 20.")
        ),
    )
    text_zh = _text_input(500, required=True)
    text_en = _text_input(500, required=True)
    correct = fields.Boolean(required=True, error_messages=YES_NO_MESSAGES)
    feedback_zh = _text_input(1000)
    feedback_en = _text_input(1000)


class CheckItemInput(Schema):
    """One multiple-choice item; ``multiple`` allows more than one correct choice."""

    prompt_zh = _text_input(2000, required=True)
    prompt_en = _text_input(2000, required=True)
    multiple = fields.Boolean(load_default=False, error_messages=YES_NO_MESSAGES)
    choices = fields.List(
        fields.Nested(ChoiceInput),
        required=True,
        error_messages={"required": N_("Give from 2 to 10 answers.")},
        validate=validate.Length(min=2, max=10, error=N_("Give from 2 to 10 answers.")),
    )

    @validates_schema
    def check_correct_choices(self, data: dict[str, Any], **_kwargs: object) -> None:
        """At least one correct choice; exactly one unless ``multiple``; unique keys."""
        if "choices" not in data:
            return  # refused above
        keys = [choice["key"] for choice in data["choices"]]
        if len(set(keys)) != len(keys):
            raise ValidationError(N_("Each answer needs a key of its own."), "choices")
        correct = sum(1 for choice in data["choices"] if choice["correct"])
        if correct == 0:
            raise ValidationError(N_("Mark at least one answer correct."), "choices")
        if correct > 1 and not data.get("multiple"):
            raise ValidationError(
                N_("Several answers are marked correct: tick “More than one answer is correct”."),
                "choices",
            )


class ModuleInput(Schema):
    """A module as a designer writes it."""

    title_zh = _text_input(200, required=True)
    title_en = _text_input(200, required=True)
    description_zh = _text_input(2000)
    description_en = _text_input(2000)
    hours = _above_zero(100, N_("Enter a number more than 0 and at most 100."), required=True)
    content_markdown_zh = _text_input(MAX_MARKDOWN_CHARS)
    content_markdown_en = _text_input(MAX_MARKDOWN_CHARS)
    external_url = fields.String(
        load_default="",
        error_messages=TEXT_MESSAGES,
        validate=[validate.Length(max=1000, error=TOO_LONG[1000]), _http_url],
    )
    external_display = fields.String(
        load_default="window",
        error_messages=TEXT_MESSAGES,
        validate=validate.OneOf(("window", "embed"), error=N_("Choose one of the options.")),
    )
    mastery_score = AsciiFloat(
        load_default=None,
        allow_none=True,
        error_messages=NUMBER_MESSAGES,
        validate=validate.Range(min=0, max=1, error=N_("Enter a number from 0 to 1.")),
    )
    check_items = fields.List(
        fields.Nested(CheckItemInput),
        load_default=list,
        validate=validate.Length(max=50, error=N_("At most 50 questions.")),
    )

    @validates_schema
    def check_mastery_needs_items(self, data: dict[str, Any], **_kwargs: object) -> None:
        """A mastery score only means something with a knowledge check."""
        if data.get("mastery_score") is not None and not data.get("check_items"):
            raise ValidationError(
                N_("A mastery score needs knowledge-check questions: add one, or leave it blank."),
                "mastery_score",
            )


class TagInput(Schema):
    """One competency tag: item ID, target level on the report scale, weight."""

    item = fields.String(
        required=True,
        error_messages=TEXT_MESSAGES,
        validate=validate.Length(min=1, max=40, error=N_("Not a competency ID.")),
    )
    level = fields.Integer(
        required=True,
        strict=True,
        error_messages={"required": FILL_IN, "null": FILL_IN, "invalid": N_("Choose a level.")},
    )
    weight = _above_zero(10, N_("Enter a weight more than 0 and at most 10."), load_default=1.0)
