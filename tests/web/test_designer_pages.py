"""Designer pages through real launches: module editor, tag editor, bulk tagging, the picker.

Every request carries the launch token a real login → launch with the test platform issued;
the deep-linking answers are decoded with the tool's published JWKS.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin.competencies.content import MAX_MARKDOWN_CHARS
from plugin.competencies.framework import group_items
from plugin.competencies.models import Module, ModuleTag
from plugin.competencies.modules import similar_module_tags
from plugin.core.errors import InvalidInput
from plugin.organisations.audience import Audience
from plugin.web.module_form import FieldError, error_anchor, field_errors
from tests.support.designer import (
    SEED_MODULE,
    Tool,
    copy_of,
    count_modules,
    deep_linking_launch,
    module_form,
    resource_launch,
    text,
    token_of,
)
from tests.support.flows import TOOL, Flow
from tests.support.platform import LTI, TestPlatform

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
AGS_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/"
OTHER_SEED_MODULES = ("tw-civil-service-dc.C4-T2", "tw-civil-service-dc.C1-T1")


def dl_settings(platform: TestPlatform, **changes: Any) -> dict[str, Any]:
    """The test platform's deep-linking settings with ``changes``."""
    settings = dict(platform.deep_linking_claims("n")[DL + "deep_linking_settings"])
    settings.update(changes)
    return settings


@pytest.fixture
def designer(flow: Flow) -> Tool:
    """A course designer's launch (LTI role Instructor)."""
    return resource_launch(flow, "Instructor")


def module_row(app: Flask, key: str) -> dict[str, Any]:
    """The stored module as plain values."""
    with app.extensions["plugin.db"].session_scope() as session:
        module = session.scalars(select(Module).where(Module.key == key)).one()
        return {
            "title_zh": module.title_zh,
            "hours": module.hours,
            "content_markdown_zh": module.content_markdown_zh,
            "content_markdown_en": module.content_markdown_en,
            "content_html_zh": module.content_html_zh,
            "content_html_en": module.content_html_en,
            "mastery_score": module.mastery_score,
            "check_items": [(i.prompt_zh, i.multiple, i.choices) for i in module.check_items],
            "updated_at": module.updated_at,
        }


def tag_rows(app: Flask, key: str) -> list[tuple[str, int, float, bool]]:
    """competency_module_tags rows of a module: (code, level, weight, retired)."""
    with app.extensions["plugin.db"].session_scope() as session:
        module = session.scalars(select(Module).where(Module.key == key)).one()
        rows = session.scalars(
            select(ModuleTag).where(ModuleTag.module_id == module.id).order_by(ModuleTag.id)
        )
        return [(t.item.code, t.level, t.weight, t.retired_at is not None) for t in rows]


def active(rows: list[tuple[str, int, float, bool]]) -> dict[str, tuple[int, float]]:
    """The active tags among ``rows``."""
    return {code: (level, weight) for code, level, weight, retired in rows if not retired}


@pytest.fixture
def own(designer: Tool) -> str:
    """The designer's organisation's copy of :data:`SEED_MODULE` (same tags, a new key)."""
    return copy_of(designer, SEED_MODULE)


