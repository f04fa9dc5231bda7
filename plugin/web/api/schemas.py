"""marshmallow schemas of the JSON API: query parameters in, response bodies out."""

from __future__ import annotations

import re

from marshmallow import RAISE, Schema, fields, validate

from plugin.web.inputs import MAX_PAGE, StrictInteger

ITEM_CODE = re.compile(r"^(DC[1-9][0-9]*(-[KS][1-9][0-9]*)?|AT[1-9][0-9]*)$")
# No control characters in text parameters (PostgreSQL refuses NUL in a string literal).
PLAIN_TEXT = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="contains control characters")
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20


# --- query parameters -------------------------------------------------------------------------


class PageQuery(Schema):
    """``?page=&per_page=``: pages from 1, at most 100 entries a page."""

    class Meta:
        unknown = RAISE

    page = StrictInteger(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": "Page, from 1."},
    )
    per_page = StrictInteger(
        load_default=DEFAULT_PER_PAGE,
        validate=validate.Range(min=1, max=MAX_PER_PAGE),
        metadata={"description": f"Entries per page, 1 to {MAX_PER_PAGE}."},
    )


class FrameworkQuery(Schema):
    """``?framework=``: which loaded framework (default: the first loaded)."""

    class Meta:
        unknown = RAISE

    framework = fields.String(
        validate=[validate.Length(min=1, max=100), PLAIN_TEXT],
        metadata={"description": "Framework key; default the first one loaded."},
    )


class ModuleQuery(PageQuery):
    """Module search: text in key or titles, and/or an item the module is tagged with."""

    q = fields.String(
        validate=[validate.Length(max=200), PLAIN_TEXT],
        metadata={"description": "Text in the key or the zh-TW / en title."},
    )
    item = fields.String(
        validate=validate.Regexp(ITEM_CODE, error="not an item code such as DC1-K2"),
        metadata={"description": "Only modules with an active tag on this item, e.g. DC1-K2."},
    )


class PersonQuery(PageQuery):
    """Person list, optionally narrowed to one platform identity."""

    issuer = fields.String(validate=[validate.Length(min=1, max=500), PLAIN_TEXT])
    sub = fields.String(validate=[validate.Length(min=1, max=255), PLAIN_TEXT])


class EvidenceQuery(PageQuery):
    """Evidence of one person, optionally of one item."""

    item = fields.String(
        validate=validate.Regexp(ITEM_CODE, error="not an item code such as DC1-K2"),
        metadata={"description": "Only evidence of this item, e.g. DC1-K2."},
    )


class AttainmentQuery(FrameworkQuery):
    """Attainment against one framework."""


# --- building blocks --------------------------------------------------------------------------


class Text(Schema):
    """A text in zh-TW and en."""

    zh_tw = fields.String(data_key="zh-TW", required=True)
    en = fields.String(required=True)


class Links(Schema):
    """Where the neighbouring pages are (null at either end)."""

    self = fields.String(required=True)
    next = fields.String(required=True, allow_none=True)
    prev = fields.String(required=True, allow_none=True)


class Page(Schema):
    """A page of a collection: its entries, the total and the links."""

    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    links = fields.Nested(Links, required=True)


class ErrorBody(Schema):
    """What went wrong: a stable code, a message, and the input at fault when there is one."""

    code = fields.String(required=True)
    message = fields.String(required=True)
    field = fields.String()


class ErrorResponse(Schema):
    """Every 4xx and 5xx answer of the API."""

    error = fields.Nested(ErrorBody, required=True)


# --- frameworks -------------------------------------------------------------------------------


class ItemOut(Schema):
    """A competency, indicator or attitude."""

    code = fields.String(required=True)
    kind = fields.String(
        required=True, validate=validate.OneOf(("competency", "knowledge", "skill", "attitude"))
    )
    parent = fields.String(required=True, allow_none=True)
    iri = fields.String(required=True)
    name = fields.Nested(Text, required=True)
    description = fields.Nested(Text, required=True)


class LevelOut(Schema):
    """One level of a proficiency scale."""

    number = fields.Integer(required=True)
    band = fields.String(required=True)
    name = fields.Nested(Text, required=True)
    equivalent_min = fields.Integer(required=True, allow_none=True)
    equivalent_max = fields.Integer(required=True, allow_none=True)


class ScaleOut(Schema):
    """A proficiency scale (the report's three levels, DigComp's eight)."""

    key = fields.String(required=True)
    name = fields.Nested(Text, required=True)
    levels = fields.List(fields.Nested(LevelOut), required=True)


