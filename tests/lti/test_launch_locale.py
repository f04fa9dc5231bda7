"""The LMS's language wins: the top-level ``locale`` claim, else ``launch_presentation.locale``
(where Moodle sends it), mapped onto the tool's two catalogs."""

from __future__ import annotations

from typing import Any

import pytest

from plugin.lti.claims import CLAIM_LAUNCH_PRESENTATION, launch_locale
from tests.support.flows import TOOL, Flow

PRESENTATION = {"document_target": "iframe", "return_url": "https://lms.example/course"}


def landing_lang(flow: Flow, **claims: Any) -> str:
    """The ``<html lang>`` of the page a launch with ``claims`` lands on."""
    response = flow.complete(**claims)
    assert response.status_code == 303, response.get_data(as_text=True)
    page = flow.client.get(response.headers["Location"], base_url=TOOL)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def test_moodles_launch_presentation_locale_alone_shows_english(flow: Flow) -> None:
    presentation = {**PRESENTATION, "locale": "en"}
    assert landing_lang(flow, locale=None, **{CLAIM_LAUNCH_PRESENTATION: presentation}) == "en"


def test_without_any_locale_the_default_language_is_shown(flow: Flow) -> None:
    assert landing_lang(flow, locale=None) == "zh-Hant-TW"


def test_the_top_level_locale_claim_comes_first(flow: Flow) -> None:
    presentation = {**PRESENTATION, "locale": "en"}
    lang = landing_lang(flow, locale="zh-TW", **{CLAIM_LAUNCH_PRESENTATION: presentation})
    assert lang == "zh-Hant-TW"


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"locale": "en-US"}, "en-US"),
        ({"locale": " ", CLAIM_LAUNCH_PRESENTATION: {"locale": "zh_TW"}}, "zh_TW"),
        ({CLAIM_LAUNCH_PRESENTATION: {"locale": "zh-Hant"}}, "zh-Hant"),
        ({CLAIM_LAUNCH_PRESENTATION: {"locale": 7}}, ""),
        ({CLAIM_LAUNCH_PRESENTATION: "en"}, ""),
        ({"locale": ["en"]}, ""),
        ({}, ""),
    ],
)
def test_launch_locale_reads_strings_only(claims: dict[str, Any], expected: str) -> None:
    assert launch_locale(claims) == expected


def test_a_language_chosen_on_a_page_stays_with_the_launch(flow: Flow) -> None:
    response = flow.complete()  # the LMS says zh-TW
    assert response.status_code == 303
    token = response.headers["Location"].split("lt=", 1)[1].split("&", 1)[0]

    def lang_of(**query: str) -> str:
        page = flow.client.get("/lti/map", query_string={"lt": token, **query}, base_url=TOOL)
        assert page.status_code == 200
        return page.get_data(as_text=True).split('<html lang="', 1)[1].split('"', 1)[0]

    assert lang_of() == "zh-Hant-TW"
    assert lang_of(lang="en") == "en"
    for _click in range(5):  # the next pages, without ?lang=, keep English
        assert lang_of() == "en"
    assert lang_of(lang="zh_TW") == "zh-Hant-TW" and lang_of() == "zh-Hant-TW"
    assert lang_of(lang="fr") == "zh-Hant-TW"  # an unknown choice changes nothing


def test_a_form_sent_with_a_language_keeps_the_launchs_language(flow: Flow) -> None:
    response = flow.complete()
    token = response.headers["Location"].split("lt=", 1)[1].split("&", 1)[0]
    # A refused form writes nothing, its ?lang= included; the answer itself is in English.
    refused = flow.client.post(
        "/lti/module/check", query_string={"lang": "en"}, data={"lt": token}, base_url=TOOL
    )
    assert 400 <= refused.status_code < 500
    assert refused.get_data(as_text=True).split('<html lang="', 1)[1].startswith("en")
    page = flow.client.get("/lti/map", query_string={"lt": token}, base_url=TOOL)
    assert page.get_data(as_text=True).split('<html lang="', 1)[1].startswith("zh-Hant-TW")