def created_key(response: TestResponse) -> str:
    """The module key in a save's redirect to its tag page."""
    assert response.status_code == 303, response.get_data(as_text=True)
    match = re.match(r"/designer/modules/([^/]+)/tags\?", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


# --- Module editor ----------------------------------------------------------------------------


def test_module_created_through_the_form_is_in_the_catalog_with_sanitised_html(
    designer: Tool, app: Flask
) -> None:
    form = designer.get("/designer/modules/new")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert f'name="lt" value="{designer.token}"' in page
    names = ("title_zh", "title_en", "hours", "content_markdown_zh", "content_markdown_en")
    for name in (*names, "mastery_score"):
        assert f'name="{name}"' in page
    assert 'id="content_markdown_zh" name="content_markdown_zh" rows="14" lang="zh-Hant-TW"' in page
    assert 'id="content_markdown_en" name="content_markdown_en" rows="14" lang="en"' in page
    assert 'name="item-0-choice-3-text_en"' in page  # four blank answer slots
    assert 'value="add_item"' in page

    key = created_key(designer.post("/designer/modules/new", module_form()))

    stored = module_row(app, key)
    assert stored["title_zh"] == "資料視覺化入門" and stored["hours"] == 1.5
    assert stored["mastery_score"] == 0.8
    for language in ("zh", "en"):
        typed = module_form()[f"content_markdown_{language}"]
        assert stored[f"content_markdown_{language}"] == typed.replace("\r\n", "\n")
    assert "<strong>標示來源</strong>" in stored["content_html_zh"]
    assert 'rel="noopener noreferrer"' in stored["content_html_zh"]
    assert "<strong>Cite the source</strong>" in stored["content_html_en"]
    assert "標示來源" not in stored["content_html_en"]
    ((prompt, multiple, choices),) = stored["check_items"]  # the blank item slot is left out
    assert prompt.startswith("比較") and multiple is False
    assert [(c["key"], c["text_en"], c["correct"]) for c in choices] == [
        ("a", "Bar chart", True),
        ("b", "Pie chart", False),
    ]

    catalog = text(designer.get("/designer/modules", q="視覺化"))
    assert "資料視覺化入門" in catalog and key in catalog
    assert f"/designer/modules/{key}/edit?lt={designer.token}" in catalog
    assert f"/designer/modules/{key}/tags?lt={designer.token}" in catalog
    assert SEED_MODULE not in catalog
    english = text(designer.get("/designer/modules", q="visualisation"))
    assert key in english

    edit = text(designer.get(f"/designer/modules/{key}/edit"))
    assert "<h1>重點</h1>" in edit and "<h1>Key ideas</h1>" in edit  # the rendered previews
    assert 'value="長條圖"' in edit and 'name="item-0-choice-0-key" value="a"' in edit


def test_catalog_lists_hours_and_tags_with_level_names(designer: Tool) -> None:
    page = text(designer.get("/designer/modules", q="C4-T1"))
    assert "生成式AI概論" in page
    assert '<html lang="zh-Hant-TW">' in page  # the launch's language
    assert "1 小時" in page
    for code in ("DC3-K2", "DC5-K1", "AT4"):
        assert f'<span class="code">{code}</span>' in page
    # A tag reads as words: its code, its name and the level it builds (names on touch too).
    tag = r'<span class="code">DC3-K2</span> AI與其他數位創作軟體之能力與限制 · (基礎|中級|高級)'
    assert re.search(tag, page), page
    assert "/designer/modules/new?lt=" in page


def test_editing_a_module_saves_and_keeps_choice_keys(designer: Tool, app: Flask) -> None:
    key = created_key(designer.post("/designer/modules/new", module_form()))
    changed = module_form(
        title_zh="資料視覺化進階",
        hours="2",
        **{
            "item-0-choice-0-key": "a",
            "item-0-choice-1-key": "b",
            "item-0-choice-2-text_zh": "折線圖",
            "item-0-choice-2-text_en": "Line chart",
        },
    )
    response = designer.post(f"/designer/modules/{key}/edit", changed)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/designer/modules/{key}/edit?")
    assert "saved=1" in response.headers["Location"]
    stored = module_row(app, key)
    assert stored["title_zh"] == "資料視覺化進階" and stored["hours"] == 2.0
    ((_, _, choices),) = stored["check_items"]
    assert [c["key"] for c in choices] == ["a", "b", "c"]
    assert designer.follow(response).status_code == 200


HOSTILE_MARKDOWN = (
    "Phishing mail hides javascript: links.\r\n\r\n"
    "<script>alert(1)</script>\r\n\r\n"
    "[click](javascript:alert(1)) ![x](data:image/png;base64,AAAA)\r\n\r\n"
    '<img src="https://gov.tw/a.png" onerror="alert(1)">\r\n\r\n'
    '<svg onload="alert(1)"><a href="javascript:alert(2)">x</a></svg><style>p{}</style>'
)
REMOVED = {
    "zh_TW": [
        "<script> 元素",
        "<style> 元素",
        "<svg> 元素",
        "<img> 的 onerror 屬性",
        "網址 javascript:alert(1)",
        "網址 data:image/png;base64,AAAA",
    ],
    "en": [
        "the <script> element",
        "the <style> element",
        "the <svg> element",
        "the onerror attribute of <img>",
        "the address javascript:alert(1)",
        "the address data:image/png;base64,AAAA",
    ],
}
RUNNABLE = ("<script", "javascript:alert", "onerror", "onload", "data:image", "<svg", "<style")


def removed_list(page: str, language: str) -> list[str]:
    """The items of the editor's "removed" list for one language's content."""
    match = re.search(rf'id="removed-{language}">.*?<ul class="removed">(.*?)</ul>', page, re.S)
    assert match, page
    return [unescape(item) for item in re.findall(r"<li>(.*?)</li>", match.group(1))]


def previews(page: str) -> str:
    """The rendered content blocks of the editor's preview."""
    return "".join(re.findall(r'<div class="module-content"[^>]*>(.*?)</div>', page, re.S))


def summary(page: str) -> list[str]:
    """The error summary's lines, as read (tags dropped, entities resolved)."""
    match = re.search(r'id="error-summary">.*?<ul>(.*?)</ul>', page, re.S)
    assert match, page
    lines = re.findall(r"<li>(.*?)</li>", match.group(1), re.S)
    return [unescape(re.sub(r"<[^>]+>", "", line)) for line in lines]


@pytest.mark.parametrize("locale", ["zh_TW", "en"])
def test_hostile_markdown_is_saved_cleaned_and_the_editor_says_what_was_removed(
    designer: Tool, app: Flask, locale: str
) -> None:
    response = designer.post(
        f"/designer/modules/new?lang={locale}", module_form(content_markdown_zh=HOSTILE_MARKDOWN)
    )
    # Saved, and shown in the editor (not the tag page) so that the removal is seen.
    assert response.status_code == 303
    match = re.match(r"/designer/modules/([^/]+)/edit\?", response.headers["Location"])
    assert match and "saved=1" in response.headers["Location"]
    stored = module_row(app, match.group(1))
    assert stored["content_markdown_zh"] == HOSTILE_MARKDOWN.replace("\r\n", "\n")
    assert stored["content_html_zh"].startswith("<p>Phishing mail hides javascript: links.</p>")
    for runnable in RUNNABLE:
        assert runnable not in stored["content_html_zh"].lower(), runnable

    page = designer.get(response.headers["Location"].split("?")[0], lang=locale)
    html = page.get_data(as_text=True)
    assert removed_list(html, "zh") == REMOVED[locale]
    assert 'id="removed-en"' not in html  # the English content lost nothing
    for runnable in RUNNABLE:
        assert runnable not in previews(html).lower(), runnable


@pytest.mark.parametrize("locale", ["zh_TW", "en"])
def test_preview_of_hostile_markdown_shows_the_cleaned_content_and_saves_nothing(
    designer: Tool, app: Flask, locale: str
) -> None:
    before = count_modules(app)
    response = designer.post(
        f"/designer/modules/new?lang={locale}",
        module_form(content_markdown_en=HOSTILE_MARKDOWN, action="preview"),
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert removed_list(html, "en") == REMOVED[locale]
    assert "<p>Phishing mail hides javascript: links.</p>" in previews(html)
    for runnable in RUNNABLE:
        assert runnable not in previews(html).lower(), runnable
    assert count_modules(app) == before


def test_prose_about_javascript_urls_saves_as_written(designer: Tool, app: Flask) -> None:
    prose = "Never paste javascript:alert(1) into the address bar; onerror= runs script."
    key = created_key(
        designer.post("/designer/modules/new", module_form(content_markdown_en=prose))
    )
    assert module_row(app, key)["content_html_en"] == f"<p>{prose}</p>\n"


BAD_FIELDS = {
    "title_zh": "",
    "hours": "abc",
    "external_url": "ftp://files.example",
    "item-0-prompt_en": "",
    "item-0-choice-1-text_zh": "",
}
SUMMARY = {
    "zh_TW": [
        "標題（中文）：請填寫。",
        "預計時數：請輸入數字。",
        "外部資源（網址）：請輸入以 https:// 或 http:// 開頭的網址。",
        "第 1 題 · 題目（英文）：請填寫。",
        "第 1 題 · 選項 2 · 選項（中文）：請填寫。",
    ],
    "en": [
        "Title (Chinese): Fill this in.",
        "Expected hours: Enter a number.",
        "External resource (URL): Enter an address that starts with https:// or http://.",
        "Question 1 · Question (English): Fill this in.",
        "Question 1 · Answer 2 · Answer (Chinese): Fill this in.",
    ],
}
SUMMARY_HEAD = {
    "zh_TW": "未儲存任何內容。 請修正標示的 5 個欄位後再儲存。",
    "en": "Nothing was saved. Correct the 5 marked fields and save again.",
}


@pytest.mark.parametrize("locale", ["zh_TW", "en"])
def test_every_refused_field_is_told_at_once_by_label_in_the_pages_language(
    designer: Tool, app: Flask, locale: str
) -> None:
    before = count_modules(app)
    response = designer.post(f"/designer/modules/new?lang={locale}", module_form(**BAD_FIELDS))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert summary(page) == SUMMARY[locale]
    head = re.search(r'id="error-summary">\s*<p>(.*?)</p>', page, re.S)
    assert head and unescape(re.sub(r"<[^>]+>", "", head.group(1))) == SUMMARY_HEAD[locale]
    # Each control carries its own message, marked invalid, and keeps what was typed.
    for control, line in zip(
        ("title_zh", "hours", "external_url", "item-0-prompt_en", "item-0-choice-1-text_zh"),
        SUMMARY[locale],
        strict=True,
    ):
        message = re.search(rf'<p class="field-error" id="{control}-error">(.*?)</p>', page)
        assert message and line.endswith(unescape(message.group(1))), control
        assert f'href="#{control}"' in page
    assert page.count('aria-invalid="true"') == 5
    assert 'value="abc"' in page and 'value="ftp://files.example"' in page
    assert 'lang="en"><' not in page.split('id="error-summary"')[1].split("</div>")[0]
    assert count_modules(app) == before


@pytest.mark.parametrize(
    ("locale", "line"),
    [
        ("zh_TW", "內容（中文，Markdown）：最多 50,000 個字元。"),
        ("en", "Content (Chinese, Markdown): At most 50,000 characters."),
    ],
)
def test_oversized_markdown_is_refused_naming_the_field(
    designer: Tool, app: Flask, locale: str, line: str
) -> None:
    before = count_modules(app)
    markdown = "x" * (MAX_MARKDOWN_CHARS + 1)
    for action in ("save", "preview"):
        response = designer.post(
            f"/designer/modules/new?lang={locale}",
            module_form(content_markdown_zh=markdown, action=action),
        )
        assert response.status_code == 400, action
        page = response.get_data(as_text=True)
        assert summary(page) == [line]
        assert 'id="content_markdown_zh-error"' in page
    assert count_modules(app) == before


def test_a_message_the_catalog_lacks_is_marked_english_on_a_chinese_page(app: Flask) -> None:
    refusal = InvalidInput(
        "x", faults=[("hours", "Some new message."), ("title_zh", "Fill this in.")]
    )
    with app.test_request_context("/?lang=zh_TW"):
        assert field_errors(refusal, []) == [
            FieldError("hours", "預計時數", "Some new message.", lang="en"),
            FieldError("title_zh", "標題（中文）", "請填寫。"),
        ]
    with app.test_request_context("/?lang=en"):
        assert field_errors(refusal, [])[0] == FieldError(
            "hours", "Expected hours", "Some new message."
        )


def test_preview_shows_each_language_under_its_label(designer: Tool) -> None:
    response = designer.post("/designer/modules/new", module_form(action="preview"))
    assert response.status_code == 200
    preview = text(response).split('id="preview-title"')[1].split("</section>")[0]
    labels = re.findall(r"<h3>([^<]*)</h3>", preview)
    assert labels == ["中文", "英文"], preview  # the launch's language is zh-TW
    chinese = preview.index('<div class="module-content" lang="zh-Hant-TW"><h1>重點</h1>')
    english = preview.index('<div class="module-content" lang="en"><h1>Key ideas</h1>')
    assert preview.index(labels[0]) < chinese < preview.index(labels[1]) < english
    chinese_only = designer.post(
        "/designer/modules/new", module_form(action="preview", content_markdown_en="")
    )
    preview = text(chinese_only).split('id="preview-title"')[1].split("</section>")[0]
    assert "<h1>重點</h1>" in preview and 'lang="en"' not in preview
    assert "此語言尚無內容。" in preview
    nothing = designer.post(
        "/designer/modules/new",
        module_form(action="preview", content_markdown_zh="", content_markdown_en=""),
    )
    assert 'id="preview-title"' not in nothing.get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "anchor"),
    [
        ({"hours": ""}, "hours"),
        ({"hours": "0"}, "hours"),
        ({"hours": "１.5"}, "hours"),  # full-width digit: float() would read it as 1.5
        ({"hours": "1e1"}, "hours"),
        ({"title_en": ""}, "title_en"),
        ({"mastery_score": "1.5"}, "mastery_score"),
        ({"external_url": "ftp://example.org/x"}, "external_url"),
        # Slot 0 left blank: the refused question sits in slot 1 and is marked there.
        (
            {
                "item-0-prompt_zh": "",
                "item-0-prompt_en": "",
                "item-0-choice-0-text_zh": "",
                "item-0-choice-0-text_en": "",
                "item-0-choice-0-correct": None,
                "item-0-choice-0-feedback_zh": "",
                "item-0-choice-0-feedback_en": "",
                "item-0-choice-1-text_zh": "",
                "item-0-choice-1-text_en": "",
                "item-1-prompt_zh": "哪一個正確？",
                "item-1-prompt_en": "Which is right?",
                "item-1-choice-0-text_zh": "甲",
                "item-1-choice-0-text_en": "A",
                "item-1-choice-2-text_zh": "乙",
                "item-1-choice-2-text_en": "B",
                "mastery_score": "",
            },
            "item-1-choices",
        ),
        ({"item-0-choice-1-text_en": ""}, "item-0-choice-1-text_en"),
        ({"item-0-choice-1-correct": "1"}, "item-0-choices"),
    ],
    ids=[
        "hours_blank",
        "hours_zero",
        "hours_full_width_digit",
        "hours_exponent",
        "title_en_blank",
        "mastery_above_1",
        "ftp_url",
        "no_correct_answer",
        "answer_without_english",
        "two_correct_not_multiple",
    ],
)
def test_bad_module_input_is_marked_next_to_its_field(
    designer: Tool, app: Flask, overrides: dict[str, Any], anchor: str
) -> None:
    before = count_modules(app)
    response = designer.post("/designer/modules/new", module_form(**overrides))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="{anchor}-error"' in page, page
    assert f'href="#{anchor}"' in page
    assert count_modules(app) == before


