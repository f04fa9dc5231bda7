"""Loading the framework file: counts from the report, idempotent, errors name the entry."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.competencies.framework import (
    DEFAULT_FRAMEWORK_FILE,
    check_framework,
    count_items,
    get_framework,
    item_iri,
    load_framework,
)
from plugin.competencies.models import (
    Framework,
    GradeTarget,
    Item,
    Level,
    Module,
    ModuleTag,
    TrainingClass,
)
from plugin.core.db import create_db_engine
from plugin.core.errors import InvalidInput
from plugin.core.migrate import upgrade_database
from tests.support.app import IRI_BASE


@pytest.fixture(scope="module")
def raw_framework() -> dict[str, Any]:
    """The bundled file as plain TOML data, for tests that break it on purpose."""
    return tomllib.loads(DEFAULT_FRAMEWORK_FILE.read_text(encoding="utf-8"))


def broken(raw: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A deep copy of ``raw`` with ``change`` applied."""
    data = copy.deepcopy(raw)
    change(data)
    return data


def test_loaded_framework_has_the_counts_of_table_3_and_4(
    session: Session, framework_data: dict[str, Any]
) -> None:
    load_framework(session, framework_data, IRI_BASE)
    framework = get_framework(session)
    assert framework is not None
    assert count_items(session, framework) == {
        "competency": 5,
        "knowledge": 16,
        "skill": 15,
        "attitude": 5,
    }
    assert session.scalar(select(func.count()).select_from(TrainingClass)) == 8
    topics = [t for c in framework_data["classes"] for t in c["topics"]]
    assert session.scalar(select(func.count()).select_from(Module)) == len(topics)
    assert session.scalar(select(func.count()).select_from(GradeTarget)) == 4 * 5


def test_every_topic_becomes_a_module_with_the_hours_of_table_4(
    session: Session, framework_data: dict[str, Any]
) -> None:
    load_framework(session, framework_data, IRI_BASE)
    modules = {m.key: m for m in session.scalars(select(Module))}
    for klass in framework_data["classes"]:
        stored = session.scalars(
            select(TrainingClass).where(TrainingClass.key == klass["id"])
        ).one()
        assert stored.hours == klass["hours"]
        for topic in klass["topics"]:
            module = modules[f"tw-civil-service-dc.{topic['id']}"]
            assert module.hours == topic["hours"]
            assert module.title_zh == topic["title"]["zh_tw"]
            assert module.training_class is stored
            assert {tag.item.code for tag in module.tags} == set(topic["tags"])


def test_indicators_hang_under_their_competency(
    session: Session, framework_data: dict[str, Any]
) -> None:
    load_framework(session, framework_data, IRI_BASE)
    dc1 = session.scalars(select(Item).where(Item.code == "DC1")).one()
    assert [child.code for child in dc1.children] == [
        "DC1-K1", "DC1-K2", "DC1-K3", "DC1-K4", "DC1-S1", "DC1-S2", "DC1-S3",
    ]  # fmt: skip
    assert dc1.name_zh == "資訊與資料素養"


def test_report_levels_map_onto_digcomp_bands(
    session: Session, framework_data: dict[str, Any]
) -> None:
    load_framework(session, framework_data, IRI_BASE)
    report_levels = session.scalars(
        select(Level).join(Level.scale).where(Level.scale.has(key="report")).order_by(Level.number)
    ).all()
    assert [lvl.name_zh for lvl in report_levels] == ["基礎", "中級", "高級"]
    covered = [
        n for lvl in report_levels for n in range(lvl.equivalent_min, lvl.equivalent_max + 1)
    ]
    assert covered == sorted(covered)
    assert covered[0] == 1


def test_loading_twice_changes_nothing(session: Session, framework_data: dict[str, Any]) -> None:
    first = load_framework(session, framework_data, IRI_BASE)
    ids = sorted(session.scalars(select(Item.id)))
    second = load_framework(session, framework_data, IRI_BASE)
    assert first.changed
    assert not second.changed, (second.created, second.updated)
    assert sorted(session.scalars(select(Item.id))) == ids


def test_changed_name_updates_in_place_and_keeps_module_tags(
    session: Session, raw_framework: dict[str, Any]
) -> None:
    load_framework(session, check_framework(raw_framework), IRI_BASE)
    item = session.scalars(select(Item).where(Item.code == "DC1-K1")).one()
    tags_before = session.scalar(
        select(func.count()).select_from(ModuleTag).where(ModuleTag.item_id == item.id)
    )

    def rename(data: dict[str, Any]) -> None:
        data["indicators"][0]["name"]["en"] = "Renamed indicator"

    report = load_framework(session, check_framework(broken(raw_framework, rename)), IRI_BASE)
    assert report.updated == {"knowledge": 1}
    assert report.created == {}
    renamed = session.scalars(select(Item).where(Item.code == "DC1-K1")).one()
    assert renamed.id == item.id
    assert renamed.name_en == "Renamed indicator"
    assert tags_before > 0
    assert tags_before == session.scalar(
        select(func.count()).select_from(ModuleTag).where(ModuleTag.item_id == item.id)
    )


