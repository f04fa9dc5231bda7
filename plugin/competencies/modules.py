"""The module catalog: modules, their knowledge checks, versioned competency tags, placements."""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from plugin.competencies.content import render_markdown
from plugin.competencies.models import (
    EDITED_SEED_ORIGIN,
    SEED_ORIGIN,
    CheckItem,
    Framework,
    Item,
    Level,
    Module,
    ModuleTag,
    Placement,
    Scale,
)
from plugin.competencies.schemas import ModuleInput, TagInput
from plugin.core.db import utcnow
from plugin.core.errors import N_, InvalidInput, NotFound
from plugin.organisations.audience import Audience

# The Markdown of each language, rendered into content_html_zh / content_html_en.
MARKDOWN_FIELDS = ("content_markdown_zh", "content_markdown_en")


def first_error(error: ValidationError) -> tuple[str, str]:
    """(``field.path``, message) of the first marshmallow error."""
    messages: Any = error.messages
    path: list[str] = []
    while isinstance(messages, dict):
        key = sorted(messages, key=str)[0]
        path.append(str(key))
        messages = messages[key]
    text = "; ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
    return ".".join(path), text


def all_errors(error: ValidationError) -> list[tuple[str, str]]:
    """Every (``field.path``, message) of a marshmallow error, in the schema's field order."""
    found: list[tuple[str, str]] = []

    def walk(messages: Any, path: list[str]) -> None:
        if isinstance(messages, dict):
            for key, inner in messages.items():
                walk(inner, [*path, str(key)])
        elif isinstance(messages, list):
            for message in messages:
                walk(message, path)
        else:
            found.append((".".join(path), str(messages)))

    walk(error.messages, [])
    return found