def test_two_correct_answers_are_saved_when_multiple_is_ticked(designer: Tool, app: Flask) -> None:
    data = module_form(**{"item-0-choice-1-correct": "1", "item-0-multiple": "1"})
    key = created_key(designer.post("/designer/modules/new", data))
    ((_, multiple, choices),) = module_row(app, key)["check_items"]
    assert multiple is True and all(c["correct"] for c in choices)


def test_add_another_question_and_answer_rerender_with_more_slots_and_save_nothing(
    designer: Tool, app: Flask
) -> None:
    before = count_modules(app)
    response = designer.post("/designer/modules/new", module_form(action="add_item"))
    assert response.status_code == 200
    page = text(response)
    assert 'name="item_count" value="3"' in page
    assert 'name="item-2-prompt_zh"' in page
    assert 'value="比較各機關預算，哪種圖最合適？"' not in page  # textareas keep it as text
    assert "比較各機關預算，哪種圖最合適？</textarea>" in page
    more = designer.post("/designer/modules/new", module_form(action="add_choice-0"))
    assert 'name="item-0-choice-4-text_zh"' in more.get_data(as_text=True)
    preview = designer.post("/designer/modules/new", module_form(action="preview"))
    assert preview.status_code == 200
    assert "<strong>標示來源</strong>" in preview.get_data(as_text=True)
    assert count_modules(app) == before


