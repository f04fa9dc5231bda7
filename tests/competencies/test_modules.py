"""Designer modules: checked input, sanitised content, versioned tags, placements."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.content import MAX_MARKDOWN_CHARS, Removal, clean_markdown, render_markdown
from plugin.competencies.framework import load_framework
from plugin.competencies.models import Module, ModuleTag
from plugin.competencies.modules import (
    bind_placement,
    bulk_tag,
    create_module,
    find_placement,
    get_module,
    search_items,
    search_modules,
    set_module_tags,
    similar_module_tags,
    update_module,
)
from plugin.core.errors import InvalidInput
from plugin.organisations.audience import Audience
from tests.support.app import IRI_BASE
from tests.support.modules import module_input


def test_created_module_gets_a_stable_iri_and_sanitised_html_per_language(
    session: Session, framework: Any
) -> None:
    module = create_module(session, module_input(), framework, IRI_BASE)
    assert module.key.startswith("m-")
    assert module.activity_iri == f"{IRI_BASE}tw-civil-service-dc/modules/{module.key}"
    assert module.content_markdown_zh.startswith("# 重點")
    assert module.content_markdown_en.startswith("# Key ideas")
    assert "<h1>重點</h1>" in module.content_html_zh
    assert "<strong>標示來源</strong>" in module.content_html_zh
    assert "<h1>Key ideas</h1>" in module.content_html_en and "重點" not in module.content_html_en
    assert "<strong>Cite the source</strong>" in module.content_html_en
    assert [item.prompt_en for item in module.check_items] == [
        "Which chart compares agency budgets best?"
    ]


HOSTILE_MARKDOWN = [
    "<script>alert(1)</script>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    '<a href="&#106;avascript:alert(1)">click</a>',
    '<img src=x onerror="alert(1)">',
    "![pic](data:image/png;base64,iVBORw0KGgo=)",
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    "<IFRAME src=https://evil.example></IFRAME>",
    '<style>body { display: none }</style><p style="color: red">x</p>',
    '<object data="https://evil.example/x.swf"></object>',
    '<form action="https://evil.example"><input name="q"></form>',
]


@pytest.mark.parametrize("markdown", HOSTILE_MARKDOWN)
@pytest.mark.parametrize("field", ["content_markdown_zh", "content_markdown_en"])
def test_hostile_markdown_is_saved_cleaned_of_everything_that_could_run(
    session: Session, framework: Any, markdown: str, field: str
) -> None:
    module = create_module(session, module_input(**{field: markdown}), framework, IRI_BASE)
    html = module.content_html_zh if field.endswith("_zh") else module.content_html_en
    lowered = html.lower()
    for forbidden in ("<script", "javascript:", "onerror", "onload", "data:", "<svg", "<iframe",
                      "<style", "style=", "<object", "<form", "<input"):  # fmt: skip
        assert forbidden not in lowered, (forbidden, html)
    assert getattr(module, field) == markdown  # the designer's text is kept as written
    assert clean_markdown(markdown).removed  # and the editor can say what went


@pytest.mark.parametrize(
    ("markdown", "removed"),
    [
        ("Hi <script>alert(1)</script>", [Removal("element", "script")]),
        ('<img src="https://gov.tw/a.png" onerror="x()">',
         [Removal("attribute", "onerror", element="img")]),
        ("[a](javascript:x()) [b](javascript:x())",
         [Removal("address", "javascript:x()", element="a", count=2)]),
        ('<svg onload="x()"><a href="javascript:y">z</a></svg>', [Removal("element", "svg")]),
        ("<iframe src=https://evil.example></iframe>", [Removal("element", "iframe")]),
        ("```html\n<script>x()</script>\n```", []),
        ("`onerror=` and javascript: in prose", []),
    ],
)  # fmt: skip
def test_cleaning_says_exactly_what_it_removed(markdown: str, removed: list[Removal]) -> None:
    assert clean_markdown(markdown).removed == removed


def test_an_image_without_alt_text_gets_an_empty_one_and_keeps_a_given_one() -> None:
    assert (
        render_markdown('<img src="https://gov.tw/a.png">')
        == '<img alt="" src="https://gov.tw/a.png">'
    )
    assert render_markdown("![地圖](https://gov.tw/a.png)") == (
        '<p><img src="https://gov.tw/a.png" alt="地圖"></p>\n'
    )


def test_prose_that_mentions_javascript_urls_is_kept_as_text(
    session: Session, framework: Any
) -> None:
    prose = "Never paste javascript:alert(1) into the address bar; onerror= runs script."
    module = create_module(session, module_input(content_markdown_en=prose), framework, IRI_BASE)
    assert module.content_html_en == f"<p>{prose}</p>\n"
    assert clean_markdown(prose).removed == []


def test_code_samples_of_hostile_html_stay_code(session: Session, framework: Any) -> None:
    sample = "```html\n<img src=x onerror=alert(1)>\n```"
    module = create_module(session, module_input(content_markdown_en=sample), framework, IRI_BASE)
    assert module.content_html_en == (
        '<pre><code class="language-html">&lt;img src=x onerror=alert(1)&gt;\n</code></pre>\n'
    )


@pytest.mark.parametrize("field", ["content_markdown_zh", "content_markdown_en"])
def test_oversized_markdown_is_refused(session: Session, framework: Any, field: str) -> None:
    text = "字" * (MAX_MARKDOWN_CHARS + 1)
    with pytest.raises(InvalidInput) as caught:
        create_module(session, module_input(**{field: text}), framework, IRI_BASE)
    assert caught.value.faults == [(field, "At most 50,000 characters.")]
    assert session.scalars(select(Module).where(Module.origin == "designer")).all() == []


def test_every_bad_field_is_reported_at_once(session: Session, framework: Any) -> None:
    data = module_input(title_zh="", hours="abc", mastery_score="2", external_url="ftp://x")
    data["check_items"][0]["prompt_en"] = ""
    with pytest.raises(InvalidInput) as caught:
        create_module(session, data, framework, IRI_BASE)
    assert caught.value.faults == [
        ("title_zh", "Fill this in."),
        ("hours", "Enter a number."),
        ("external_url", "Enter an address that starts with https:// or http://."),
        ("mastery_score", "Enter a number from 0 to 1."),
        ("check_items.0.prompt_en", "Fill this in."),
    ]
    assert caught.value.field == "title_zh"


def test_content_in_one_language_only_leaves_the_other_empty(
    session: Session, framework: Any
) -> None:
    data = module_input()
    del data["content_markdown_en"]
    module = create_module(session, data, framework, IRI_BASE)
    assert module.content_markdown_en == "" and module.content_html_en == ""
    assert "<h1>重點</h1>" in module.content_html_zh


def test_updated_module_replaces_the_content_of_each_language(
    session: Session, framework: Any
) -> None:
    module = create_module(session, module_input(), framework, IRI_BASE)
    update_module(
        session,
        module,
        module_input(content_markdown_zh="## 新內容", content_markdown_en="## New content"),
    )
    assert module.content_html_zh.startswith("<h2>新內容</h2>")
    assert module.content_html_en.startswith("<h2>New content</h2>")


def test_rendered_html_keeps_safe_markup_and_drops_event_handlers() -> None:
    html = render_markdown('<b onclick="x()">hi</b> [a](https://gov.tw "t")')
    assert html == (
        '<p><b>hi</b> <a href="https://gov.tw" title="t" rel="noopener noreferrer">a</a></p>\n'
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title_zh": ""}, "title_zh"),
        ({"hours": 0}, "hours"),
        ({"mastery_score": 1.5}, "mastery_score"),
        ({"external_url": "ftp://files.example"}, "external_url"),
        ({"check_items": []}, "mastery_score"),
    ],
)
def test_bad_module_fields_are_named(
    session: Session, framework: Any, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        create_module(session, module_input(**overrides), framework, IRI_BASE)
    assert caught.value.field == field


def test_single_choice_item_with_two_correct_answers_is_refused(
    session: Session, framework: Any
) -> None:
    data = module_input()
    data["check_items"][0]["choices"][1]["correct"] = True
    with pytest.raises(InvalidInput, match="Several answers are marked correct") as caught:
        create_module(session, data, framework, IRI_BASE)
    assert caught.value.field.startswith("check_items.0")


def test_changing_a_tag_retires_the_old_version_instead_of_rewriting_it(
    session: Session, framework: Any
) -> None:
    module = create_module(session, module_input(), framework, IRI_BASE)
    set_module_tags(session, module, framework, [{"item": "DC1-S2", "level": 1}])
    first = module.active_tags[0]
    change = set_module_tags(session, module, framework, [{"item": "DC1-S2", "level": 2}])
    assert change.retired == [first] and first.retired_at is not None
    assert first.level == 1  # the old version is untouched
    assert [(t.item.code, t.level) for t in module.active_tags] == [("DC1-S2", 2)]
    unchanged = set_module_tags(session, module, framework, [{"item": "DC1-S2", "level": 2}])
    assert unchanged.added == [] and unchanged.retired == []


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ({"item": "DC9-K1", "level": 1}, "unknown competency ID 'DC9-K1'"),
        ({"item": "DC1-K1", "level": 4}, "level 4 is not on the scale 1–3"),
        ({"item": "DC1-K1", "level": 0}, "level 0 is not on the scale"),
        ({"item": "DC1-K1", "level": 1, "weight": -1}, "weight"),
    ],
)
def test_bad_tags_are_refused_and_nothing_changes(
    session: Session, framework: Any, tag: dict[str, Any], message: str
) -> None:
    module = create_module(session, module_input(), framework, IRI_BASE)
    set_module_tags(session, module, framework, [{"item": "AT1", "level": 1}])
    with pytest.raises(InvalidInput, match=message):
        set_module_tags(session, module, framework, [{"item": "AT2", "level": 1}, tag])
    assert [t.item.code for t in module.active_tags] == ["AT1"]


def test_bulk_tag_adds_one_tag_to_several_modules(session: Session, framework: Any) -> None:
    modules = [get_module(session, f"tw-civil-service-dc.C5-T{n}") for n in (1, 2, 3)]
    changed = bulk_tag(session, modules, framework, {"item": "AT4", "level": 2})
    assert changed == 3
    for module in modules:
        assert ("AT4", 2) in [(t.item.code, t.level) for t in module.active_tags]
    assert bulk_tag(session, modules, framework, {"item": "AT4", "level": 2}) == 0


def test_item_search_finds_chinese_and_english_names(session: Session, framework: Any) -> None:
    assert "DC4" in [i.code for i in search_items(session, framework, "數位安全")]
    assert "DC1-K2" in [i.code for i in search_items(session, framework, "misinformation")]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("個資", {"DC4", "DC4-K1", "DC4-K2"}),
        ("資安", {"DC4", "DC4-K2", "DC4-S1"}),
        ("生成式AI", {"DC1-K4", "DC1-S3", "DC2-K3", "DC3-K2", "DC5-S1"}),
        ("雲端", {"DC2-S2", "DC3-S2", "DC5-K1"}),
        ("fake news", {"DC1-K2"}),
        ("GDPR", {"DC4-K1"}),
        ("chatgpt", {"DC1-S3"}),
    ],
)
def test_item_search_finds_common_abbreviations_and_synonyms(
    session: Session, framework: Any, query: str, expected: set[str]
) -> None:
    assert {item.code for item in search_items(session, framework, query)} == expected


def test_similar_modules_suggest_tags_this_module_lacks(session: Session, framework: Any) -> None:
    module = get_module(session, "tw-civil-service-dc.C4-T1")
    suggestions = similar_module_tags(session, module, Audience.operator())
    own = {tag.item.code for tag in module.active_tags}
    assert suggestions
    assert all(item.code not in own for item, _count in suggestions)
    counts = [count for _item, count in suggestions]
    assert counts == sorted(counts, reverse=True)


def test_placement_binds_a_resource_link_and_rebinding_moves_it(
    session: Session, framework: Any
) -> None:
    first = get_module(session, "tw-civil-service-dc.C4-T1")
    second = get_module(session, "tw-civil-service-dc.C4-T2")
    link = {"issuer": "https://lms", "deployment_id": "d1", "resource_link_id": "rl-1"}
    bind_placement(session, context_id="c1", module=first, **link)
    bind_placement(session, context_id="c1", module=second, **link)
    placement = find_placement(session, "https://lms", "d1", "rl-1")
    assert placement is not None and placement.module is second
    assert session.scalars(select(ModuleTag)).first() is not None


def test_update_replaces_the_knowledge_check(session: Session, framework: Any) -> None:
    module = create_module(session, module_input(), framework, IRI_BASE)
    data = module_input(mastery_score=None, check_items=[], title_en="Visualising data")
    update_module(session, module, data)
    assert module.check_items == [] and module.title_en == "Visualising data"


def test_search_treats_wildcards_literally(session: Session, framework: Any) -> None:
    assert search_modules(session, "C4-T1", audience=Audience.operator()) != []
    assert search_modules(session, "C4_T1", audience=Audience.operator()) == []
    assert search_modules(session, "%", audience=Audience.operator()) == []


def test_designer_edit_of_a_demo_module_survives_a_framework_reload(
    session: Session, framework: Any, framework_data: dict[str, Any]
) -> None:
    module = get_module(session, "tw-civil-service-dc.C5-T1")
    update_module(session, module, module_input(title_zh="我們機關的資料課"))
    report = load_framework(session, framework_data, IRI_BASE)
    assert module.title_zh == "我們機關的資料課"
    assert "module" not in report.updated