def test_missing_text_is_refused_naming_entry_and_field(raw_framework: dict[str, Any]) -> None:
    def drop(data: dict[str, Any]) -> None:
        del data["indicators"][1]["name"]["en"]

    with pytest.raises(InvalidInput) as caught:
        check_framework(broken(raw_framework, drop), source="fw.toml")
    assert caught.value.field == "indicators[1] (DC1-K2).name.en"
    assert "fw.toml" in caught.value.message
    assert "Missing data" in caught.value.message


def test_unknown_field_is_refused_by_name(raw_framework: dict[str, Any]) -> None:
    def extra(data: dict[str, Any]) -> None:
        data["competencies"][2]["colour"] = "red"

    with pytest.raises(InvalidInput) as caught:
        check_framework(broken(raw_framework, extra))
    assert caught.value.field == "competencies[2] (DC3).colour"


def test_indicator_of_unknown_competency_is_refused(raw_framework: dict[str, Any]) -> None:
    def orphan(data: dict[str, Any]) -> None:
        data["indicators"][0]["id"] = "DC9-K1"
        data["indicators"][0]["competency"] = "DC9"

    with pytest.raises(
        InvalidInput, match=r"indicators \(DC9-K1\)\.competency: unknown competency"
    ):
        check_framework(broken(raw_framework, orphan))


def test_indicator_code_must_match_its_kind(raw_framework: dict[str, Any]) -> None:
    def mismatch(data: dict[str, Any]) -> None:
        data["indicators"][0]["kind"] = "skill"

    with pytest.raises(InvalidInput, match=r"indicators\[0\] \(DC1-K1\)\.kind"):
        check_framework(broken(raw_framework, mismatch))


def test_topic_tag_with_unknown_id_is_refused(raw_framework: dict[str, Any]) -> None:
    def bad_tag(data: dict[str, Any]) -> None:
        data["classes"][0]["topics"][0]["tags"].append("DC7-K9")

    topic = raw_framework["classes"][0]["topics"][0]["id"]
    with pytest.raises(InvalidInput, match=rf"topics \({topic}\)\.tags: unknown id DC7-K9"):
        check_framework(broken(raw_framework, bad_tag))


def test_class_hours_must_equal_the_sum_of_its_topics(raw_framework: dict[str, Any]) -> None:
    def off(data: dict[str, Any]) -> None:
        data["classes"][0]["hours"] += 1

    with pytest.raises(InvalidInput, match=r"classes\[0\] \(C1\)\.hours: hours .* differ"):
        check_framework(broken(raw_framework, off))


def test_target_above_the_scale_is_refused(raw_framework: dict[str, Any]) -> None:
    def too_high(data: dict[str, Any]) -> None:
        data["targets"]["grades"][0]["levels"]["DC1"] = 7

    with pytest.raises(InvalidInput, match=r"levels\.DC1: no report level 7"):
        check_framework(broken(raw_framework, too_high))


def test_item_iri_joins_base_framework_and_code() -> None:
    assert item_iri("https://example.org/dc/", "fw", "DC1-K2") == "https://example.org/dc/fw/DC1-K2"


def invoke(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def test_cli_load_twice_reports_unchanged_the_second_time(empty_app: Flask) -> None:
    first = invoke(empty_app, "framework", "load")
    assert first.exit_code == 0, first.output
    assert "created" in first.output and "16 knowledge" in first.output
    second = invoke(empty_app, "framework", "load")
    assert second.exit_code == 0
    assert second.output.strip() == "framework tw-civil-service-dc: unchanged"
    shown = invoke(empty_app, "framework", "show")
    assert "5 competency, 16 knowledge, 15 skill, 5 attitude, 8 classes" in shown.output


def test_cli_malformed_file_fails_naming_the_field_and_writes_nothing(
    empty_app: Flask, tmp_path: Path
) -> None:
    text = DEFAULT_FRAMEWORK_FILE.read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('kind = "knowledge"', 'kind = "wisdom"', 1), encoding="utf-8")
    result = invoke(empty_app, "framework", "load", str(bad))
    assert result.exit_code != 0
    assert "indicators[0] (DC1-K1).kind" in result.output
    with empty_app.extensions["plugin.db"].session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Framework)) == 0


@pytest.mark.postgres
def test_framework_loads_idempotently_on_postgres(
    postgres_url: str, framework_data: dict[str, Any]
) -> None:
    engine = create_db_engine(postgres_url)
    upgrade_database(engine)
    with Session(engine) as session:
        assert load_framework(session, framework_data, IRI_BASE).changed
        session.commit()
        assert not load_framework(session, framework_data, IRI_BASE).changed
        framework = get_framework(session)
        assert framework is not None
        assert count_items(session, framework)["skill"] == 15
    engine.dispose()
