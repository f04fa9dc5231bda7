"""Demo content: one checked entry per topic, written into demo modules once, at creation."""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.content import check_markdown
from plugin.competencies.demo_content import (
    DEFAULT_DEMO_CONTENT_FILE,
    check_demo_content,
    demo_entry,
    framework_topics,
    read_demo_content,
)
from plugin.competencies.framework import DEFAULT_FRAMEWORK_FILE, check_framework, load_framework
from plugin.competencies.models import CheckItem, Module
from plugin.competencies.modules import get_module, update_module
from plugin.core.errors import InvalidInput
from tests.support.app import IRI_BASE

FRAMEWORK_KEY = "tw-civil-service-dc"
RAW = tomllib.loads(DEFAULT_DEMO_CONTENT_FILE.read_text(encoding="utf-8"))
TOPIC_IDS = sorted(RAW["modules"])
HAN = re.compile(r"[\u4e00-\u9fff]")
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# Simplified-only characters, and mainland terms Taiwanese usage writes otherwise (網絡 for 網路).
SIMPLIFIED = set("这个们来时为说对发国会过还进资数据软络网问题应与关开实现体书质风险")
MAINLAND_TERMS = ("信息", "視頻", "質量", "軟件", "默認", "鏈接", "屏幕", "網絡", "數據庫")


def broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A deep copy of the bundled demo content with ``change`` applied."""
    data = copy.deepcopy(RAW)
    change(data)
    return data


# --- The file ---------------------------------------------------------------------------------


def test_every_topic_has_an_entry_and_every_entry_a_topic(
    framework_data: dict[str, Any],
) -> None:
    assert RAW["demo"]["framework"] == framework_data["framework"]["id"]
    assert set(RAW["modules"]) == set(framework_topics(framework_data))
    assert len(TOPIC_IDS) == 31


def test_the_whole_file_checks_against_the_framework(framework_data: dict[str, Any]) -> None:
    content = read_demo_content(topics=framework_topics(framework_data))
    assert content["framework"] == FRAMEWORK_KEY
    assert set(content["modules"]) == set(TOPIC_IDS)


@pytest.mark.parametrize("topic_id", TOPIC_IDS)
def test_entry_validates_as_module_input_and_safe_markdown(topic_id: str) -> None:
    entry = RAW["modules"][topic_id]
    check_markdown(entry["content_markdown_zh"])
    check_markdown(entry["content_markdown_en"])
    checked = check_demo_content({"demo": RAW["demo"], "modules": {topic_id: entry}})
    values = checked["modules"][topic_id]
    assert values["mastery_score"] in (0.6, 0.8)
    assert 2 <= len(values["check_items"]) <= 3
    # Each language keeps its own text: nothing is joined.
    assert values["content_markdown_zh"] == entry["content_markdown_zh"]
    assert values["content_markdown_en"] == entry["content_markdown_en"]


@pytest.mark.parametrize("topic_id", TOPIC_IDS)
def test_items_have_one_correct_choice_unless_multiple_and_explain_every_choice(
    topic_id: str,
) -> None:
    for number, item in enumerate(RAW["modules"][topic_id]["check_items"], start=1):
        where = f"{topic_id} item {number}"
        assert isinstance(item["multiple"], bool), where
        choices = item["choices"]
        assert [c["key"] for c in choices] == list("abcd"[: len(choices)]), where
        assert 3 <= len(choices) <= 4, where
        correct = sum(1 for choice in choices if choice["correct"])
        if item["multiple"]:
            assert 2 <= correct < len(choices), where
            assert "複選" in item["prompt_zh"] and "all that apply" in item["prompt_en"], where
        else:
            assert correct == 1, where
        for choice in choices:
            right = choice["correct"]
            assert choice["feedback_zh"].startswith("正確" if right else "不正確"), where
            assert choice["feedback_en"].startswith("Correct" if right else "Not quite"), where


@pytest.mark.parametrize("topic_id", TOPIC_IDS)
def test_content_is_short_bilingual_and_in_taiwanese_traditional_chinese(topic_id: str) -> None:
    entry = RAW["modules"][topic_id]
    zh, en = entry["content_markdown_zh"], entry["content_markdown_en"]
    assert 150 <= len(HAN.findall(zh)) <= 320, "about 150–300 Chinese characters"
    assert 100 <= len(WORD.findall(en)) <= 210, "about 100–200 English words"
    assert not HAN.search(en), "the English part has no Chinese"
    assert zh.lstrip().startswith("## ") and en.lstrip().startswith("## ")
    assert "公部門實例" in zh and "Public-sector example" in en
    assert zh.count("\n## ") == en.count("\n## "), "the same sections in both languages"
    texts = [zh] + [
        text
        for item in entry["check_items"]
        for text in (
            item["prompt_zh"],
            *(c[k] for c in item["choices"] for k in ("text_zh", "feedback_zh")),
        )
    ]
    for text in texts:
        assert not SIMPLIFIED & set(text), (text, SIMPLIFIED & set(text))
        assert not [term for term in MAINLAND_TERMS if term in text], text


# --- Refusals name the topic and the field ----------------------------------------------------


def test_entry_for_an_unknown_topic_is_refused(framework_data: dict[str, Any]) -> None:
    data = broken(lambda d: d["modules"].update({"C9-T1": d["modules"]["C4-T5"]}))
    with pytest.raises(InvalidInput) as caught:
        check_demo_content(data, "demo.toml", topics=framework_topics(framework_data))
    assert caught.value.field == "modules.C9-T1"
    assert "demo.toml" in caught.value.message and "no topic 'C9-T1'" in caught.value.message


def test_two_correct_choices_without_multiple_are_refused() -> None:
    def two_right(data: dict[str, Any]) -> None:
        data["modules"]["C4-T5"]["check_items"][0]["choices"][1]["correct"] = True

    with pytest.raises(InvalidInput, match="Several answers are marked correct") as caught:
        check_demo_content(broken(two_right))
    assert caught.value.field == "modules.C4-T5.check_items.0.choices"


def test_missing_english_content_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match="Missing data") as caught:
        check_demo_content(broken(lambda d: d["modules"]["C2-T1"].pop("content_markdown_en")))
    assert caught.value.field == "modules.C2-T1.content_markdown_en"


def test_unknown_field_is_refused_by_name() -> None:
    with pytest.raises(InvalidInput, match="Unknown field") as caught:
        check_demo_content(broken(lambda d: d["modules"]["C6-T2"].update({"colour": "red"})))
    assert caught.value.field == "modules.C6-T2.colour"


@pytest.mark.parametrize("field", ["content_markdown_zh", "content_markdown_en"])
def test_markdown_that_cleaning_would_change_is_refused_naming_the_part(field: str) -> None:
    def script(data: dict[str, Any]) -> None:
        data["modules"]["C5-T1"][field] += "\n<script>alert(1)</script>\n"

    with pytest.raises(InvalidInput) as caught:
        check_demo_content(broken(script), "demo.toml")
    assert caught.value.field == f"modules.C5-T1.{field}"
    assert caught.value.message == f"demo.toml: modules.C5-T1.{field}: cleaning would remove script"


def test_mastery_score_out_of_range_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_demo_content(broken(lambda d: d["modules"]["C7-T2"].update({"mastery_score": 8})))
    assert caught.value.field == "modules.C7-T2.mastery_score"


def test_bundled_content_belongs_to_its_framework_only() -> None:
    assert demo_entry(FRAMEWORK_KEY, "C4-T5") is not None
    assert demo_entry(FRAMEWORK_KEY, "C9-T9") is None
    assert demo_entry("another-framework", "C4-T5") is None


# --- Loading the framework --------------------------------------------------------------------


def demo_module(session: Session, topic_id: str) -> Module:
    return get_module(session, f"{FRAMEWORK_KEY}.{topic_id}")


def test_created_demo_module_has_sanitised_content_and_its_check(
    session: Session, framework_data: dict[str, Any]
) -> None:
    report = load_framework(session, framework_data, IRI_BASE)
    items = sum(len(entry["check_items"]) for entry in RAW["modules"].values())
    assert report.created["check_item"] == items == 93
    module = demo_module(session, "C4-T5")
    zh, en = module.content_html_zh, module.content_html_en
    assert "<h2>主要風險</h2>" in zh and "行政院及所屬機關（構）使用生成式AI參考指引" in zh
    assert "<h2>Main risks</h2>" in en
    # One language a column: no rule, no "English" heading, no other language mixed in.
    for html in (zh, en):
        assert "<hr" not in html and "<h2>English</h2>" not in html and "<script" not in html
    assert "Main risks" not in zh and not HAN.search(en)
    assert module.content_markdown_zh == RAW["modules"]["C4-T5"]["content_markdown_zh"]
    assert module.content_markdown_en == RAW["modules"]["C4-T5"]["content_markdown_en"]
    assert module.mastery_score == 0.8
    expected = RAW["modules"]["C4-T5"]["check_items"]
    assert [item.prompt_en for item in module.check_items] == [i["prompt_en"] for i in expected]
    assert [item.position for item in module.check_items] == [1, 2, 3]
    first = module.check_items[0]
    assert first.multiple is False
    assert [c["correct"] for c in first.choices] == [True, False, False]
    assert first.choices[0]["feedback_en"].startswith("Correct.")
    assert set(first.choices[0]) == {
        "key", "text_zh", "text_en", "correct", "feedback_zh", "feedback_en",
    }  # fmt: skip


def test_every_demo_module_gets_content_and_a_check(
    session: Session, framework_data: dict[str, Any]
) -> None:
    load_framework(session, framework_data, IRI_BASE)
    modules = list(session.scalars(select(Module).where(Module.origin == "seed")))
    assert len(modules) == 31
    for module in modules:
        assert module.content_html_zh.startswith("<h2>"), module.key
        assert module.content_html_en.startswith("<h2>"), module.key
        assert module.check_items and module.mastery_score in (0.6, 0.8), module.key


def test_loading_twice_changes_nothing(session: Session, framework_data: dict[str, Any]) -> None:
    load_framework(session, framework_data, IRI_BASE)
    before = {
        m.key: (m.content_markdown_zh, m.content_markdown_en, m.mastery_score)
        for m in session.scalars(select(Module))
    }
    item_ids = sorted(session.scalars(select(CheckItem.id)))
    second = load_framework(session, framework_data, IRI_BASE)
    assert not second.changed, (second.created, second.updated)
    after = {
        m.key: (m.content_markdown_zh, m.content_markdown_en, m.mastery_score)
        for m in session.scalars(select(Module))
    }
    assert after == before
    assert sorted(session.scalars(select(CheckItem.id))) == item_ids


def test_designers_edit_of_a_demo_module_survives_a_reload(
    session: Session, framework_data: dict[str, Any]
) -> None:
    load_framework(session, framework_data, IRI_BASE)
    module = demo_module(session, "C4-T5")
    update_module(
        session,
        module,
        {
            "title_zh": module.title_zh,
            "title_en": module.title_en,
            "hours": module.hours,
            "content_markdown_zh": "## 本機關的規定\n\n依本機關生成式AI使用要點辦理。",
            "content_markdown_en": "## Our agency's rules\n\nFollow our generative-AI rules.",
            "mastery_score": None,
            "check_items": [],
        },
    )
    session.flush()
    report = load_framework(session, framework_data, IRI_BASE)
    assert not report.changed, (report.created, report.updated)
    module = demo_module(session, "C4-T5")
    assert module.content_markdown_zh == "## 本機關的規定\n\n依本機關生成式AI使用要點辦理。"
    assert "<h2>本機關的規定</h2>" in module.content_html_zh
    assert "<h2>Our agency's rules</h2>" in module.content_html_en
    assert module.check_items == [] and module.mastery_score is None


def test_another_frameworks_topics_get_no_demo_content(session: Session) -> None:
    raw = tomllib.loads(DEFAULT_FRAMEWORK_FILE.read_text(encoding="utf-8"))
    raw["framework"]["id"] = "another-framework"
    report = load_framework(session, check_framework(raw), IRI_BASE)
    assert "check_item" not in report.created
    module = get_module(session, "another-framework.C4-T5")
    assert module.content_markdown_zh == module.content_markdown_en == ""
    assert module.check_items == []
