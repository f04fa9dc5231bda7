"""CASE 1.1 export and import of the framework: counts, stable ids, a lossless round trip."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import create_app
from plugin.competencies.case import (
    EXTENSION_KEY,
    case_json,
    case_uuid,
    export_case,
    import_case,
    read_case,
)
from plugin.competencies.framework import get_framework, item_iri
from plugin.competencies.models import Framework, Item
from plugin.core.errors import InvalidInput
from tests.support.app import IRI_BASE, app_config, copy_database


@pytest.fixture
def blank_app(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Flask]:
    """A second app, beside ``app``, on a migrated database with no framework."""
    folder = tmp_path / "blank"
    folder.mkdir()
    application = create_app(app_config(folder, copy_database(migrated_sqlite, folder)))
    yield application
    application.extensions["plugin.db"].dispose()


def _export(app: Flask) -> dict[str, Any]:
    with app.extensions["plugin.db"].session_scope() as session:
        framework = get_framework(session)
        assert framework is not None
        return export_case(framework, IRI_BASE, "Test tool")


def _items(session: Session) -> list[tuple[Any, ...]]:
    rows = session.scalars(select(Item).order_by(Item.code))
    return [
        (
            item.code,
            item.kind,
            item.parent.code if item.parent else None,
            item.name_zh,
            item.name_en,
            item.description_zh,
            item.description_en,
            item.keywords_zh,
            item.keywords_en,
        )
        for item in rows
    ]


def test_export_has_every_item_and_the_hierarchy(app: Flask) -> None:
    package = _export(app)
    types = [entry["CFItemType"] for entry in package["CFItems"]]
    assert types.count("Competency") == 5
    assert types.count("Indicator") == 31
    assert types.count("Attitude") == 5
    associations = package["CFAssociations"]
    assert len(associations) == 31
    assert {a["associationType"] for a in associations} == {"isChildOf"}
    by_id = {entry["identifier"]: entry for entry in package["CFItems"]}
    for association in associations:
        child = by_id[association["originNodeURI"]["identifier"]]
        parent = by_id[association["destinationNodeURI"]["identifier"]]
        assert child["CFItemType"] == "Indicator" and parent["CFItemType"] == "Competency"
        assert child["humanCodingScheme"].startswith(parent["humanCodingScheme"] + "-")
    dc1 = next(e for e in package["CFItems"] if e["humanCodingScheme"] == "DC1")
    assert dc1["fullStatement"] == "資訊與資料素養"
    assert dc1["language"] == "zh-TW"
    assert dc1["alternativeLabel"]
    titles = {t["title"] for t in package["CFDefinitions"]["CFItemTypes"]}
    assert titles == {"Competency", "Indicator", "Attitude"}
    assert package["CFDocument"]["creator"] == "Test tool"


def test_identifiers_are_uuid5_of_the_uris_and_stable(app: Flask) -> None:
    first, second = _export(app), _export(app)
    assert case_json(first) == case_json(second)
    for entry in first["CFItems"]:
        uri = item_iri(IRI_BASE, "tw-civil-service-dc", entry["humanCodingScheme"])
        assert entry["uri"] == uri
        assert entry["identifier"] == case_uuid(uri)
        assert uuid.UUID(entry["identifier"]).version == 5
    identifiers = [e["identifier"] for e in first["CFItems"] + first["CFAssociations"]]
    assert len(set(identifiers)) == len(identifiers)


def test_export_import_into_an_empty_database_and_export_again_is_identical(
    app: Flask, blank_app: Flask
) -> None:
    package = _export(app)
    text = case_json(package)
    with blank_app.extensions["plugin.db"].session_scope() as session:
        report = import_case(session, read_case(text))
    assert report.framework == "tw-civil-service-dc"
    assert report.created == 41 and report.updated == 0
    with blank_app.extensions["plugin.db"].session_scope() as session:
        framework = get_framework(session)
        assert framework is not None
        again = export_case(framework, IRI_BASE, "Test tool")
        imported_items = _items(session)
    assert case_json(again) == text
    with app.extensions["plugin.db"].session_scope() as session:
        assert _items(session) == imported_items
    # Importing the same package again changes no item.
    with blank_app.extensions["plugin.db"].session_scope() as session:
        report = import_case(session, package)
        assert report.created == 0 and report.updated == 41
        assert _items(session) == imported_items


def test_search_keywords_travel_as_concept_keywords_and_survive_the_round_trip(
    app: Flask, blank_app: Flask
) -> None:
    package = _export(app)
    by_code = {entry["humanCodingScheme"]: entry for entry in package["CFItems"]}
    privacy = by_code["DC4-K1"]
    assert privacy["conceptKeywords"][:2] == ["個資", "個人資料保護"]
    assert privacy["extensions"][EXTENSION_KEY]["keywordsEn"][0] == "personal data protection"
    assert "conceptKeywords" not in by_code["AT1"]  # no keywords, no empty field
    with blank_app.extensions["plugin.db"].session_scope() as session:
        import_case(session, package)
        item = session.scalars(select(Item).where(Item.code == "DC4-K1")).one()
        assert item.keywords_zh.split("\n")[:2] == ["個資", "個人資料保護"]


@pytest.mark.parametrize("keywords", ["個資", ["個資", 3], ["", "資安"], ["a\nb"]])
def test_concept_keywords_that_are_not_one_line_strings_are_refused_naming_the_item(
    app: Flask, blank_app: Flask, keywords: Any
) -> None:
    package = _export(app)
    package["CFItems"][5]["conceptKeywords"] = keywords
    with blank_app.extensions["plugin.db"].session_scope() as session:
        with pytest.raises(InvalidInput) as caught:
            import_case(session, package)
        assert caught.value.field is not None
        assert caught.value.field.startswith("CFItems[5].conceptKeywords")
        assert get_framework(session) is None  # nothing half-imported


def test_a_foreign_case_framework_loads_by_coding_scheme_and_is_child_of(
    blank_app: Flask,
) -> None:
    doc = {"identifier": "d1", "uri": "https://example.org/d1", "title": "Other framework"}
    link = {"title": "x", "uri": "https://example.org/x"}
    package = {
        "CFDocument": doc,
        "CFItems": [
            {"identifier": "a", "fullStatement": "Math", "humanCodingScheme": "M"},
            {"identifier": "b", "fullStatement": "Add", "humanCodingScheme": "M.1"},
            {"identifier": "c", "fullStatement": "No code here"},
        ],
        "CFAssociations": [
            {
                "identifier": "r",
                "associationType": "isChildOf",
                "originNodeURI": {**link, "identifier": "b"},
                "destinationNodeURI": {**link, "identifier": "a"},
            },
            {
                "identifier": "s",
                "associationType": "isChildOf",
                "originNodeURI": {**link, "identifier": "a"},
                "destinationNodeURI": {**link, "identifier": "d1"},
            },
        ],
    }
    with blank_app.extensions["plugin.db"].session_scope() as session:
        report = import_case(session, package)
        assert report.skipped == ["c"]
        framework = session.scalars(select(Framework)).one()
        assert framework.key == "case-d1"
        items = {item.code: item for item in session.scalars(select(Item))}
    assert items["M"].kind == "competency" and items["M"].parent_id is None
    assert items["M.1"].kind == "knowledge" and items["M.1"].parent_id == items["M"].id


@pytest.mark.parametrize(
    ("damage", "field"),
    [
        (lambda p: p.pop("CFDocument"), "CFDocument"),
        (lambda p: p["CFDocument"].pop("title"), "CFDocument.title"),
        (lambda p: p["CFItems"][3].pop("fullStatement"), "CFItems[3].fullStatement"),
        (lambda p: p["CFItems"][2].update(humanCodingScheme=7), "CFItems[2].humanCodingScheme"),
        (lambda p: p["CFItems"][4].update(humanCodingScheme="DC1"), "CFItems[4].humanCodingScheme"),
        (lambda p: p.update(CFItems={}), "CFItems"),
        (
            lambda p: p["CFAssociations"][0].pop("originNodeURI"),
            "CFAssociations[0].originNodeURI",
        ),
        (
            lambda p: p["CFDocument"]["extensions"].update({EXTENSION_KEY: []}),
            f"CFDocument.extensions.{EXTENSION_KEY}",
        ),
    ],
)
def test_a_malformed_package_is_refused_naming_the_field(
    app: Flask, blank_app: Flask, damage: Any, field: str
) -> None:
    package = copy.deepcopy(_export(app))
    damage(package)
    with blank_app.extensions["plugin.db"].session_scope() as session:
        with pytest.raises(InvalidInput) as caught:
            import_case(session, package)
        assert caught.value.field == field
        assert field in caught.value.message
        session.rollback()
        assert session.scalars(select(Item)).first() is None


def test_text_that_is_not_json_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_case("{not json")
    assert caught.value.field == "file"
    with pytest.raises(InvalidInput):
        read_case("[]")
