"""Modules belong to organisations: the national catalog is copied, not changed; another
organisation's modules are neither listed, placed nor bound (README "Organisations, roles and
what each sees")."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from plugin.competencies.framework import get_framework
from plugin.competencies.models import Placement
from plugin.competencies.modules import create_module, get_module, set_module_tags
from plugin.organisations.services import create_organisation, default_organisation
from tests.support.app import IRI_BASE
from tests.support.designer import (
    SEED_MODULE,
    Tool,
    copy_of,
    deep_linking_launch,
    module_form,
    resource_launch,
    text,
)
from tests.support.flows import Flow
from tests.support.modules import module_input

OTHER_TITLE = "另一機關的單元 other-agency-module-7e21"


@pytest.fixture
def designer(flow: Flow) -> Tool:
    """A course designer's launch (LTI role Instructor)."""
    return resource_launch(flow, "Instructor")


@pytest.fixture
def other_module(app: Flask) -> str:
    """A module of another organisation, tagged like any other."""
    with app.extensions["plugin.db"].session_scope() as session:
        other = create_organisation(session, "other-agency", "另一機關")
        framework = get_framework(session)
        assert framework is not None
        data = module_input(title_zh=OTHER_TITLE)
        module = create_module(session, data, framework, IRI_BASE, organisation_id=other.id)
        set_module_tags(session, module, framework, [{"item": "DC1-K1", "level": 1}])
        return module.key


def snapshot(app: Flask, key: str) -> dict[str, Any]:
    """A module's content, check and tags as plain values."""
    with app.extensions["plugin.db"].session_scope() as session:
        module = get_module(session, key)
        return {
            "organisation_id": module.organisation_id,
            "texts": [getattr(module, name) for name in COPIED_TEXTS],
            "check": [(i.position, i.prompt_zh, i.prompt_en, i.multiple, i.choices)
                      for i in module.check_items],
            "tags": sorted((t.item.code, t.level, t.weight) for t in module.active_tags),
            "retired": sorted((t.item.code, t.level) for t in module.tags if t.retired_at),
            "class_id": module.class_id,
            "activity_iri": module.activity_iri,
            "origin": module.origin,
        }  # fmt: skip


COPIED_TEXTS = (
    "title_zh", "title_en", "description_zh", "description_en", "hours",
    "content_markdown_zh", "content_markdown_en", "content_html_zh", "content_html_en",
    "external_url", "external_display", "mastery_score",
)  # fmt: skip


def test_a_copy_has_a_new_key_the_organisation_and_the_content_check_and_active_tags(
    designer: Tool, app: Flask
) -> None:
    with app.extensions["plugin.db"].session_scope() as session:
        # The operator once changed a tag of the national module: that version is history.
        national = get_module(session, SEED_MODULE)
        framework = get_framework(session)
        assert framework is not None
        tags = [{"item": t.item.code, "level": t.level} for t in national.active_tags]
        tags[0]["level"] = 3 if tags[0]["level"] != 3 else 2
        set_module_tags(session, national, framework, tags)
        default_id = default_organisation(session).id
    original = snapshot(app, SEED_MODULE)
    assert original["retired"] and original["check"]

    response = designer.post(f"/designer/modules/{SEED_MODULE}/copy", {})
    key = copy_of(designer, SEED_MODULE)  # a second copy: each gets its own key

    assert response.status_code == 303 and "copied=1" in response.headers["Location"]
    copy = snapshot(app, key)
    assert key != SEED_MODULE and key not in response.headers["Location"]
    assert copy["organisation_id"] == default_id and original["organisation_id"] is None
    assert copy["texts"] == original["texts"] and copy["check"] == original["check"]
    assert copy["tags"] == original["tags"] and copy["retired"] == []
    assert copy["class_id"] == original["class_id"] and copy["origin"] == "designer"
    assert copy["activity_iri"].endswith(f"/modules/{key}")
    assert snapshot(app, SEED_MODULE) == original  # the national module is as it was
    editor = text(designer.follow(response))
    assert "已複製到貴機關的單元目錄" in editor


def test_the_catalog_offers_a_copy_of_national_modules_and_editing_of_its_own(
    designer: Tool,
) -> None:
    national = text(designer.get("/designer/modules", q=SEED_MODULE))
    assert f'action="/designer/modules/{SEED_MODULE}/copy"' in national
    assert f"/designer/modules/{SEED_MODULE}/edit" not in national
    assert f"/designer/modules/{SEED_MODULE}/tags" not in national
    assert "全國單元目錄" in national
    own = copy_of(designer, SEED_MODULE)
    mine = text(designer.get("/designer/modules", q=own))
    assert (
        f"/designer/modules/{own}/edit?lt=" in mine and f"/designer/modules/{own}/tags?lt=" in mine
    )
    assert f"/designer/modules/{own}/copy" not in mine
    english = text(designer.get("/designer/modules", q=SEED_MODULE, lang="en"))
    assert "Copy into our catalog" in english


