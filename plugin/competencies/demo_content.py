"""Demo learning content for the seed modules (``data/demo_content.toml``), checked and applied."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from plugin.competencies.content import check_markdown, clean_markdown
from plugin.competencies.modules import MARKDOWN_FIELDS, first_error
from plugin.competencies.schemas import ModuleInput
from plugin.core.errors import InvalidInput
from plugin.core.files import read_utf8

DEFAULT_DEMO_CONTENT_FILE = Path(__file__).resolve().parent / "data" / "demo_content.toml"
# The ModuleInput fields demo content supplies; titles and hours come from framework.toml.
CONTENT_FIELDS = (*MARKDOWN_FIELDS, "mastery_score", "check_items")


class DemoHeader(Schema):
    """The ``[demo]`` table: which framework's topics the entries belong to."""

    framework = fields.String(required=True, validate=validate.Length(min=1))


class DemoEntry(Schema):
    """One ``[modules."Cn-Tm"]`` entry as written; its content is then checked as ModuleInput."""

    content_markdown_zh = fields.String(required=True, validate=validate.Length(min=1))
    content_markdown_en = fields.String(required=True, validate=validate.Length(min=1))
    mastery_score = fields.Raw(load_default=None)
    check_items = fields.Raw(load_default=list)


def framework_topics(data: Mapping[str, Any]) -> dict[str, Any]:
    """The topics of checked framework data by id (``C4-T5`` → its topic entry)."""
    return {topic["id"]: topic for klass in data["classes"] for topic in klass["topics"]}


def read_demo_content(
    path: Path | str | None = None, topics: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Read and check a demo content file; errors name the topic and the field."""
    source = Path(path) if path else DEFAULT_DEMO_CONTENT_FILE
    raw_text = read_utf8(source)
    try:
        raw = tomllib.loads(raw_text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{source}: not valid TOML: {exc}", field="file") from None
    return check_demo_content(raw, source=str(source), topics=topics)


def check_demo_content(
    raw: Mapping[str, Any], source: str = "<data>", topics: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Check parsed demo content: ``{"framework": key, "modules": {topic id: entry}}``.

    Each entry becomes a ModuleInput-shaped dict (``content_markdown_zh``,
    ``content_markdown_en``, ``mastery_score``, ``check_items``) validated by ModuleInput and
    check_markdown, and refused where cleaning would remove anything.
    With ``topics`` (topic id → topic), an entry for a topic the framework lacks is refused.
    """

    def fail(path: str, message: str) -> InvalidInput:
        return InvalidInput(f"{source}: {path}: {message}", field=path)

    unknown = sorted(set(raw) - {"demo", "modules"})
    if unknown:
        raise fail(unknown[0], "unknown table")
    try:
        header = DemoHeader().load(raw.get("demo", {}))
    except ValidationError as exc:
        path, message = first_error(exc)
        raise fail(f"demo.{path}", message) from None
    entries = raw.get("modules")
    if not isinstance(entries, Mapping) or not entries:
        raise fail("modules", "no [modules.<topic id>] entries")
    modules: dict[str, Any] = {}
    for topic_id, entry in entries.items():
        where = f"modules.{topic_id}"
        if topics is not None and topic_id not in topics:
            raise fail(where, f"the framework has no topic {topic_id!r}")
        if not isinstance(entry, Mapping):
            raise fail(where, "must be a table")
        try:
            written = DemoEntry().load(entry)
        except ValidationError as exc:
            path, message = first_error(exc)
            raise fail(f"{where}.{path}", message) from None
        for name in MARKDOWN_FIELDS:
            try:
                check_markdown(written[name], field=f"{where}.{name}")
            except InvalidInput as exc:
                raise InvalidInput(f"{source}: {exc.message}", field=exc.field) from None
            # A designer's text is cleaned and saved; the bundled file is ours, and a part that
            # cleaning would change is a mistake to fix in the file.
            removed = clean_markdown(written[name]).removed
            if removed:
                names = ", ".join(sorted({removal.name for removal in removed}))
                raise fail(f"{where}.{name}", f"cleaning would remove {names}")
        try:
            values = ModuleInput(only=CONTENT_FIELDS).load(
                {name: written[name] for name in CONTENT_FIELDS}
            )
        except ValidationError as exc:
            path, message = first_error(exc)
            raise fail(f"{where}.{path}", message) from None
        modules[topic_id] = values
    return {"framework": header["framework"], "modules": modules}


@cache
def _bundled_demo_content() -> dict[str, Any]:
    return read_demo_content()


def demo_entry(framework_key: str, topic_id: str) -> dict[str, Any] | None:
    """The bundled demo content for a topic of ``framework_key``, or None when it has none."""
    content = _bundled_demo_content()
    if content["framework"] != framework_key:
        return None
    entry: dict[str, Any] | None = content["modules"].get(topic_id)
    return entry