def test_error_anchor_maps_submitted_items_back_to_their_slots() -> None:
    slots = [(1, [0, 2]), (3, [1, 2])]
    assert error_anchor("hours", slots) == "hours"
    assert error_anchor("check_items.1.prompt_en", slots) == "item-3-prompt_en"
    assert error_anchor("check_items.0.choices.1.text_zh", slots) == "item-1-choice-2-text_zh"
    assert error_anchor("check_items.0.choices", slots) == "item-1-choices"
    assert error_anchor("check_items.0.choices.0.key", slots) == "item-1-choice-0"
    assert error_anchor("check_items.7", slots) == "check_items"
    assert error_anchor(None, slots) == ""


# --- Tags -------------------------------------------------------------------------------------


TAG_REFUSALS = [
    ({"add_item": "DC9-K9", "add_level": "1"}, "DC9-K9：不在職能架構中。",
     "DC9-K9: Not in the framework."),
    ({"add_item": "DC1-K1", "add_level": "4"}, "DC1-K1 · 等級：不是職能架構量尺上的等級。",
     "DC1-K1 · Level: Not a level of the framework's scale."),
    ({"add_item": "DC1-K1", "add_level": "high"}, "DC1-K1 · 等級：請選擇等級。",
     "DC1-K1 · Level: Choose a level."),
    ({"add_item": "DC1-K1", "add_level": "1", "add_weight": "11"},
     "DC1-K1 · 權重：請輸入大於 0、至多 10 的權重。",
     "DC1-K1 · Weight: Enter a weight more than 0 and at most 10."),
]  # fmt: skip


