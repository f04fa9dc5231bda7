"""The framework data file is complete, consistent, and says what the seed report says.

Stdlib only (plus pytest), so it checks the data file itself rather than the loader. Report
comparisons remove all whitespace from both sides (the report is PDF text with line breaks in
the middle of words) and read ASCII parentheses as full-width ones (the report mixes them once,
in DC5-S1, which the data file writes full-width).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_FILE = PROJECT_ROOT / "plugin/competencies/data/framework.toml"
# The research report the framework comes from, as plain text (kept beside the tests so that
# every run checks the data against it; SEED_REPORT may point at another copy).
REPORT_FILE = Path(
    os.environ.get("SEED_REPORT") or Path(__file__).parent / "fixtures" / "seed_report.txt"
).resolve()

COMPETENCY_IDS = [f"DC{n}" for n in range(1, 6)]
# 表 3's numbering: (knowledge count, skill count) per competency.
INDICATOR_COUNTS = {"DC1": (4, 3), "DC2": (3, 4), "DC3": (3, 2), "DC4": (3, 3), "DC5": (3, 3)}
EXPECTED_KNOWLEDGE = {
    f"{dc}-K{m}" for dc, (k, _) in INDICATOR_COUNTS.items() for m in range(1, k + 1)
}
EXPECTED_SKILLS = {f"{dc}-S{m}" for dc, (_, s) in INDICATOR_COUNTS.items() for m in range(1, s + 1)}
COMPETENCY_NAMES = {
    "DC1": "資訊與資料素養",
    "DC2": "數位溝通與合作",
    "DC3": "數位內容產製",
    "DC4": "數位安全與倫理",
    "DC5": "運用數位途徑解決問題與創新",
}
ATTITUDE_NAMES = {
    "AT1": "信任",
    "AT2": "創造力",
    "AT3": "適應力",
    "AT4": "好奇心",
    "AT5": "實驗精神",
}
GRADE_IDS = ["junior", "intermediate", "senior", "supervisor"]
BANDS = ["foundation", "intermediate", "advanced", "highly_specialised"]
CLASS_NAMES = [
    "數位人文思考與策略發展班",
    "人工智慧（AI）治理與領導研習班",
    "人工智慧（AI）趨勢與應用研習班",
    "生成式AI實務應用研習班",
    "資料科學應用實務研習班",
    "數位溝通研習班",
    "公部門人機協作研習班",
    "設計思考與數位應用研習班",
]


def squash(text: str) -> str:
    """Text without whitespace, ASCII parentheses read as full-width."""
    return re.sub(r"\s+", "", text).replace("(", "（").replace(")", "）")


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    """The parsed framework data file."""
    with DATA_FILE.open("rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="module")
def report() -> str:
    """The whole seed report, squashed; skips when the report is not at hand."""
    if not REPORT_FILE.is_file():
        pytest.skip(f"seed report not found at {REPORT_FILE} (set SEED_REPORT to its path)")
    return squash(REPORT_FILE.read_text(encoding="utf-8"))


def _section(report: str, start: str, end: str) -> str:
    """The squashed report text from ``start`` up to ``end``."""
    begin = report.index(squash(start))
    return report[begin : report.index(squash(end), begin)]


@pytest.fixture(scope="module")
def table_3(report: str) -> str:
    """表 3 (一般公務人員數位職能內涵), squashed."""
    return _section(report, "表 3：一般公務人員數位職能內涵", "肆、 課程建構方式")


@pytest.fixture(scope="module")
def table_4(report: str) -> str:
    """表 4 (建議開課班別與課程設計), squashed."""
    return _section(report, "表 4：建議開課班別與課程設計", "陸、 結論")


def _texts(node: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every localized text table (a dict holding "zh-TW" or "en") in the file, with its path."""
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        if "zh-TW" in node or "en" in node:
            return [(path, node)]
        for key, value in node.items():
            if key == "keywords":
                continue  # lists of search words, not texts (test_keywords_…)
            found += _texts(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            label = value.get("id", index) if isinstance(value, dict) else index
            found += _texts(value, f"{path}[{label}]")
    return found


def _defined_ids(data: dict[str, Any]) -> set[str]:
    return {entry["id"] for key in ("indicators", "attitudes") for entry in data[key]}


# --- shape and counts ----------------------------------------------------------------------


def test_framework_header_names_the_framework(data: dict[str, Any]) -> None:
    assert data["framework"]["id"] == "tw-civil-service-dc"
    assert re.fullmatch(r"\d+\.\d+\.\d+", data["framework"]["version"])


def test_framework_has_the_five_competencies_in_order(data: dict[str, Any]) -> None:
    assert [c["id"] for c in data["competencies"]] == COMPETENCY_IDS
    assert {c["id"]: c["name"]["zh-TW"] for c in data["competencies"]} == COMPETENCY_NAMES


def test_indicators_are_16_knowledge_and_15_skills_numbered_as_table_3(
    data: dict[str, Any],
) -> None:
    knowledge = [i["id"] for i in data["indicators"] if i["kind"] == "knowledge"]
    skills = [i["id"] for i in data["indicators"] if i["kind"] == "skill"]
    assert len(knowledge) == 16 and set(knowledge) == EXPECTED_KNOWLEDGE
    assert len(skills) == 15 and set(skills) == EXPECTED_SKILLS
    assert len(data["indicators"]) == 31


def test_every_indicator_belongs_to_the_competency_its_id_names(data: dict[str, Any]) -> None:
    for indicator in data["indicators"]:
        competency, code = indicator["id"].split("-")
        assert indicator["competency"] == competency, indicator["id"]
        assert indicator["kind"] == {"K": "knowledge", "S": "skill"}[code[0]], indicator["id"]


def test_framework_has_the_five_common_attitudes(data: dict[str, Any]) -> None:
    assert {a["id"]: a["name"]["zh-TW"] for a in data["attitudes"]} == ATTITUDE_NAMES
    assert [a["id"] for a in data["attitudes"]] == list(ATTITUDE_NAMES)


def test_ids_are_unique_across_competencies_indicators_and_attitudes(data: dict[str, Any]) -> None:
    ids = [e["id"] for key in ("competencies", "indicators", "attitudes") for e in data[key]]
    assert len(ids) == len(set(ids))


def test_report_scale_has_three_levels_foundation_intermediate_advanced(
    data: dict[str, Any],
) -> None:
    scales = {s["id"]: s for s in data["scales"]}
    levels = scales["report"]["levels"]
    assert [lvl["number"] for lvl in levels] == [1, 2, 3]
    assert [lvl["name"]["zh-TW"] for lvl in levels] == ["基礎", "中級", "高級"]


def test_digcomp_scale_has_eight_levels_two_per_band(data: dict[str, Any]) -> None:
    scales = {s["id"]: s for s in data["scales"]}
    levels = scales["digcomp"]["levels"]
    assert [lvl["number"] for lvl in levels] == list(range(1, 9))
    assert [lvl["band"] for lvl in levels] == [band for band in BANDS for _ in (1, 2)]


def test_scale_mapping_covers_every_report_and_digcomp_level_once(data: dict[str, Any]) -> None:
    rows = data["scale_mapping"]
    assert sorted(row["report_level"] for row in rows) == [1, 2, 3]
    digcomp = [
        n for row in sorted(rows, key=lambda r: r["report_level"]) for n in row["digcomp_levels"]
    ]
    assert digcomp == list(range(1, 9)), "each report level maps to a run; together 1..8, ascending"


def test_grades_are_junior_intermediate_senior_supervisor(data: dict[str, Any]) -> None:
    assert [g["id"] for g in data["grades"]] == GRADE_IDS
    assert [g["name"]["zh-TW"] for g in data["grades"]] == ["委任", "薦任", "簡任", "主管"]


def test_there_are_eight_classes_with_31_topics(data: dict[str, Any]) -> None:
    classes = data["classes"]
    assert [c["id"] for c in classes] == [f"C{n}" for n in range(1, 9)]
    assert [len(c["topics"]) for c in classes] == [4, 6, 4, 6, 3, 3, 3, 2]
    assert sum(len(c["topics"]) for c in classes) == 31


def test_topic_ids_follow_their_class_in_order(data: dict[str, Any]) -> None:
    for klass in data["classes"]:
        assert [t["id"] for t in klass["topics"]] == [
            f"{klass['id']}-T{m}" for m in range(1, len(klass["topics"]) + 1)
        ]


def test_topic_hours_sum_to_class_hours(data: dict[str, Any]) -> None:
    for klass in data["classes"]:
        assert sum(t["hours"] for t in klass["topics"]) == klass["hours"], klass["id"]


def test_class_hours_and_days_match_table_4(data: dict[str, Any]) -> None:
    hours = {c["id"]: c["hours"] for c in data["classes"]}
    days = {c["id"]: c["days"] for c in data["classes"]}
    assert hours == {"C1": 12, "C2": 14, "C3": 12, "C4": 14, "C5": 8, "C6": 8, "C7": 8, "C8": 7}
    assert days == {"C1": 2, "C2": 2, "C3": 2, "C4": 2, "C5": 1, "C6": 1, "C7": 1, "C8": 1}


def test_classes_name_only_defined_grades_and_competencies(data: dict[str, Any]) -> None:
    for klass in data["classes"]:
        assert klass["grades"] and set(klass["grades"]) <= set(GRADE_IDS), klass["id"]
        assert klass["competencies"] and set(klass["competencies"]) <= set(COMPETENCY_IDS), klass[
            "id"
        ]


def test_every_tag_id_is_a_defined_indicator_or_attitude(data: dict[str, Any]) -> None:
    defined = _defined_ids(data)
    for klass in data["classes"]:
        for topic in klass["topics"]:
            assert topic["tags"], f"{topic['id']} has no tags"
            assert set(topic["tags"]) <= defined, f"{topic['id']}: {set(topic['tags']) - defined}"
            assert len(topic["tags"]) == len(set(topic["tags"])), f"{topic['id']} repeats a tag"


def test_indicator_tags_stay_within_the_competencies_table_4_marks_for_the_class(
    data: dict[str, Any],
) -> None:
    for klass in data["classes"]:
        tagged = {t.split("-")[0] for topic in klass["topics"] for t in topic["tags"] if "-" in t}
        assert tagged == set(klass["competencies"]), klass["id"]


def test_targets_give_every_grade_a_report_level_for_every_competency(data: dict[str, Any]) -> None:
    targets = data["targets"]
    assert targets["scale"] == "report"
    assert [row["grade"] for row in targets["grades"]] == GRADE_IDS
    for row in targets["grades"]:
        assert set(row["levels"]) == set(COMPETENCY_IDS), row["grade"]
        assert set(row["levels"].values()) <= {1, 2, 3}, row["grade"]


def test_every_target_above_foundation_is_backed_by_a_class_for_that_grade(
    data: dict[str, Any],
) -> None:
    for row in data["targets"]["grades"]:
        for competency, level in row["levels"].items():
            if level > 1:
                backing = [
                    c["id"]
                    for c in data["classes"]
                    if row["grade"] in c["grades"] and competency in c["competencies"]
                ]
                assert backing, f"{row['grade']} {competency}={level} has no class behind it"


REQUIRED_TEXTS = {
    "competencies": ("name", "definition"),
    "indicators": ("name", "description"),
    "attitudes": ("name", "description"),
    "scales": ("name",),
    "scale_mapping": ("note",),
    "grades": ("name",),
    "classes": ("name", "audience"),
}


def test_every_entry_has_its_texts(data: dict[str, Any]) -> None:
    assert {"title", "source"} <= set(data["framework"])
    assert "note" in data["targets"]
    for section, keys in REQUIRED_TEXTS.items():
        for entry in data[section]:
            assert set(keys) <= set(entry), f"{section} {entry.get('id', entry)}"
    for scale in data["scales"]:
        for level in scale["levels"]:
            assert {"name", "description"} <= set(level), f"{scale['id']} {level['number']}"
    for klass in data["classes"]:
        for topic in klass["topics"]:
            assert "title" in topic, topic["id"]


def test_every_text_has_non_empty_zh_tw_and_en(data: dict[str, Any]) -> None:
    texts = _texts(data)
    for path, text in texts:
        assert set(text) == {"zh-TW", "en"}, path
        assert text["zh-TW"].strip() and text["en"].strip(), path


def test_english_texts_contain_no_han_characters_except_rank_names(data: dict[str, Any]) -> None:
    allowed = set("委任薦任簡任主管")
    for path, text in _texts(data):
        han = {ch for ch in text["en"] if "\u4e00" <= ch <= "\u9fff"}
        assert han <= allowed, f"{path}: {''.join(sorted(han))}"


def test_keywords_are_distinct_one_line_words_in_their_language(data: dict[str, Any]) -> None:
    entries = data["competencies"] + data["indicators"] + data["attitudes"]
    with_keywords = [entry for entry in entries if "keywords" in entry]
    assert len(with_keywords) >= 30  # every competency and indicator
    for entry in with_keywords:
        words = entry["keywords"]
        assert set(words) <= {"zh-TW", "en"}, entry["id"]
        for language, listed in words.items():
            assert listed and len(set(listed)) == len(listed), (entry["id"], language)
            for word in listed:
                assert word == word.strip() and 0 < len(word) <= 40 and "\n" not in word
                if language == "en":
                    assert not any("\u4e00" <= ch <= "\u9fff" for ch in word), word


# --- against the report --------------------------------------------------------------------


def test_every_competency_name_and_definition_appears_in_report_table_3(
    data: dict[str, Any], table_3: str
) -> None:
    for competency in data["competencies"]:
        assert squash(competency["name"]["zh-TW"]) in table_3, competency["id"]
        assert squash(competency["definition"]["zh-TW"]) in table_3, competency["id"]


def test_every_indicator_name_appears_in_report_table_3(data: dict[str, Any], table_3: str) -> None:
    for indicator in data["indicators"]:
        assert squash(indicator["name"]["zh-TW"]) in table_3, indicator["id"]


def test_every_indicator_reads_name_colon_description_as_in_report_table_3(
    data: dict[str, Any], table_3: str
) -> None:
    for indicator in data["indicators"]:
        line = f"{indicator['name']['zh-TW']}：{indicator['description']['zh-TW']}"
        assert squash(line) in table_3, indicator["id"]


def test_indicators_are_numbered_in_the_order_of_report_table_3(
    data: dict[str, Any], table_3: str
) -> None:
    for competency in COMPETENCY_IDS:
        for kind in ("K", "S"):
            entries = [i for i in data["indicators"] if i["id"].startswith(f"{competency}-{kind}")]
            positions = [
                table_3.index(squash(f"{n}.{i['name']['zh-TW']}："))
                for n, i in enumerate(entries, start=1)
            ]
            assert positions == sorted(positions), f"{competency}-{kind}"


def test_every_attitude_name_and_description_appears_in_report(
    data: dict[str, Any], report: str
) -> None:
    attitudes = _section(report, "一、 五大數位職能態度", "二、資訊與資料素養職能")
    for attitude in data["attitudes"]:
        assert squash(attitude["name"]["zh-TW"]) in attitudes, attitude["id"]
        assert squash(attitude["description"]["zh-TW"]) in attitudes, attitude["id"]


def test_report_level_names_and_descriptions_appear_in_report(
    data: dict[str, Any], report: str
) -> None:
    scale = next(s for s in data["scales"] if s["id"] == "report")
    for level in scale["levels"]:
        quoted = f"{level['name']['zh-TW']}（{level['description']['zh-TW']}"
        assert squash(quoted) in report, level["number"]


def test_report_states_the_digcomp_bands_the_mapping_follows(report: str) -> None:
    for band in ("基礎（1-2級", "中級（3-4級", "進階（5-6級", "高度專業化（7-8級"):
        assert squash(band) in report, band


def test_every_class_name_appears_in_report_table_4(data: dict[str, Any], table_4: str) -> None:
    assert [c["name"]["zh-TW"] for c in data["classes"]] == CLASS_NAMES
    positions = [table_4.index(squash(name)) for name in CLASS_NAMES]
    assert positions == sorted(positions), "classes are in 表 4 order"


def test_every_class_audience_and_goal_appear_in_report_table_4(
    data: dict[str, Any], table_4: str
) -> None:
    for klass in data["classes"]:
        assert squash(klass["audience"]["zh-TW"]) in table_4, klass["id"]
        for goal in klass["goal"]["zh-TW"].splitlines():
            assert squash(goal) in table_4, f"{klass['id']}: {goal}"


def test_every_topic_title_with_its_hours_appears_in_report_table_4(
    data: dict[str, Any], table_4: str
) -> None:
    for klass in data["classes"]:
        for number, topic in enumerate(klass["topics"], start=1):
            printed = f"{number}.{topic['title']['zh-TW']}（{topic['hours']:g}小時）"
            assert squash(printed) in table_4, topic["id"]


def test_every_class_row_of_table_4_lists_its_competencies(
    data: dict[str, Any], table_4: str
) -> None:
    names = {c["id"]: squash(c["name"]["zh-TW"]) for c in data["competencies"]}
    starts = [table_4.index(squash(name)) for name in CLASS_NAMES] + [len(table_4)]
    for index, klass in enumerate(data["classes"]):
        row = table_4[starts[index] : starts[index + 1]]
        listed = [f"{n}.{names[code]}" for n, code in enumerate(klass["competencies"], start=1)]
        for entry in listed:
            assert entry in row, f"{klass['id']}: {entry}"
        others = set(names) - set(klass["competencies"])
        assert not any(names[code] in row.split("小時）")[-1] for code in others), klass["id"]
