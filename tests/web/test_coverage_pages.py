"""The catalog coverage page, its CSV and the outside-course upload, behind a real LTI launch."""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from urllib.parse import parse_qs

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from plugin.competencies.coverage import compute_coverage, csv_rows
from plugin.competencies.framework import get_framework
from plugin.competencies.models import OutsideCourse
from plugin.organisations.audience import Audience
from tests.support.flows import TOOL, Flow, designer_token, launch_token

GOOD = (
    "code,title,hours,audience,tags\n"
    "EL-101,數位倫理與個資保護,2,,DC4-K3\n"
    "EL-102,AI 時代的溝通品質,1.5,委任;薦任,DC2-K3\n"
)


@pytest.fixture
def designer(flow: Flow) -> str:
    """A designer's (Instructor's) launch token."""
    return designer_token(flow)


@pytest.fixture
def learner(flow: Flow) -> str:
    """A learner's launch token."""
    return launch_token(flow)


def uncovered_on_page(html: str) -> list[str]:
    """Item codes of the table rows the page marks as not covered."""
    return re.findall(r'<tr id="item-([^"]+)" class="[^"]*coverage-row--uncovered', html)


def row_codes_on_page(html: str) -> list[str]:
    return re.findall(r'<tr id="item-([^"]+)"', html)


def get(flow: Flow, path: str, token: str, **args: str) -> TestResponse:
    return flow.client.get(path, query_string={"lt": token, **args}, base_url=TOOL)


def upload(flow: Flow, token: str, data: bytes, lang: str = "en", **form: str) -> TestResponse:
    return flow.client.post(
        f"/catalog/outside-courses?lang={lang}",
        data={"lt": token, "file": (io.BytesIO(data), "courses.csv"), **form},
        content_type="multipart/form-data",
        base_url=TOOL,
    )


def stored_courses(app: Flask) -> int:
    with app.extensions["plugin.db"].session_scope() as session:
        return session.scalar(select(func.count()).select_from(OutsideCourse)) or 0


def test_designer_sees_the_demo_catalogs_uncovered_indicator_first_and_highlighted(
    flow: Flow, designer: str
) -> None:
    response = get(flow, "/catalog/coverage", designer)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-Hant-TW">' in html
    assert uncovered_on_page(html) == ["DC2-K3"]
    assert "意識到AI對溝通品質的影響" in html
    # Listed at the top, before the table, as a link to its row.
    assert html.index('href="#item-DC2-K3"') < html.index('<tr id="item-DC1"')
    assert 'class="badge badge--uncovered"' in html
    assert '<caption id="coverage-caption">' in html
    assert 'scope="col"' in html and 'scope="row"' in html
    # Module titles are listed per row, and every grade has an hours column.
    assert "資料管理" in html
    for grade in ("委任", "薦任", "簡任", "主管"):
        assert f'<th scope="col" class="num">{grade}</th>' in html


def test_page_in_english_uses_the_english_columns(flow: Flow, designer: str) -> None:
    html = get(flow, "/catalog/coverage", designer, lang="en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Digital communication and collaboration" in html
    assert "Not covered" in html
    assert "Data management" in html


def test_links_and_form_carry_the_launch_token(flow: Flow, designer: str) -> None:
    html = get(flow, "/catalog/coverage", designer).get_data(as_text=True)
    assert f'href="/catalog/coverage.csv?lt={designer}"' in html
    assert f'<input type="hidden" name="lt" value="{designer}">' in html
    assert 'enctype="multipart/form-data"' in html


def test_csv_has_a_bom_and_the_same_rows_as_the_page_and_the_service(
    flow: Flow, designer: str, app: Flask
) -> None:
    page = get(flow, "/catalog/coverage", designer).get_data(as_text=True)
    response = get(flow, "/catalog/coverage.csv", designer)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert [r["code"] for r in rows] == row_codes_on_page(page)
    assert [r["code"] for r in rows if r["covered"] == "no"] == uncovered_on_page(page)
    with app.extensions["plugin.db"].session_scope() as session:
        framework = get_framework(session)
        assert framework is not None
        # The designer's organisation (the default one) has no module of its own yet: the
        # page counts the national catalog, as the operator's view does.
        assert rows == csv_rows(compute_coverage(session, framework, Audience.operator()))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/catalog/coverage"),
        ("get", "/catalog/coverage.csv"),
        ("post", "/catalog/outside-courses"),
    ],
)
def test_learners_are_refused_with_403(
    flow: Flow, learner: str, app: Flask, method: str, path: str
) -> None:
    response = get(flow, path, learner) if method == "get" else upload(flow, learner, b"")
    assert response.status_code == 403
    assert "<code>forbidden</code>" in response.get_data(as_text=True)
    assert stored_courses(app) == 0


