"""Catalog coverage: the demo catalog's gaps, hours by grade, designer modules, the CSV."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from plugin.competencies.coverage import (
    CoverageReport,
    compute_coverage,
    coverage_csv,
    csv_columns,
    csv_rows,
)
from plugin.competencies.framework import get_framework
from plugin.competencies.models import Framework
from plugin.competencies.modules import create_module, set_module_tags
from plugin.competencies.outside_courses import import_outside_courses
from plugin.organisations.audience import Audience
from tests.support.app import IRI_BASE

OPERATOR = Audience.operator()


def topic_tags(framework_data: dict[str, Any]) -> set[str]:
    """Every item code a demo topic is tagged with, read from the data file itself."""
    return {
        tag
        for entry in framework_data["classes"]
        for topic in entry["topics"]
        for tag in topic["tags"]
    }


def expected_hours(framework_data: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Hours per item and grade, straight from the data file (a topic serves its class's grades).

    A competency adds each topic tagged with it or with any of its indicators once.
    """
    parent = {entry["id"]: entry["competency"] for entry in framework_data["indicators"]}
    hours: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for entry in framework_data["classes"]:
        for topic in entry["topics"]:
            reached = set(topic["tags"]) | {parent[t] for t in topic["tags"] if t in parent}
            for code in reached:
                for grade in entry["grades"]:
                    hours[code][grade] += topic["hours"]
    return hours


def add_designer_module(
    session: Session, framework: Framework, tags: list[str], hours: float = 1.5
) -> Any:
    module = create_module(
        session,
        {"title_zh": "AI 與溝通品質", "title_en": "AI and communication quality", "hours": hours},
        framework,
        IRI_BASE,
    )
    set_module_tags(session, module, framework, [{"item": code, "level": 1} for code in tags])
    return module


def row(report: CoverageReport, code: str) -> Any:
    return next(r for r in report.rows if r.code == code)


def test_demo_catalog_leaves_exactly_the_untagged_indicators_uncovered(
    session: Session, framework: Framework, framework_data: dict[str, Any]
) -> None:
    tagged = topic_tags(framework_data)
    indicators = {entry["id"] for entry in framework_data["indicators"]}
    attitudes = {entry["id"] for entry in framework_data["attitudes"]}
    report = compute_coverage(session, framework, OPERATOR)
    assert {r.code for r in report.uncovered_indicators} == indicators - tagged
    assert {r.code for r in report.uncovered_attitudes} == attitudes - tagged
    assert "DC2-K3" in indicators - tagged  # the seed's known gap (AI and communication quality)
    assert [r.code for r in report.uncovered] == ["DC2-K3"]


def test_rows_follow_the_framework_competency_then_indicators_then_attitudes(
    session: Session, framework: Framework, framework_data: dict[str, Any]
) -> None:
    expected: list[str] = []
    for competency in framework_data["competencies"]:
        expected.append(competency["id"])
        expected.extend(
            e["id"] for e in framework_data["indicators"] if e["competency"] == competency["id"]
        )
    expected.extend(e["id"] for e in framework_data["attitudes"])
    report = compute_coverage(session, framework, OPERATOR)
    assert [r.code for r in report.rows] == expected
    assert compute_coverage(session, framework, OPERATOR).rows == report.rows  # deterministic


def test_hours_by_grade_follow_each_topics_class_audience(
    session: Session, framework: Framework, framework_data: dict[str, Any]
) -> None:
    expected = expected_hours(framework_data)
    report = compute_coverage(session, framework, OPERATOR)
    assert [g.key for g in report.grades] == [g["id"] for g in framework_data["grades"]]
    for r in report.rows:
        for grade in report.grades:
            assert r.hours_by_grade[grade.key] == pytest.approx(expected[r.code][grade.key]), (
                r.code,
                grade.key,
            )
    # C1 is for supervisors only, C2 for senior rank only: DC2-K2 shows the difference.
    dc2_k2 = row(report, "DC2-K2")
    assert dc2_k2.hours_by_grade["supervisor"] != dc2_k2.hours_by_grade["junior"]


def test_competency_row_counts_modules_via_its_indicators_once_each(
    session: Session, framework: Framework, framework_data: dict[str, Any]
) -> None:
    report = compute_coverage(session, framework, OPERATOR)
    dc1 = row(report, "DC1")
    expected = {
        f"{framework.key}.{topic['id']}"
        for entry in framework_data["classes"]
        for topic in entry["topics"]
        if any(tag.startswith("DC1-") for tag in topic["tags"])
    }
    assert {use.key for use in dc1.modules} == expected
    assert len(dc1.modules) == len(expected)
    assert dc1.direct_modules == [] and len(dc1.via_modules) == len(expected)
    c5_t2 = next(use for use in dc1.modules if use.key.endswith("C5-T2"))
    assert c5_t2.via == ("DC1-K2", "DC1-K4", "DC1-S2")
    assert dc1.module_hours == pytest.approx(sum(use.hours for use in dc1.modules))