def test_the_national_module_refusal_is_in_the_pages_language(designer: Tool) -> None:
    english = designer.get(f"/designer/modules/{SEED_MODULE}/edit", lang="en")
    assert english.status_code == 403
    assert "Modules of the national catalog cannot be changed here" in text(english)


def test_a_designer_previewing_a_national_module_is_offered_a_copy_not_the_editor(
    flow: Flow, designer: Tool
) -> None:
    bound = designer.post("/lti/bind", {"module": SEED_MODULE})
    assert bound.status_code == 303  # the national catalog is placeable
    page = text(designer.follow(bound))
    bar = page.split('class="designer-bar"')[1].split("<article", 1)[0]  # navigation and actions
    assert f'action="/designer/modules/{SEED_MODULE}/copy"' in bar
    assert "/edit" not in bar and "/tags" not in bar


def test_another_organisations_module_is_neither_listed_nor_edited_nor_copied(
    designer: Tool, app: Flask, other_module: str
) -> None:
    before = snapshot(app, other_module)
    for query in (other_module, OTHER_TITLE):
        for path in ("/designer/modules", "/designer/tags/bulk", "/lti/unbound"):
            page = designer.get(path, q=query)
            assert page.status_code == 200
            assert f"{other_module}</span>" not in text(page), (path, query)
    for path in (
        f"/designer/modules/{other_module}/edit",
        f"/designer/modules/{other_module}/tags",
    ):
        assert designer.get(path).status_code == 404, path
    posts = (
        (f"/designer/modules/{other_module}/edit", module_form(title_zh="改掉")),
        (f"/designer/modules/{other_module}/tags", {"add_item": "DC1-K2", "add_level": "1"}),
        (f"/designer/modules/{other_module}/copy", {}),
    )
    for path, data in posts:
        assert designer.post(path, data).status_code == 404, path
    unknown = designer.post("/designer/modules/no-such-module/copy", {})
    assert unknown.status_code == 404  # the same answer as for a key that does not exist
    bulk = designer.post("/designer/tags/bulk", {"module": other_module, "item": "DC1-K2",
                                                 "level": "1"})  # fmt: skip
    assert bulk.status_code == 400 and f"{other_module}" in text(bulk)  # "unknown module"
    assert snapshot(app, other_module) == before


def test_the_picker_and_the_binding_place_own_and_national_modules_only(
    flow: Flow, designer: Tool, app: Flask, other_module: str
) -> None:
    own = copy_of(designer, SEED_MODULE)
    picker = deep_linking_launch(flow)
    listed = text(picker.get("/lti/deep-link", q=OTHER_TITLE))
    assert other_module not in listed
    chosen = re.findall(r'name="module" value="([^"]+)"', text(picker.get("/lti/deep-link")))
    assert own in chosen and SEED_MODULE in chosen and other_module not in chosen
    refused = picker.post("/lti/deep-link", {"module": [own, other_module]})
    assert refused.status_code == 400 and "picker-error" in text(refused)
    placed = picker.post("/lti/deep-link", {"module": [own, SEED_MODULE]})
    assert placed.status_code == 200
    assert designer.post("/lti/bind", {"module": other_module}).status_code == 404
    with app.extensions["plugin.db"].session_scope() as session:
        module_id = get_module(session, other_module).id
        assert (
            session.scalars(select(Placement).where(Placement.module_id == module_id)).all() == []
        )


def test_the_operators_coverage_counts_every_organisation_or_the_one_named(
    app: Flask, other_module: str, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    everyone, scoped = tmp_path / "everyone.csv", tmp_path / "default.csv"
    first = runner.invoke(args=["catalog", "coverage", "--csv", str(everyone)])
    second = runner.invoke(
        args=["catalog", "coverage", "--organisation", "default", "--csv", str(scoped)]
    )
    unknown = runner.invoke(args=["catalog", "coverage", "--organisation", "nowhere"])

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert other_module in everyone.read_text(encoding="utf-8-sig")
    default_view = scoped.read_text(encoding="utf-8-sig")
    assert other_module not in default_view and SEED_MODULE in default_view
    assert unknown.exit_code != 0 and "no organisation 'nowhere'" in unknown.output