def load_input(schema: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Validate ``data`` with a marshmallow schema; the error lists every field at fault."""
    try:
        loaded: dict[str, Any] = schema.load(data)
        return loaded
    except ValidationError as exc:
        faults = all_errors(exc)
        path = faults[0][0]
        message = "; ".join(f"{where}: {text}" for where, text in faults)
        raise InvalidInput(message, field=path, faults=faults) from None


def new_module_key() -> str:
    """A short, stable, URL-safe key for a designer's new module."""
    return "m-" + uuid.uuid4().hex[:12]


def module_iri(iri_base: str, framework_key: str, key: str) -> str:
    """The activity IRI of a module (stable: stored when the module is created)."""
    return f"{iri_base}{framework_key}/modules/{key}"


def get_module(session: Session, key: str) -> Module:
    """The module with ``key`` or :class:`NotFound` (any organisation's: the operator's view)."""
    module = session.scalars(select(Module).where(Module.key == key)).one_or_none()
    if module is None:
        raise NotFound(f"no module {key!r}", field="module")
    return module


def readable_by(audience: Audience) -> ColumnElement[bool]:
    """The modules ``audience`` reads and places: its organisation's and the national catalog."""
    if audience.is_operator:
        return true()
    return or_(Module.organisation_id.is_(None), Module.organisation_id == audience.organisation_id)


def owned_by(audience: Audience) -> ColumnElement[bool]:
    """The modules ``audience`` may change: its organisation's (the national catalog is the
    operator's alone)."""
    if audience.is_operator:
        return true()
    return Module.organisation_id == audience.organisation_id


def find_module(session: Session, key: str, audience: Audience) -> Module:
    """The module with ``key`` if ``audience`` reads it; another organisation's module is
    :class:`NotFound` like an unknown key, so that keys cannot be probed."""
    module = session.scalars(
        select(Module).where(Module.key == key, readable_by(audience))
    ).one_or_none()
    if module is None:
        raise NotFound(f"no module {key!r}", field="module")
    return module


def modules_by_key(
    session: Session, keys: list[str], audience: Audience, *, owned: bool = False
) -> dict[str, Module]:
    """The modules of ``keys`` that ``audience`` reads (``owned``: may change), by key."""
    rule = owned_by(audience) if owned else readable_by(audience)
    return {
        module.key: module
        for module in session.scalars(select(Module).where(Module.key.in_(keys), rule))
    }


def contains_pattern(query: str) -> str:
    """A LIKE pattern matching ``query`` literally anywhere (``%`` and ``_`` escaped)."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_modules(
    session: Session,
    query: str = "",
    limit: int = 50,
    *,
    audience: Audience,
    owned: bool = False,
) -> list[Module]:
    """Modules ``audience`` reads (``owned``: may change) whose key or title (zh-TW or en)
    contains ``query``."""
    rule = owned_by(audience) if owned else readable_by(audience)
    statement = select(Module).where(rule).order_by(Module.key).limit(limit)
    if query.strip():
        pattern = contains_pattern(query.strip())
        columns = (Module.title_zh, Module.title_en, Module.key)
        statement = statement.where(
            or_(*(column.ilike(pattern, escape="\\") for column in columns))
        )
    return list(session.scalars(statement))


def create_module(
    session: Session,
    data: dict[str, Any],
    framework: Framework,
    iri_base: str,
    *,
    organisation_id: int | None = None,
) -> Module:
    """Create a module from designer input (checked in full before anything is written).

    ``organisation_id`` owns it; None puts it in the national catalog (operator only).
    """
    values = load_input(ModuleInput(), data)
    key = new_module_key()
    module = Module(
        key=key,
        origin="designer",
        organisation_id=organisation_id,
        activity_iri=module_iri(iri_base, framework.key, key),
    )
    _apply(module, values)
    session.add(module)
    session.flush()
    return module


def update_module(session: Session, module: Module, data: dict[str, Any]) -> Module:
    """Replace a module's texts, content, hours, mastery score and knowledge check."""
    values = load_input(ModuleInput(), data)
    _apply(module, values)
    if module.origin == SEED_ORIGIN:
        # From now on the designer's text wins over the framework file on reloads.
        module.origin = EDITED_SEED_ORIGIN
    session.flush()
    return module


def _apply(module: Module, values: dict[str, Any]) -> None:
    module.title_zh = values["title_zh"]
    module.title_en = values["title_en"]
    module.description_zh = values["description_zh"]
    module.description_en = values["description_en"]
    module.hours = values["hours"]
    module.external_url = values["external_url"]
    module.external_display = values["external_display"]
    apply_content(module, values)


def apply_content(module: Module, values: Mapping[str, Any]) -> None:
    """Set a module's content (each language's Markdown and its HTML), mastery score and
    knowledge check from checked values."""
    module.content_markdown_zh = values["content_markdown_zh"]
    module.content_markdown_en = values["content_markdown_en"]
    module.content_html_zh = render_markdown(values["content_markdown_zh"])
    module.content_html_en = render_markdown(values["content_markdown_en"])
    module.mastery_score = values["mastery_score"]
    module.check_items = [
        CheckItem(
            position=position,
            prompt_zh=item["prompt_zh"],
            prompt_en=item["prompt_en"],
            multiple=item["multiple"],
            choices=copy.deepcopy(item["choices"]),
        )
        for position, item in enumerate(values["check_items"], start=1)
    ]


@dataclass
class TagChange:
    """What a tag edit did: tags added and tags retired (never rewritten)."""

    added: list[ModuleTag] = field(default_factory=list)
    retired: list[ModuleTag] = field(default_factory=list)


def report_scale_levels(session: Session, framework: Framework) -> int:
    """How many levels the framework's report scale has."""
    count = session.scalar(
        select(func.count())
        .select_from(Level)
        .join(Scale, Level.scale_id == Scale.id)
        .where(Scale.framework_id == framework.id, Scale.key == "report")
    )
    return int(count or 0)


def resolve_tags(
    session: Session, framework: Framework, raw_tags: list[dict[str, Any]]
) -> list[tuple[Item, int, float]]:
    """Check tag input: known IDs, levels on the scale, no duplicates; errors name the tag."""
    top = report_scale_levels(session, framework)
    items = {
        item.code: item
        for item in session.scalars(select(Item).where(Item.framework_id == framework.id))
    }
    resolved: list[tuple[Item, int, float]] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_tags):
        values = load_input(TagInput(), raw)
        code = values["item"].strip()
        where = f"tags[{index}]"
        if code not in items:
            raise InvalidInput(
                f"{where}.item: unknown competency ID {code!r}",
                field=where,
                faults=[(f"{where}.item", N_("Not in the framework."))],
            )
        if not 1 <= values["level"] <= top:
            raise InvalidInput(
                f"{where}.level: level {values['level']} is not on the scale 1–{top}",
                field=f"{where}.level",
                faults=[(f"{where}.level", N_("Not a level of the framework's scale."))],
            )
        if code in seen:
            raise InvalidInput(
                f"{where}.item: {code} is tagged twice",
                field=f"{where}.item",
                faults=[(f"{where}.item", N_("Tagged twice."))],
            )
        seen.add(code)
        resolved.append((items[code], values["level"], values["weight"]))
    return resolved


