"""Module content: safe Markdown in, sanitised HTML out."""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

from plugin.core.errors import InvalidInput

MAX_MARKDOWN_CHARS = 50_000
# Raw HTML that would run script if a renderer ever let it through. Markdown-it is configured
# not to pass raw HTML, and nh3 cleans the output; refusing it up front tells the designer.
SCRIPT_PATTERNS = re.compile(
    r"<\s*(script|iframe|object|embed|style)\b|javascript\s*:|vbscript\s*:|\bon[a-z]+\s*=",
    re.IGNORECASE,
)
ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "img",
    "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul", "del",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)


def check_markdown(text: str, field: str = "content") -> None:
    """Refuse oversized Markdown and Markdown that carries script, naming the field."""
    if len(text) > MAX_MARKDOWN_CHARS:
        raise InvalidInput(
            f"{field} is {len(text)} characters; at most {MAX_MARKDOWN_CHARS} are allowed",
            field=field,
        )
    match = SCRIPT_PATTERNS.search(text)
    if match:
        raise InvalidInput(
            f"{field} contains script ({match.group(0).strip()!r}); remove it", field=field
        )


def render_markdown(text: str) -> str:
    """Sanitised HTML for checked Markdown (links open outside the LMS frame)."""
    html = _markdown.render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer",
    )