def tag_alert(response: TestResponse) -> str:
    """The tag page's refusal, as read."""
    alert = text(response).split('role="alert"')[1].split("</div>")[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", alert)).strip()


@pytest.mark.parametrize(("form", "chinese", "english"), TAG_REFUSALS)
def test_a_refused_tag_is_named_by_its_id_and_field_in_the_pages_language(
    designer: Tool, app: Flask, own: str, form: dict[str, str], chinese: str, english: str
) -> None:
    before = tag_rows(app, own)
    for lang, said in (("zh_TW", chinese), ("en", english)):
        response = designer.post(f"/designer/modules/{own}/tags?lang={lang}", form)
        assert response.status_code == 400
        assert tag_alert(response).endswith(said), tag_alert(response)
    assert tag_rows(app, own) == before


def test_unknown_id_and_level_out_of_scale_are_refused_naming_them(
    designer: Tool, app: Flask, own: str
) -> None:
    before = tag_rows(app, own)
    path = f"/designer/modules/{own}/tags"
    too_high = designer.post(path, {"add_item": "DC1-K1", "add_level": "4", "add_weight": "1"})
    assert too_high.status_code == 400
    assert 'id="item-DC1-K1"' in text(too_high)  # marked where the designer picked it
    rows = {
        "tag_count": "1",
        "tag-0-item": "DC3-K2",
        "tag-0-level": "7",
        "tag-0-weight": "1",
    }
    in_table = designer.post(path, rows)
    assert in_table.status_code == 400
    assert re.search(r'<tr id="tag-DC3-K2" class="field--error">', text(in_table))
    assert tag_rows(app, own) == before


def test_changing_a_level_retires_the_old_tag_and_adds_a_new_version(
    designer: Tool, app: Flask, own: str
) -> None:
    before = active(tag_rows(app, own))
    page = text(designer.get(f"/designer/modules/{own}/tags"))
    codes = re.findall(r'name="tag-(\d+)-item" value="([^"]+)"', page)
    assert {code for _, code in codes} == set(before)
    form: dict[str, Any] = {"tag_count": str(len(codes))}
    for index, code in codes:
        level, weight = before[code]
        form.update(
            {
                f"tag-{index}-item": code,
                f"tag-{index}-level": str(level),
                f"tag-{index}-weight": f"{weight:g}",
            }
        )
    changed_code = codes[0][1]
    new_level = 3 if before[changed_code][0] != 3 else 2
    form[f"tag-{codes[0][0]}-level"] = str(new_level)

    response = designer.post(f"/designer/modules/{own}/tags", form)
    assert response.status_code == 303
    assert "added=1" in response.headers["Location"] and "retired=1" in response.headers["Location"]
    rows = tag_rows(app, own)
    assert [r for r in rows if r[0] == changed_code] == [
        (changed_code, before[changed_code][0], before[changed_code][1], True),
        (changed_code, new_level, before[changed_code][1], False),
    ]
    assert active(rows) == {**before, changed_code: (new_level, before[changed_code][1])}
    history = text(designer.follow(response))
    assert "<summary>" in history and changed_code in history

    removed = designer.post(f"/designer/modules/{own}/tags", {**form, "remove": changed_code})
    assert removed.status_code == 303
    assert changed_code not in active(tag_rows(app, own))


def test_adding_a_tag_keeps_the_others_and_versions_a_changed_one(
    designer: Tool, app: Flask, own: str
) -> None:
    before = active(tag_rows(app, own))
    path = f"/designer/modules/{own}/tags"
    added = designer.post(path, {"add_item": "DC1-K2", "add_level": "2", "add_weight": "1.5"})
    assert added.status_code == 303
    assert active(tag_rows(app, own)) == {**before, "DC1-K2": (2, 1.5)}
    again = designer.post(path, {"add_item": "DC1-K2", "add_level": "2", "add_weight": "1.5"})
    assert again.status_code == 303 and "added=0" in again.headers["Location"]


def test_framework_search_finds_items_in_chinese_and_english_with_definitions(
    designer: Tool, own: str
) -> None:
    path = f"/designer/modules/{own}/tags"
    chinese = text(designer.get(path, q="虛假"))
    assert 'id="item-DC1-K2"' in chinese
    assert "網路上存在虛假資訊" in chinese  # its definition
    assert '<span class="code">DC1</span> 資訊與資料素養' in chinese  # grouped under DC1
    assert 'id="item-DC2-K1"' not in chinese
    english = text(designer.get(path, q="misinformation", lang="en"))
    assert 'id="item-DC1-K2"' in english and "Disinformation and misinformation" in english
    attitude = text(designer.get(path, q="信任"))
    assert 'id="item-AT1"' in attitude
    assert 'name="add_item" value="AT1"' in attitude and 'name="add_level"' in attitude
    nothing = designer.get(path, q="no-such-words-anywhere")
    assert nothing.status_code == 200 and 'id="item-' not in text(nothing)
    tree = text(designer.get(path))
    assert tree.count('<details class="tree-group"') == 6  # DC1–DC5 and the attitudes


@pytest.mark.parametrize(
    ("query", "code", "name"),
    [
        ("個資", "DC4-K1", "數位政策與法制"),
        ("資安", "DC4-S1", "數位風險管理（digital risk management）"),
    ],
)
def test_framework_search_finds_abbreviations_and_shows_code_with_name(
    designer: Tool, own: str, query: str, code: str, name: str
) -> None:
    page = text(designer.get(f"/designer/modules/{own}/tags", q=query))
    assert f'<span class="code">{code}</span> <strong>{name}</strong>' in page


def test_search_results_are_grouped_under_their_competency(app: Flask) -> None:
    from plugin.competencies.framework import get_framework
    from plugin.competencies.modules import search_items

    with app.extensions["plugin.db"].session_scope() as session:
        framework = get_framework(session)
        groups = group_items(search_items(session, framework, "資料"))
        heads = [group.head.code if group.head else None for group in groups]
        assert heads[0] == "DC1"
        assert all(
            item.parent is None or item.parent.code == group.head.code
            for group in groups
            for item in group.items
            if group.head
        )


def test_similar_modules_suggestions_appear_and_add_in_one_click(
    designer: Tool, app: Flask, own: str
) -> None:
    with app.extensions["plugin.db"].session_scope() as session:
        module = session.scalars(select(Module).where(Module.key == own)).one()
        audience = Audience.organisation(module.organisation_id)
        suggested = [item.code for item, _count in similar_module_tags(session, module, audience)]
    assert suggested, "the seed catalog has neighbours for C4-T1"
    page = text(designer.get(f"/designer/modules/{own}/tags"))
    section = page.split('id="similar-title"')[1].split("</section>")[0]
    for code in suggested:
        assert f'name="add_item" value="{code}"' in section
    level = re.search(
        rf'name="add_item" value="{suggested[0]}">\s*<input type="hidden" name="add_level" '
        r'value="(\d)"',
        section,
    )
    assert level, section
    response = designer.post(
        f"/designer/modules/{own}/tags",
        {"add_item": suggested[0], "add_level": level.group(1)},
    )
    assert response.status_code == 303
    assert active(tag_rows(app, own))[suggested[0]] == (int(level.group(1)), 1.0)


def test_bulk_tag_changes_the_chosen_modules_and_reports_how_many(
    designer: Tool, app: Flask, own: str
) -> None:
    others = [copy_of(designer, key) for key in OTHER_SEED_MODULES]
    page = text(designer.get("/designer/tags/bulk", q="生成式AI概論"))
    assert f'name="module" value="{own}"' in page
    assert others[1] not in page  # the search narrows the list
    assert SEED_MODULE not in page  # the national catalog takes no tags from a launch
    assert '<option value="DC1-K1"' in page
    keys = [own, *others]
    first = designer.post(
        "/designer/tags/bulk", {"module": keys, "item": "DC1-K4", "level": "2", "weight": "1"}
    )
    assert first.status_code == 303
    query = parse_qs(urlsplit(first.headers["Location"]).query)
    assert (query["changed"], query["total"]) == (["3"], ["3"])
    for key in keys:
        assert active(tag_rows(app, key))["DC1-K4"] == (2, 1.0)
    report = text(designer.follow(first))
    assert re.search(r"3\D+3", report.split('role="status"')[1].split("</p>")[0])

    # One module already has it at that level: only the other two change.
    again = designer.post(
        "/designer/tags/bulk",
        {"module": [own, others[0]], "item": "DC1-K4", "level": "2"},
    )
    assert parse_qs(urlsplit(again.headers["Location"]).query)["changed"] == ["0"]
    relevel = designer.post(
        "/designer/tags/bulk", {"module": [own], "item": "DC1-K4", "level": "3"}
    )
    assert parse_qs(urlsplit(relevel.headers["Location"]).query)["changed"] == ["1"]
    assert [r for r in tag_rows(app, own) if r[0] == "DC1-K4"] == [
        ("DC1-K4", 2, 1.0, True),
        ("DC1-K4", 3, 1.0, False),
    ]


def test_bulk_tag_with_bad_input_changes_nothing_and_names_it(
    designer: Tool, app: Flask, own: str
) -> None:
    keys = [own, *(copy_of(designer, key) for key in OTHER_SEED_MODULES)]
    before = {key: tag_rows(app, key) for key in keys}
    cases = [
        ({"module": keys, "item": "XX1", "level": "1"}, "XX1"),
        (
            {"module": keys, "item": "DC1-K1", "level": "4"},
            "DC1-K1 · 等級：不是職能架構量尺上的等級。",
        ),
        ({"item": "DC1-K1", "level": "1"}, 'id="bulk-modules-error"'),
        ({"module": [*keys, "no-such-module"], "item": "DC1-K1", "level": "1"}, "no-such-module"),
    ]
    for data, named in cases:
        response = designer.post("/designer/tags/bulk", data)
        assert response.status_code == 400
        page = text(response)
        assert named in page, page
    refused = text(designer.post("/designer/tags/bulk", cases[0][0]))
    for key in keys:  # the designer's choice is kept
        assert re.search(rf'value="{re.escape(key)}" id="bm-\d+"[^>]* checked', refused)
    assert {key: tag_rows(app, key) for key in keys} == before


# --- Access -----------------------------------------------------------------------------------

GET_PAGES = (
    "/designer/modules",
    "/designer/modules/new",
    f"/designer/modules/{SEED_MODULE}/edit",
    f"/designer/modules/{SEED_MODULE}/tags",
    "/designer/tags/bulk",
)
POSTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("/designer/modules/new", module_form()),
    (f"/designer/modules/{SEED_MODULE}/edit", module_form()),
    (f"/designer/modules/{SEED_MODULE}/tags", {"add_item": "DC1-K1", "add_level": "1"}),
    ("/designer/tags/bulk", {"module": SEED_MODULE, "item": "DC1-K1", "level": "1"}),
)