def test_without_a_launch_the_page_is_401(flow: Flow) -> None:
    assert flow.client.get("/catalog/coverage", base_url=TOOL).status_code == 401


def test_upload_imports_counts_in_the_coverage_and_a_second_upload_changes_nothing(
    flow: Flow, designer: str, app: Flask
) -> None:
    response = upload(flow, designer, b"\xef\xbb\xbf" + GOOD.encode(), source="e等公務園")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "2 created, 0 updated, 0 unchanged." in html
    assert uncovered_on_page(html) == []
    assert "EL-102" in html
    # The language switch of a POST answer goes back to the coverage page, with the token.
    switches = re.findall(r'href="/catalog/coverage\?([^"]*lang=zh_TW[^"]*)"', html)
    assert [parse_qs(unescape(query)) for query in switches] == [
        {"lang": ["zh_TW"], "lt": [designer]}
    ], switches
    again = upload(flow, designer, GOOD.encode())
    assert again.status_code == 200
    assert "0 created, 0 updated, 2 unchanged." in again.get_data(as_text=True)
    assert stored_courses(app) == 2


def test_a_bad_row_is_refused_with_400_naming_line_and_field_and_nothing_saved(
    flow: Flow, designer: str, app: Flask
) -> None:
    bad = GOOD + "EL-103,壞掉的列,abc,,DC1-K1\n"
    response = upload(flow, designer, bad.encode())
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The file was refused; nothing was imported." in html
    assert re.search(r'<td class="num">4</td><th scope="row"><code>hours</code></th>', html)
    assert "must be a number &gt; 0" in html
    assert stored_courses(app) == 0
    assert uncovered_on_page(html) == ["DC2-K3"]


BAD_ROWS = (
    "code;title;hours;audience;tags\n"
    "EL-101;;abc;校長;DC9-K9\n"
    "=EL-102;標題;2;;DC1-K1\n"
    "EL-101;重複;1;;DC1-K1\n"
).encode("cp950")
GRADES = "junior, intermediate, senior, supervisor, 委任, 薦任, 簡任, 主管"
PROBLEMS = {
    "zh_TW": [
        ("2", "title", "必填"),
        ("2", "hours", "須為大於 0 且不超過 1000 的數字"),
        ("2", "audience", f"未知的官等 '校長'（請用 {GRADES}）"),
        ("2", "tags", "未知的職能代碼 'DC9-K9'"),
        ("3", "code", "不得以 =、+、-、@ 開頭（試算表會把它當成公式執行）"),
        ("4", "code", "課程代碼 'EL-101' 重複（首次出現在第 2 行）"),
    ],
    "en": [
        ("2", "title", "required"),
        ("2", "hours", "must be a number > 0 and at most 1000"),
        ("2", "audience", f"unknown grade '校長' (use {GRADES})"),
        ("2", "tags", "unknown competency ID 'DC9-K9'"),
        ("3", "code", "must not start with =, +, -, @ (a spreadsheet would run it as a formula)"),
        ("4", "code", "duplicate code 'EL-101' (first on line 2)"),
    ],
}  # fmt: skip


def problem_rows(html: str) -> list[tuple[str, str, str]]:
    """The refusal table's rows: (line, field, problem), entities resolved."""
    cells = r'<td class="num">([^<]*)</td><th scope="row"><code>([^<]*)</code></th><td[^>]*>'
    rows = re.findall(rf"<tr>{cells}([^<]*)</td></tr>", html)
    return [(line, unescape(field), unescape(problem)) for line, field, problem in rows]