class GradeOut(Schema):
    """A grade and the level it targets in each competency (report scale)."""

    key = fields.String(required=True)
    name = fields.Nested(Text, required=True)
    targets = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class FrameworkSummary(Schema):
    """A framework in a list."""

    key = fields.String(required=True)
    version = fields.String(required=True)
    iri = fields.String(required=True)
    title = fields.Nested(Text, required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    href = fields.String(required=True)


class FrameworkDetail(FrameworkSummary):
    """A framework with its items, scales, grades and targets."""

    items = fields.List(fields.Nested(ItemOut), required=True)
    scales = fields.List(fields.Nested(ScaleOut), required=True)
    grades = fields.List(fields.Nested(GradeOut), required=True)


class FrameworkPage(Page):
    """A page of frameworks."""

    items = fields.List(fields.Nested(FrameworkSummary), required=True)


# --- modules ----------------------------------------------------------------------------------


class TagOut(Schema):
    """An active competency tag of a module: the item and the level the module claims."""

    item = fields.String(required=True)
    kind = fields.String(required=True)
    iri = fields.String(required=True)
    level = fields.Integer(required=True)
    weight = fields.Float(required=True)


class ModuleSummary(Schema):
    """A module in a list."""

    key = fields.String(required=True)
    title = fields.Nested(Text, required=True)
    hours = fields.Float(required=True)
    activity_iri = fields.String(required=True)
    training_class = fields.String(required=True, allow_none=True)
    origin = fields.String(required=True)
    tags = fields.List(fields.Nested(TagOut), required=True)
    href = fields.String(required=True)


class ModuleDetail(ModuleSummary):
    """A module with its description, mastery score and audience."""

    description = fields.Nested(Text, required=True)
    mastery_score = fields.Float(required=True, allow_none=True)
    grades = fields.List(fields.String(), required=True)
    updated_at = fields.DateTime(required=True)


class ModulePage(Page):
    """A page of modules."""

    items = fields.List(fields.Nested(ModuleSummary), required=True)


# --- coverage ---------------------------------------------------------------------------------


class _UseOut(Schema):
    """How a module or outside course counts on a coverage row."""

    hours = fields.Float(required=True)
    grades = fields.List(fields.String(), required=True)
    direct = fields.Boolean(required=True)
    via = fields.List(fields.String(), required=True)


class ModuleUseOut(_UseOut):
    """A module counted on a coverage row."""

    key = fields.String(required=True)
    title = fields.Nested(Text, required=True)


class CourseUseOut(_UseOut):
    """An outside course counted on a coverage row."""

    code = fields.String(required=True)
    title = fields.String(required=True)


class CoverageRowOut(Schema):
    """One framework item and what the catalog offers for it."""

    code = fields.String(required=True)
    kind = fields.String(required=True)
    parent = fields.String(required=True, allow_none=True)
    name = fields.Nested(Text, required=True)
    covered = fields.Boolean(required=True)
    modules = fields.List(fields.Nested(ModuleUseOut), required=True)
    courses = fields.List(fields.Nested(CourseUseOut), required=True)
    module_hours = fields.Float(required=True)
    course_hours = fields.Float(required=True)
    total_hours = fields.Float(required=True)
    hours_by_grade = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)


class CompetencySummaryOut(Schema):
    """How many of a competency's indicators the catalog covers."""

    code = fields.String(required=True)
    name = fields.Nested(Text, required=True)
    indicators = fields.Integer(required=True)
    covered = fields.Integer(required=True)
    uncovered = fields.List(fields.String(), required=True)
    hours = fields.Float(required=True)


class GradeRefOut(Schema):
    """A grade as a coverage column."""

    key = fields.String(required=True)
    name = fields.Nested(Text, required=True)


class CoverageOut(Schema):
    """The coverage of one framework by the catalog and the outside courses."""

    framework = fields.String(required=True)
    grades = fields.List(fields.Nested(GradeRefOut), required=True)
    rows = fields.List(fields.Nested(CoverageRowOut), required=True)
    competencies = fields.List(fields.Nested(CompetencySummaryOut), required=True)
    uncovered = fields.List(fields.String(), required=True)


# --- persons, attainment, evidence ------------------------------------------------------------


class IdentityOut(Schema):
    """A platform identity of a person."""

    issuer = fields.String(required=True)
    sub = fields.String(required=True)


class PersonOut(Schema):
    """A learner with their platform identities and grade."""

    id = fields.Integer(required=True)
    identities = fields.List(fields.Nested(IdentityOut), required=True)
    grade = fields.String(
        required=True, allow_none=True, metadata={"description": "Grade key; null when unknown."}
    )
    href = fields.String()


class PersonPage(Page):
    """A page of persons."""

    items = fields.List(fields.Nested(PersonOut), required=True)


class EvidenceOut(Schema):
    """One observation behind an attainment."""

    id = fields.Integer(required=True)
    item = fields.String(required=True, attribute="item_id")
    level = fields.Integer(required=True)
    score = fields.Float(required=True)
    observed_at = fields.DateTime(required=True)
    source_kind = fields.String(required=True)
    source_id = fields.String(required=True)
    module_key = fields.String(required=True)
    recorded_at = fields.DateTime(required=True)


class EvidencePage(Page):
    """A page of evidence."""

    items = fields.List(fields.Nested(EvidenceOut), required=True)


class AttainmentItemOut(Schema):
    """A person's value and level for one item, and the evidence behind them."""

    id = fields.String(required=True)
    kind = fields.String(required=True)
    value = fields.Float(required=True, allow_none=True)
    level = fields.Integer(required=True)
    evidence = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Source ids of the evidence (statement ids for statements)."},
    )


class CompetencyGapOut(Schema):
    """A competency's level against the target of the person's grade."""

    id = fields.String(required=True)
    level = fields.Integer(required=True)
    target = fields.Integer(required=True, allow_none=True)
    gap = fields.Integer(required=True, allow_none=True)


class AttainmentOut(Schema):
    """A person's attainment: per item, per competency against the target, with evidence."""

    person = fields.Nested(PersonOut, required=True)
    items = fields.List(fields.Nested(AttainmentItemOut), required=True)
    competencies = fields.List(fields.Nested(CompetencyGapOut), required=True)
