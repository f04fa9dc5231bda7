"""A module's embedded resource is allowed by the page's CSP (frame-src), on that page only."""

from __future__ import annotations

import pytest
from flask import Flask

from plugin.competencies.framework import get_framework
from plugin.competencies.modules import create_module
from tests.support.app import IRI_BASE
from tests.support.flows import TOOL, Flow
from tests.support.modules import launch, token_of


def external_module(app: Flask, url: str, display: str = "embed") -> str:
    """A module that shows ``url`` in the page (or in a new window); its key."""
    data = {
        "title_zh": "外部教材",
        "title_en": "External material",
        "hours": 1,
        "external_url": url,
        "external_display": display,
    }
    with app.extensions["plugin.db"].session_scope() as session:
        return create_module(session, data, get_framework(session), IRI_BASE).key


def frame_src(csp: str) -> str:
    """The frame-src directive of a CSP header, or ""."""
    return next((d.strip() for d in csp.split(";") if d.strip().startswith("frame-src")), "")


def test_the_embedding_page_allows_the_resources_origin_and_other_pages_do_not(
    flow: Flow, app: Flask
) -> None:
    key = external_module(app, "https://Video.Example.org/watch?v=1")
    page = flow.land(launch(flow, link="rl-video", module_key=key))
    assert page.status_code == 200
    # Before: no frame-src, so default-src 'self' blocked the frame without a word.
    assert frame_src(page.headers["Content-Security-Policy"]) == (
        "frame-src 'self' https://video.example.org"
    )
    assert 'class="module-embed" src="https://Video.Example.org/watch?v=1"' in page.get_data(
        as_text=True
    )
    token = token_of(launch(flow, link="rl-video", module_key=key))
    other = flow.client.get("/lti/map", query_string={"lt": token}, base_url=TOOL)
    assert other.status_code == 200
    assert "video.example.org" not in other.headers["Content-Security-Policy"]
    assert frame_src(other.headers["Content-Security-Policy"]) == ""


@pytest.mark.parametrize(
    "url",
    [
        "http://video.example.org/watch",  # mixed content: the browser would block the frame
        "https://video.example.org;script-src*/x",  # would write a directive into the header
        "https://例子.測試/watch",  # not a plain ASCII host
    ],
)
def test_a_resource_that_cannot_be_framed_is_offered_as_a_link(
    flow: Flow, app: Flask, url: str
) -> None:
    key = external_module(app, url)
    page = flow.land(launch(flow, link="rl-video", module_key=key))
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert frame_src(csp) == "" and "script-src*" not in csp
    html = page.get_data(as_text=True)
    assert "module-embed" not in html
    assert 'target="_blank"' in html  # the link to open it in a new window


def test_a_module_shown_in_a_new_window_adds_nothing_to_the_policy(flow: Flow, app: Flask) -> None:
    key = external_module(app, "https://video.example.org/watch", display="window")
    page = flow.land(launch(flow, link="rl-video", module_key=key))
    assert frame_src(page.headers["Content-Security-Policy"]) == ""
    assert "module-embed" not in page.get_data(as_text=True)
