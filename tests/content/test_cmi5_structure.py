"""Reading cmi5 course structures (cmi5 §13): what a course holds, its defaults, its refusals."""

from __future__ import annotations

import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale

from plugin.content.cmi5_structure import (
    AU,
    MAX_DEPTH,
    MAX_STRUCTURE_BYTES,
    Block,
    package_kind,
    read_course,
)
from plugin.content.errors import PackageRefused
from plugin.web.designer_content_messages import MESSAGES
from tests.content.packages import (
    AU_PAGE,
    CMI5_BODY,
    CMI5_COURSE,
    CMI5_OBJECTIVES,
    build_zip,
    cmi5_au,
    cmi5_course,
    cmi5_texts,
    cmi5_xml,
    scorm12,
)

ASSESSMENT = "http://adlnet.gov/expapi/activities/assessment"


def refusal(path: Path) -> PackageRefused:
    with pytest.raises(PackageRefused) as caught:
        read_course(path)
    return caught.value


def course_with(tmp_path: Path, body: str, objectives: str = "") -> Path:
    return cmi5_course(tmp_path / "course.zip", cmi5_xml(body, objectives))


def block(key: str, body: str) -> str:
    texts = cmi5_texts("區塊", "Block")
    return (
        f'<block id="{CMI5_COURSE}/block/{key}"><title>{texts}</title>'
        f"<description>{texts}</description>{body}</block>"
    )


def test_the_course_its_objectives_blocks_and_aus_are_read_in_document_order(
    tmp_path: Path,
) -> None:
    structure = read_course(cmi5_course(tmp_path / "course.zip"))

    assert structure.course.id == CMI5_COURSE
    assert structure.course.titles == {"zh-TW": "資安課程", "en": "Security course"}
    assert structure.course.descriptions == {"zh-TW": "資安基礎", "en": "Security basics"}
    assert [o.id for o in structure.objectives] == [
        f"{CMI5_COURSE}/objective/phishing",
        f"{CMI5_COURSE}/objective/passwords",
    ]
    assert structure.objectives[1].titles == {"zh-TW": "密碼管理", "en": "Passwords"}
    top_block, top_au = structure.children
    assert isinstance(top_block, Block) and isinstance(top_au, AU)
    assert top_block.id == f"{CMI5_COURSE}/block/basics"
    assert top_block.titles == {"zh-TW": "基礎", "en": "Basics"}
    assert top_block.objectives == (f"{CMI5_COURSE}/objective/phishing",)
    assert [au.id for au in top_block.children] == [
        f"{CMI5_COURSE}/au/intro",
        f"{CMI5_COURSE}/au/quiz",
    ]
    assert [au.id.rsplit("/", 1)[1] for au in structure.aus()] == ["intro", "quiz", "video"]
    assert structure.blocks() == [top_block]


def test_an_au_states_every_attribute_and_element_cmi5_defines(tmp_path: Path) -> None:
    quiz = read_course(cmi5_course(tmp_path / "course.zip")).aus()[1]

    assert quiz.titles == {"zh-TW": "單元 quiz", "en": "Unit quiz"}
    assert quiz.descriptions == {"zh-TW": "說明 quiz", "en": "About quiz"}
    assert quiz.url == "quiz/index.html?start=1"
    assert not quiz.absolute
    assert quiz.launch_method == "OwnWindow"
    assert quiz.move_on == "CompletedAndPassed"
    assert quiz.mastery_score == Decimal("0.8")
    assert quiz.launch_parameters == "level=2"
    assert quiz.entitlement_key == "key-123"
    assert quiz.activity_type == ASSESSMENT
    assert quiz.objectives == (f"{CMI5_COURSE}/objective/passwords",)


def test_an_au_without_attributes_takes_cmi5s_defaults(tmp_path: Path) -> None:
    intro = read_course(cmi5_course(tmp_path / "course.zip")).aus()[0]

    assert (intro.launch_method, intro.move_on) == ("AnyWindow", "NotApplicable")
    assert intro.mastery_score is None
    assert (intro.launch_parameters, intro.entitlement_key, intro.activity_type) == ("", "", "")
    assert intro.objectives == ()