def set_module_tags(
    session: Session, module: Module, framework: Framework, raw_tags: list[dict[str, Any]]
) -> TagChange:
    """Make the module's tags these; a changed tag is retired and a new version added.

    Evidence points at the tag version it was recorded under, so retiring instead of
    rewriting keeps every earlier record's meaning.
    """
    wanted = resolve_tags(session, framework, raw_tags)
    change = TagChange()
    now = utcnow()
    current = {tag.item_id: tag for tag in module.active_tags}
    wanted_ids = {item.id for item, _level, _weight in wanted}
    for item_id, unwanted in current.items():
        if item_id not in wanted_ids:
            unwanted.retired_at = now
            change.retired.append(unwanted)
    for item, level, weight in wanted:
        tag = current.get(item.id)
        if tag is not None and tag.level == level and tag.weight == weight:
            continue
        if tag is not None:
            tag.retired_at = now
            change.retired.append(tag)
        new_tag = ModuleTag(item_id=item.id, level=level, weight=weight, created_at=now)
        module.tags.append(new_tag)
        change.added.append(new_tag)
    session.flush()
    return change


def bulk_tag(
    session: Session, modules: list[Module], framework: Framework, raw_tag: dict[str, Any]
) -> int:
    """Add (or re-level) one tag on many modules at once; returns how many changed."""
    ((item, level, weight),) = resolve_tags(session, framework, [raw_tag])
    changed = 0
    for module in modules:
        tags = [
            {"item": tag.item.code, "level": tag.level, "weight": tag.weight}
            for tag in module.active_tags
            if tag.item_id != item.id
        ]
        tags.append({"item": item.code, "level": level, "weight": weight})
        if set_module_tags(session, module, framework, tags).added:
            changed += 1
    return changed


def search_items(session: Session, framework: Framework, query: str) -> list[Item]:
    """Competencies, indicators and attitudes whose ID, name, definition or keywords (zh/en)
    contain ``query``."""
    statement = select(Item).where(Item.framework_id == framework.id).order_by(Item.position)
    if query.strip():
        pattern = contains_pattern(query.strip())
        columns = (
            Item.code,
            Item.name_zh,
            Item.name_en,
            Item.description_zh,
            Item.description_en,
            Item.keywords_zh,
            Item.keywords_en,
        )
        statement = statement.where(
            or_(*(column.ilike(pattern, escape="\\") for column in columns))
        )
    return list(session.scalars(statement))


def similar_module_tags(
    session: Session, module: Module, audience: Audience, limit: int = 8
) -> list[tuple[Item, int]]:
    """Items tagged on modules ``audience`` reads that share a tag or a class with this one,
    most common first."""
    own = {tag.item_id for tag in module.active_tags}
    conditions = [Module.tags.any(and_(ModuleTag.item_id.in_(own), ModuleTag.retired_at.is_(None)))]
    if module.class_id is not None:
        conditions.append(Module.class_id == module.class_id)
    neighbours = session.scalars(
        select(Module).where(Module.id != module.id, readable_by(audience), or_(*conditions))
    )
    counter: Counter[int] = Counter()
    items: dict[int, Item] = {}
    for neighbour in neighbours:
        for tag in neighbour.active_tags:
            if tag.item_id not in own:
                counter[tag.item_id] += 1
                items[tag.item_id] = tag.item
    return [(items[item_id], count) for item_id, count in counter.most_common(limit)]


def find_placement(
    session: Session, issuer: str, deployment_id: str, resource_link_id: str
) -> Placement | None:
    """The module placement of a platform's resource link, if bound."""
    return session.scalars(
        select(Placement).where(
            Placement.issuer == issuer,
            Placement.deployment_id == deployment_id,
            Placement.resource_link_id == resource_link_id,
        )
    ).one_or_none()


def bind_placement(
    session: Session,
    *,
    issuer: str,
    deployment_id: str,
    resource_link_id: str,
    context_id: str,
    module: Module,
) -> Placement:
    """Bind a resource link to a module (re-binding moves it)."""
    placement = find_placement(session, issuer, deployment_id, resource_link_id)
    if placement is None:
        placement = Placement(
            issuer=issuer,
            deployment_id=deployment_id,
            resource_link_id=resource_link_id,
            context_id=context_id,
            module_id=module.id,
        )
        session.add(placement)
    else:
        placement.module_id = module.id
        placement.context_id = context_id or placement.context_id
    session.flush()
    return placement