def test_learner_gets_403_on_every_designer_page(flow: Flow, app: Flask) -> None:
    learner = resource_launch(flow, "Learner")
    before = (count_modules(app), tag_rows(app, SEED_MODULE), module_row(app, SEED_MODULE))
    for path in GET_PAGES:
        assert learner.get(path).status_code == 403, path
    for path, data in POSTS:
        assert learner.post(path, data).status_code == 403, path
    assert (count_modules(app), tag_rows(app, SEED_MODULE), module_row(app, SEED_MODULE)) == before


def test_administrator_may_use_the_designer_pages(flow: Flow) -> None:
    admin = flow.complete(
        **{
            LTI + "roles": [
                "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
            ]
        }
    )
    tool = Tool(flow.client, token_of(admin))
    assert tool.get("/designer/modules").status_code == 200


def test_post_without_or_with_a_bad_launch_token_is_401(
    flow: Flow, designer: Tool, app: Flask
) -> None:
    before = (count_modules(app), tag_rows(app, SEED_MODULE), module_row(app, SEED_MODULE))
    for path, data in POSTS:
        missing = flow.client.post(path, data=data, base_url=TOOL)
        assert missing.status_code == 401, path
        forged = flow.client.post(path, data={**data, "lt": designer.token + "x"}, base_url=TOOL)
        assert forged.status_code == 401, path
        assert "launch_expired" in forged.get_data(as_text=True)
    for path in GET_PAGES:
        assert flow.client.get(path, base_url=TOOL).status_code == 401, path
    assert (count_modules(app), tag_rows(app, SEED_MODULE), module_row(app, SEED_MODULE)) == before