def test_summary_gives_each_competencys_share_of_covered_indicators(
    session: Session, framework: Framework
) -> None:
    summaries = {s.code: s for s in compute_coverage(session, framework, OPERATOR).competencies}
    assert (summaries["DC2"].covered, summaries["DC2"].indicators) == (6, 7)
    assert summaries["DC2"].uncovered == ["DC2-K3"]
    assert summaries["DC2"].share == pytest.approx(6 / 7)
    assert all(s.share == 1.0 for code, s in summaries.items() if code != "DC2")


def test_designer_module_on_an_uncovered_indicator_covers_it_for_every_grade(
    session: Session, framework: Framework
) -> None:
    add_designer_module(session, framework, ["DC2-K3"], hours=1.5)
    report = compute_coverage(session, framework, OPERATOR)
    dc2_k3 = row(report, "DC2-K3")
    assert dc2_k3.covered
    assert [use.title_zh for use in dc2_k3.modules] == ["AI 與溝通品質"]
    assert dc2_k3.hours_by_grade == {
        "junior": 1.5,
        "intermediate": 1.5,
        "senior": 1.5,
        "supervisor": 1.5,
    }
    assert report.uncovered == []
    assert next(s for s in report.competencies if s.code == "DC2").share == 1.0


def test_retired_tags_no_longer_count(session: Session, framework: Framework) -> None:
    module = add_designer_module(session, framework, ["DC2-K3"])
    set_module_tags(session, module, framework, [{"item": "DC2-K1", "level": 1}])
    report = compute_coverage(session, framework, OPERATOR)
    assert not row(report, "DC2-K3").covered
    assert module.key in {use.key for use in row(report, "DC2-K1").modules}


def test_module_tagged_with_a_competency_and_its_indicator_is_direct_and_counted_once(
    session: Session, framework: Framework
) -> None:
    module = add_designer_module(session, framework, ["DC2", "DC2-K3"], hours=2)
    dc2 = row(compute_coverage(session, framework, OPERATOR), "DC2")
    uses = [use for use in dc2.modules if use.key == module.key]
    assert len(uses) == 1
    assert uses[0].direct and uses[0].via == ("DC2-K3",)


def test_outside_courses_count_separately_and_in_the_totals(
    session: Session, framework: Framework
) -> None:
    before = row(compute_coverage(session, framework, OPERATOR), "DC4-K3")
    data = "code,title,hours,audience,tags\nEL-1,數位倫理,3,委任;senior,DC4-K3;DC2-K3\n"
    import_outside_courses(session, framework, data.encode())
    report = compute_coverage(session, framework, OPERATOR)
    dc4_k3 = row(report, "DC4-K3")
    assert [(c.code, c.hours, c.grades) for c in dc4_k3.courses] == [
        ("EL-1", 3.0, ("junior", "senior"))
    ]
    assert dc4_k3.course_hours == 3.0
    assert dc4_k3.module_hours == before.module_hours
    assert dc4_k3.total_hours == before.total_hours + 3
    assert dc4_k3.hours_by_grade["junior"] == before.hours_by_grade["junior"] + 3
    assert dc4_k3.hours_by_grade["intermediate"] == before.hours_by_grade["intermediate"]
    assert row(report, "DC2-K3").covered and not row(report, "DC2-K3").modules
    assert row(report, "DC4").courses[0].via == ("DC4-K3",)
    assert report.uncovered == []


def test_csv_has_one_row_per_item_equal_to_the_service_rows(
    session: Session, framework: Framework
) -> None:
    report = compute_coverage(session, framework, OPERATOR)
    text = coverage_csv(report)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert reader.fieldnames == csv_columns(report)
    parsed = list(reader)
    assert parsed == csv_rows(report)
    assert [r["code"] for r in parsed] == [r.code for r in report.rows]
    assert [r["code"] for r in parsed if r["covered"] == "no"] == ["DC2-K3"]
    assert csv_columns(report)[-4:] == [
        "hours_junior",
        "hours_intermediate",
        "hours_senior",
        "hours_supervisor",
    ]


def test_csv_neutralises_cells_a_spreadsheet_would_run(
    session: Session, framework: Framework
) -> None:
    data = "code,title,hours,audience,tags\nX1,=HYPERLINK(1),1,,DC2-K3\n"
    import_outside_courses(session, framework, data.encode())
    dc2_k3 = next(
        r for r in csv_rows(compute_coverage(session, framework, OPERATOR)) if r["code"] == "DC2-K3"
    )
    assert dc2_k3["outside_course_titles"] == "'=HYPERLINK(1)"


def test_cli_prints_the_gaps_and_writes_the_csv_with_a_bom(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["catalog", "coverage"])
    assert result.exit_code == 0, result.output
    assert "DC2 數位溝通與合作: 6/7 indicators covered" in result.output
    assert "uncovered indicators: DC2-K3 意識到AI對溝通品質的影響" in result.output
    assert "uncovered attitudes: none" in result.output
    target = tmp_path / "coverage.csv"
    result = runner.invoke(args=["catalog", "coverage", "--csv", str(target)])
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    with app.extensions["plugin.db"].session_scope() as session:
        framework = get_framework(session)
        assert framework is not None
        assert data.decode("utf-8-sig") == coverage_csv(
            compute_coverage(session, framework, OPERATOR)
        )