def test_an_absolute_au_url_is_kept_as_written(tmp_path: Path) -> None:
    video = read_course(cmi5_course(tmp_path / "course.zip")).aus()[2]

    assert video.url == "https://video.example.gov.tw/au/video.html"
    assert video.absolute
    assert video.move_on == "Completed"


def test_a_relative_url_is_the_packages_path_however_it_is_spelled(tmp_path: Path) -> None:
    body = cmi5_au("a", "./pages/../%E7%AC%AC%E4%B8%80.html#top")
    path = cmi5_course(tmp_path / "course.zip", cmi5_xml(body), **{"第一.html": AU_PAGE})

    assert read_course(path).aus()[0].url == "%E7%AC%AC%E4%B8%80.html#top"


def test_every_language_given_is_kept_and_the_first_text_of_a_language_wins(
    tmp_path: Path,
) -> None:
    au = cmi5_au("a", "intro/index.html").replace(
        "<title>",
        '<title><langstring lang="ja">ユニット</langstring>'
        '<langstring lang="en">First</langstring>',
    )
    titles = read_course(course_with(tmp_path, au)).aus()[0].titles

    assert titles == {"ja": "ユニット", "en": "First", "zh-TW": "單元 a"}


def test_a_bare_cmi5_xml_with_absolute_aus_is_read(tmp_path: Path) -> None:
    path = tmp_path / "cmi5.xml"
    path.write_text(cmi5_xml(cmi5_au("a", "https://au.example.gov.tw/a")), encoding="utf-8")

    assert [au.url for au in read_course(path).aus()] == ["https://au.example.gov.tw/a"]


def test_a_bare_cmi5_xml_with_a_relative_au_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cmi5.xml"
    path.write_text(cmi5_xml(cmi5_au("a", "intro/index.html")), encoding="utf-8")

    refused = refusal(path)
    assert refused.code == "cmi5_bad_url"
    assert f"{CMI5_COURSE}/au/a" in str(refused.params["element"])


def test_package_kind_tells_scorm_from_cmi5_by_the_file_at_the_root(tmp_path: Path) -> None:
    other = build_zip(tmp_path / "other.zip", {"course/cmi5.xml": "x", "index.html": "x"})
    both = build_zip(tmp_path / "both.zip", {"cmi5.xml": "x", "imsmanifest.xml": "x"})
    kinds = {}
    for name, path in {
        "scorm": scorm12(tmp_path / "scorm.zip"),
        "cmi5": cmi5_course(tmp_path / "cmi5.zip"),
        "other": other,
        "both": both,
    }.items():
        with zipfile.ZipFile(path) as archive:
            kinds[name] = package_kind(archive)

    assert kinds == {"scorm": "scorm", "cmi5": "cmi5", "other": None, "both": "scorm"}


QUIZ = f"{CMI5_COURSE}/au/quiz"


@pytest.mark.parametrize(
    ("original", "replacement", "code", "named"),
    [
        (f'id="{QUIZ}"', "", "cmi5_bad_id", "au"),
        (f'id="{QUIZ}"', 'id="quiz"', "cmi5_bad_id", "au"),
        ("<url>quiz/index.html?start=1</url>", "", "cmi5_missing_element", QUIZ),
        ('masteryScore="0.8"', 'masteryScore="1.5"', "cmi5_bad_mastery_score", QUIZ),
        ('masteryScore="0.8"', 'masteryScore="-0.1"', "cmi5_bad_mastery_score", QUIZ),
        ('masteryScore="0.8"', 'masteryScore="eighty"', "cmi5_bad_mastery_score", QUIZ),
        ('moveOn="CompletedAndPassed"', 'moveOn="Done"', "cmi5_bad_value", QUIZ),
        ('launchMethod="OwnWindow"', 'launchMethod="NewTab"', "cmi5_bad_value", QUIZ),
        (f'id="{QUIZ}"', f'id="{CMI5_COURSE}/au/intro"', "cmi5_duplicate_id", "au"),
        (f'id="{QUIZ}"', f'id="{CMI5_COURSE}/block/basics"', "cmi5_duplicate_id", "au"),
        ("quiz/index.html?start=1", "quiz/missing.html", "cmi5_url_not_in_package", QUIZ),
        ("quiz/index.html?start=1", "../outside.html", "cmi5_bad_url", QUIZ),
        ("quiz/index.html?start=1", "javascript:alert(1)", "cmi5_bad_url", QUIZ),
        ("objective/passwords", "objective/unknown", "cmi5_unknown_objective", QUIZ),
    ],
)
def test_an_au_breaking_the_schema_is_refused_naming_it(
    tmp_path: Path, original: str, replacement: str, code: str, named: str
) -> None:
    structure = cmi5_xml(CMI5_BODY, CMI5_OBJECTIVES)
    assert original in structure
    path = cmi5_course(tmp_path / "course.zip", structure.replace(original, replacement, 1))

    refused = refusal(path)
    assert refused.code == code
    assert named in str(refused.params["element"])