def test_links_and_forms_of_the_designer_pages_carry_the_launch_token(
    designer: Tool, own: str
) -> None:
    for path in (page.replace(SEED_MODULE, own) for page in GET_PAGES):
        page = text(designer.get(path))
        for href in re.findall(r'href="(/(?:designer|lti)[^"#]*)"', page):
            assert f"lt={designer.token}" in href, (path, href)
        forms = re.findall(r"<form\b.*?</form>", page, re.S)
        assert forms, path
        for form in forms:
            assert f'name="lt" value="{designer.token}"' in form, (path, form[:200])


# --- Deep linking picker ----------------------------------------------------------------------


def response_claims(client: FlaskClient, answer: TestResponse, platform: TestPlatform) -> dict:
    """The LtiDeepLinkingResponse JWT of the auto-submitting page, checked with our JWKS."""
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_data(as_text=True)
    action = re.search(r'<form id="lti-auto-submit" method="post" action="([^"]+)"', body)
    assert action and unescape(action.group(1)) == platform.issuer + "/deep-link-return"
    token = re.search(r'name="JWT" value="([^"]+)"', body).group(1)
    keys = {key["kid"]: key for key in client.get("/.well-known/jwks.json").get_json()["keys"]}
    public = RSAAlgorithm.from_jwk(keys[jwt.get_unverified_header(token)["kid"]])
    return jwt.decode(
        token,
        public,  # type: ignore[arg-type]
        algorithms=["RS256"],
        audience=platform.issuer,
        issuer=platform.client_id,
    )


def ags_claim(platform: TestPlatform) -> dict[str, Any]:
    """An AGS endpoint claim as a platform that offers grades sends it."""
    return {
        "scope": [AGS_SCOPE + "lineitem", AGS_SCOPE + "score"],
        "lineitems": platform.issuer + "/api/lineitems",
    }