@pytest.mark.parametrize("lang", ["zh_TW", "en"])
def test_every_problem_of_a_cp950_file_is_listed_at_once_in_the_pages_language(
    flow: Flow, designer: str, app: Flask, lang: str
) -> None:
    response = upload(flow, designer, BAD_ROWS, lang=lang)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert problem_rows(html) == PROBLEMS[lang]
    assert ' lang="en"' not in html.split('id="refusal-title"')[1].split("</section>")[0]
    assert stored_courses(app) == 0


def test_a_wrong_header_and_a_missing_file_are_refused_with_400(
    flow: Flow, designer: str, app: Flask
) -> None:
    response = upload(flow, designer, b"code;title;hours\nEL-1;t;1\n")
    assert response.status_code == 400
    assert "<code>header</code>" in response.get_data(as_text=True)
    missing = flow.client.post(
        "/catalog/outside-courses?lang=en",
        data={"lt": designer},
        content_type="multipart/form-data",
        base_url=TOOL,
    )
    assert missing.status_code == 400
    assert "Choose a CSV file to import." in missing.get_data(as_text=True)
    assert stored_courses(app) == 0


def test_a_big5_file_with_semicolons_from_zh_tw_excel_imports_and_says_how_it_was_read(
    flow: Flow, designer: str, app: Flask
) -> None:
    # zh-TW Excel's plain "CSV" is cp950; a ";" list separator makes ";" the delimiter, so the
    # audience list is quoted. 碁 is a cp950-only character.
    data = (
        "code;title;hours;audience;tags\r\n"
        "EL-101;數位倫理與個資保護（碁）;2;;DC4-K3\r\n"
        'EL-102;AI 時代的溝通品質;1.5;"委任;薦任";DC2-K3\r\n'
    ).encode("cp950")
    response = upload(flow, designer, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "2 created, 0 updated, 0 unchanged." in html
    assert "The file was read as Big5 (cp950)." in html
    with app.extensions["plugin.db"].session_scope() as session:
        titles = dict(session.execute(select(OutsideCourse.code, OutsideCourse.title)).all())
        audience = session.scalar(
            select(OutsideCourse.audience).where(OutsideCourse.code == "EL-102")
        )
    assert titles["EL-101"] == "數位倫理與個資保護（碁）"
    assert audience == ["junior", "intermediate"]


def test_a_tab_delimited_utf8_file_imports(flow: Flow, designer: str) -> None:
    response = upload(flow, designer, GOOD.replace(",", "\t").encode("utf-8-sig"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "2 created, 0 updated, 0 unchanged." in html
    assert "The file was read as UTF-8." in html


def test_a_file_in_neither_encoding_is_refused_naming_the_encodings_tried(
    flow: Flow, designer: str, app: Flask
) -> None:
    data = GOOD.encode() + "EL-103,課程,1,,DC1-K1\n".encode("utf-16-le")
    response = upload(flow, designer, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'<td class="num">4</td><th scope="row"><code>file</code></th>', html)
    assert "not UTF-8 or Big5 (cp950) text" in html
    assert stored_courses(app) == 0


def test_the_template_downloads_as_utf8_with_bom_and_imports_unchanged(
    flow: Flow, designer: str, app: Flask
) -> None:
    page = get(flow, "/catalog/coverage", designer).get_data(as_text=True)
    link = f'href="/catalog/outside-courses/template.csv?lt={designer}"'
    assert link in page
    response = get(flow, "/catalog/outside-courses/template.csv", designer)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["code", "title", "hours", "audience", "tags"]
    assert len(rows) == 2 and "範例" in rows[1][1]
    imported = upload(flow, designer, response.data)
    assert imported.status_code == 200, imported.get_data(as_text=True)
    assert "1 created, 0 updated, 0 unchanged." in imported.get_data(as_text=True)
    assert stored_courses(app) == 1


def test_the_template_is_refused_to_learners(flow: Flow, learner: str) -> None:
    assert get(flow, "/catalog/outside-courses/template.csv", learner).status_code == 403