def test_an_au_title_without_text_is_refused_naming_the_au(tmp_path: Path) -> None:
    au = cmi5_au("a", "intro/index.html").replace(
        f"<title>{cmi5_texts('單元 a', 'Unit a')}</title>", "<title/>"
    )
    refused = refusal(course_with(tmp_path, au))

    assert refused.code == "cmi5_missing_element"
    assert refused.params["missing"] == "title/langstring"
    assert f"{CMI5_COURSE}/au/a" in str(refused.params["element"])


def test_a_block_without_aus_and_a_course_without_any_are_refused(tmp_path: Path) -> None:
    empty_block = refusal(course_with(tmp_path, block("empty", "")))
    no_aus = refusal(course_with(tmp_path, ""))

    assert (empty_block.code, no_aus.code) == ("cmi5_empty", "cmi5_empty")
    assert f"{CMI5_COURSE}/block/empty" in str(empty_block.params["element"])
    assert no_aus.params["element"] == "courseStructure"


def test_blocks_nested_too_deep_are_refused(tmp_path: Path) -> None:
    body = cmi5_au("a", "intro/index.html")
    for level in range(MAX_DEPTH):
        body = block(str(level), body)

    assert refusal(course_with(tmp_path, body)).code == "cmi5_too_deep"


@pytest.mark.parametrize(
    ("files", "code"),
    [
        ({"index.html": AU_PAGE}, "cmi5_no_structure"),
        ({"course/cmi5.xml": cmi5_xml(CMI5_BODY)}, "cmi5_in_folder"),
        ({"cmi5.xml": "<courseStructure><course"}, "cmi5_invalid_xml"),
        (
            {"cmi5.xml": '<!DOCTYPE x [<!ENTITY a "aaaa">]><courseStructure/>'},
            "cmi5_doctype",
        ),
        ({"cmi5.xml": "<courseStructure/>"}, "cmi5_not_course_structure"),
        ({"cmi5.xml": " " * (MAX_STRUCTURE_BYTES + 1)}, "cmi5_too_large"),
    ],
)
def test_a_zip_without_a_readable_structure_at_its_root_is_refused(
    tmp_path: Path, files: dict[str, bytes | str], code: str
) -> None:
    assert refusal(build_zip(tmp_path / "course.zip", files)).code == code


def test_a_course_without_a_course_element_is_refused(tmp_path: Path) -> None:
    structure = cmi5_xml(cmi5_au("a", "intro/index.html"))
    start = structure.index("<course ")
    end = structure.index("</course>") + len("</course>")
    refused = refusal(cmi5_course(tmp_path / "c.zip", structure[:start] + structure[end:]))

    assert (refused.code, refused.params["missing"]) == ("cmi5_missing_element", "course")


def test_refusals_are_told_in_chinese_and_in_english(app: Flask, tmp_path: Path) -> None:
    structure = cmi5_xml(CMI5_BODY, CMI5_OBJECTIVES).replace(
        'masteryScore="0.8"', 'masteryScore="1.5"'
    )
    refused = refusal(cmi5_course(tmp_path / "course.zip", structure))

    why = MESSAGES[refused.code]
    with app.test_request_context():
        with force_locale("zh_Hant_TW"):
            chinese = why(refused.params)
        with force_locale("en"):
            english = why(refused.params)

    assert QUIZ in chinese and QUIZ in english
    assert "1.5" in chinese and "1.5" in english
    assert chinese != english and not chinese.isascii()
