"""URL parsing and allow-list matching: by parsed origin and path segments, never by text."""

from __future__ import annotations

import pytest

from plugin.core.urls import (
    UrlRefused,
    admitting_entry,
    parse_allow_entry,
    parse_http_url,
)


def _admits(entry: str, url: str) -> bool:
    return parse_allow_entry(entry).admits(parse_http_url(url))


@pytest.mark.parametrize(
    ("entry", "url"),
    [
        ("https://lms.gov.tw", "https://lms.gov.tw/.well-known/openid-configuration"),
        ("https://lms.gov.tw/", "https://LMS.gov.tw/mod/lti/openid-configuration.php"),
        ("https://lms.gov.tw/moodle", "https://lms.gov.tw/moodle/openid"),
        ("https://lms.gov.tw/moodle/", "https://lms.gov.tw/moodle/x?registration_token=1"),
        ("https://lms.gov.tw:443/", "https://lms.gov.tw/cfg"),
        ("http://127.0.0.1:8201/", "http://127.0.0.1:8201/cfg"),
        ("http://[::1]:8201/", "http://[::1]:8201/cfg"),
        ("*", "https://anything.example/cfg"),
    ],
)
def test_an_entry_admits_urls_of_its_origin_under_its_path(entry: str, url: str) -> None:
    assert _admits(entry, url)


@pytest.mark.parametrize(
    ("entry", "url"),
    [
        # A host that merely begins with the listed one.
        ("https://lms.gov.tw", "https://lms.gov.tw.evil/cfg"),
        ("https://lms.gov.tw/", "https://lms.gov.tw.evil/cfg"),
        # A path segment that merely begins with the listed one.
        ("https://lms.gov.tw/moodle", "https://lms.gov.tw/moodle-evil/cfg"),
        ("https://lms.gov.tw/moodle/", "https://lms.gov.tw/moodleevil"),
        # Another scheme or port.
        ("https://lms.gov.tw/", "http://lms.gov.tw/cfg"),
        ("https://lms.gov.tw/", "https://lms.gov.tw:8443/cfg"),
        ("http://127.0.0.1:8201/", "http://127.0.0.1:8202/cfg"),
        # The listed path is not above the URL.
        ("https://lms.gov.tw/moodle", "https://lms.gov.tw/"),
    ],
)
def test_an_entry_does_not_admit_look_alike_urls(entry: str, url: str) -> None:
    assert not _admits(entry, url)


@pytest.mark.parametrize(
    "url",
    [
        "http://victim-lms.example@attacker:8201/cfg",
        "https://user:pass@lms.gov.tw/cfg",
        "https://lms.gov.tw/cfg#frag",
        "javascript:alert(1)",
        "ftp://lms.gov.tw/cfg",
        "https:///cfg",
        "https://lms.gov.tw:99999/cfg",
        "https://lms.gov.tw/moodle/../evil",
        "https://lms.gov.tw/moodle/%2e%2e/evil",
        "https://lms.gov.tw\\@evil/",
        "https://lms.gov.tw /cfg",
        "https://lms.gov.tw/\ncfg",
        "https://lmś.gov.tw/",
        "",
    ],
)
def test_parsing_refuses_what_is_not_a_plain_http_url(url: str) -> None:
    with pytest.raises(UrlRefused):
        parse_http_url(url)


def test_a_parsed_url_has_a_normalised_origin_and_segments() -> None:
    url = parse_http_url("HTTPS://LMS.Gov.TW.:443/moodle/openid/?x=1")
    assert (url.scheme, url.host, url.port) == ("https", "lms.gov.tw", 443)
    assert url.origin == "https://lms.gov.tw"
    assert url.segments == ("moodle", "openid")
    assert parse_http_url("http://[::1]:8201/").origin == "http://[::1]:8201"


@pytest.mark.parametrize(
    "entry", ["https://u@lms.gov.tw/", "https://lms.gov.tw/?a=1", "lms.gov.tw", "*.gov.tw"]
)
def test_an_allow_list_entry_with_a_user_a_query_or_no_scheme_is_refused(entry: str) -> None:
    with pytest.raises(UrlRefused):
        parse_allow_entry(entry)


def test_the_entry_naming_the_origin_is_preferred_over_the_wildcard() -> None:
    entries = [parse_allow_entry("*"), parse_allow_entry("http://127.0.0.1:8201/")]
    url = parse_http_url("http://127.0.0.1:8201/cfg")
    chosen = admitting_entry(url, entries)
    assert chosen is not None and chosen.names_origin(url)
    other = parse_http_url("http://127.0.0.1:8202/cfg")
    wildcard = admitting_entry(other, entries)
    assert wildcard is not None and wildcard.anything and not wildcard.names_origin(other)
    assert admitting_entry(other, entries[1:]) is None