def test_picker_answers_with_two_resource_links_and_line_items_when_grades_are_offered(
    flow: Flow, app: Flask
) -> None:
    tool = deep_linking_launch(flow, **{AGS_CLAIM: ags_claim(flow.platform)})
    picker = tool.get("/lti/deep-link")
    page = text(picker)
    assert picker.status_code == 200
    assert 'type="checkbox" name="module"' in page
    assert "/designer/modules/new?" in page and "return_to=deep-link" in page
    assert '<span class="code">DC3-K2</span>' in page  # tags shown
    new_key = created_key(tool.post("/designer/modules/new", module_form()))
    keys = [new_key, SEED_MODULE]

    claims = response_claims(
        flow.client, tool.post("/lti/deep-link", {"module": keys}), flow.platform
    )

    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[DL + "data"] == "opaque-platform-data"
    items = claims[DL + "content_items"]
    assert [item["custom"] for item in items] == [{"module_key": key} for key in keys]
    assert all(re.fullmatch(r"[a-z0-9_]+", name) for item in items for name in item["custom"])
    with app.extensions["plugin.db"].session_scope() as session:
        stored = {m.key: m for m in session.scalars(select(Module).where(Module.key.in_(keys)))}
        for item, key in zip(items, keys, strict=True):
            assert item["type"] == "ltiResourceLink"
            assert item["title"] == stored[key].title_zh
            # Deep Linking 2.0 §3.1: text is optional; a module without a description has none.
            assert item.get("text", "") == stored[key].description_zh
            assert item["iframe"] == {"width": 1024, "height": 800}
            assert item["lineItem"] == {
                "scoreMaximum": 100.0,
                "label": stored[key].title_zh,
                "resourceId": key,
                "tag": "competency_module",
            }


def test_picker_offers_no_line_item_when_the_platform_offers_no_grades(flow: Flow) -> None:
    tool = deep_linking_launch(flow, **{AGS_CLAIM: None})
    claims = response_claims(
        flow.client,
        tool.post("/lti/deep-link", {"module": [SEED_MODULE, OTHER_SEED_MODULES[1]]}),
        flow.platform,
    )
    items = claims[DL + "content_items"]
    assert len(items) == 2 and all("lineItem" not in item for item in items)


def test_picker_takes_one_module_and_the_window_target_when_the_platform_says_so(
    flow: Flow,
) -> None:
    settings = dl_settings(
        flow.platform, accept_multiple=False, accept_presentation_document_targets=["window"]
    )
    tool = deep_linking_launch(flow, **{DL + "deep_linking_settings": settings})
    page = text(tool.get("/lti/deep-link"))
    assert 'type="radio" name="module"' in page and 'type="checkbox" name="module"' not in page
    two = tool.post("/lti/deep-link", {"module": [SEED_MODULE, OTHER_SEED_MODULES[0]]})
    assert two.status_code == 400
    assert 'id="picker-error"' in two.get_data(as_text=True)
    claims = response_claims(
        flow.client, tool.post("/lti/deep-link", {"module": SEED_MODULE}), flow.platform
    )
    (item,) = claims[DL + "content_items"]
    assert item["window"] == {"targetName": "_blank"} and "iframe" not in item


def test_picker_refuses_no_choice_and_unknown_modules_on_the_page(flow: Flow) -> None:
    tool = deep_linking_launch(flow)
    none = tool.post("/lti/deep-link", {})
    assert none.status_code == 400 and 'id="picker-error"' in none.get_data(as_text=True)
    unknown = tool.post("/lti/deep-link", {"module": [SEED_MODULE, "no-such-module"]})
    assert unknown.status_code == 400
    page = text(unknown)
    assert "no-such-module" in page
    assert re.search(rf'value="{re.escape(SEED_MODULE)}" id="m-1"[^>]* checked', page)


def test_picker_search_narrows_the_list(flow: Flow) -> None:
    tool = deep_linking_launch(flow)
    page = text(tool.get("/lti/deep-link", q="生成式AI概論"))
    assert re.findall(r'name="module" value="([^"]+)"', page) == [SEED_MODULE]


def test_module_created_from_the_picker_returns_to_it_preselected(flow: Flow, app: Flask) -> None:
    tool = deep_linking_launch(flow)
    picker = text(tool.get("/lti/deep-link"))
    link = re.search(r'href="(/designer/modules/new\?[^"]+)"', picker).group(1)
    assert "return_to=deep-link" in link and f"lt={tool.token}" in link
    form = text(flow.client.get(link, base_url=TOOL))
    assert '<input type="hidden" name="return_to" value="deep-link">' in form

    saved = tool.post("/designer/modules/new", module_form(return_to="deep-link"))

    assert saved.status_code == 303
    location = urlsplit(saved.headers["Location"])
    assert location.path == "/lti/deep-link"
    (key,) = parse_qs(location.query)["selected"]
    assert module_row(app, key)["title_zh"] == "資料視覺化入門"
    back = text(tool.follow(saved))
    assert re.search(rf'name="module" value="{re.escape(key)}" id="m-1"[^>]* checked', back)
    assert f'<input type="hidden" name="selected" value="{key}">' in back  # kept by a search
    claims = response_claims(
        flow.client, tool.post("/lti/deep-link", {"module": key}), flow.platform
    )
    assert claims[DL + "content_items"][0]["custom"] == {"module_key": key}


def test_learner_cannot_open_the_picker(flow: Flow) -> None:
    tool = deep_linking_launch(flow, role="Learner")
    assert tool.get("/lti/deep-link").status_code == 403
    assert tool.post("/lti/deep-link", {"module": SEED_MODULE}).status_code == 403
