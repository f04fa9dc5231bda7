"""Module content: Markdown in, HTML cleaned to a safe subset out, with a list of what went."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

import nh3
from markdown_it import MarkdownIt

from plugin.core.errors import InvalidInput

MAX_MARKDOWN_CHARS = 50_000
# An image written in raw HTML without alt text: screen readers would read its address. nh3's
# output is normalised (``<img src="…">``), so a pattern on it is safe.
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)")
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]+\Z")
ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "kbd", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "code": {"class"}}
URL_SCHEMES = {"https", "http", "mailto"}
URL_ATTRIBUTES = {"href", "src"}
# Elements dropped with everything inside them: their content is code or foreign markup,
# never prose a learner should read.
DROPPED_WITH_CONTENT = {
    "script", "style", "iframe", "object", "embed", "svg", "math", "template", "noscript",
    "textarea", "select", "frameset", "noembed", "noframes", "xmp",
}  # fmt: skip


class _Markdown(MarkdownIt):
    """Raw HTML passes the renderer so that nh3 can clean it and we can say what went; every
    link passes too (markdown-it would leave a "javascript:" link as bracketed text), for the
    same reason: nh3's scheme list decides, once, for links and images alike."""

    def validateLink(self, url: str) -> bool:
        return True


_markdown = _Markdown("commonmark", {"html": True, "linkify": False}).enable(
    ["table", "strikethrough"]
)


@dataclass(frozen=True)
class Removal:
    """One kind of thing cleaning removed: an element, an attribute of an element, or an
    address (``kind`` is ``element``, ``attribute`` or ``address``), and how many times."""

    kind: str
    name: str
    element: str = ""
    count: int = 1


@dataclass
class CleanContent:
    """Rendered, cleaned HTML and what the cleaning removed (empty when nothing)."""

    html: str
    removed: list[Removal] = field(default_factory=list)


class _Inventory(HTMLParser):
    """Counts the elements, attributes and addresses of an HTML fragment; what sits inside an
    element dropped with its content counts as part of that element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: Counter[str] = Counter()
        self.attributes: Counter[tuple[str, str]] = Counter()
        self.addresses: Counter[tuple[str, str]] = Counter()
        self._inside: list[str] = []  # the open elements dropped with their content

    def _count(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._inside:
            return
        self.elements[tag] += 1
        for name, value in attrs:
            self.attributes[(tag, name)] += 1
            if name in URL_ATTRIBUTES and value is not None:
                self.addresses[(tag, value.strip())] += 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._count(tag, attrs)
        if tag in DROPPED_WITH_CONTENT:
            self._inside.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._count(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._inside:
            while self._inside.pop() != tag:
                pass


def _inventory(html: str) -> _Inventory:
    parser = _Inventory()
    parser.feed(html)
    parser.close()
    return parser


def _removals(before: _Inventory, after: _Inventory) -> list[Removal]:
    removed = [
        Removal("element", tag, count=count)
        for tag, count in sorted((before.elements - after.elements).items())
    ]
    gone_elements = {removal.name for removal in removed}
    for (tag, name), count in sorted((before.attributes - after.attributes).items()):
        if tag in gone_elements or name in URL_ATTRIBUTES:
            continue  # said with its element, or below with its address
        removed.append(Removal("attribute", name, element=tag, count=count))
    for (tag, address), count in sorted((before.addresses - after.addresses).items()):
        if tag not in gone_elements:
            removed.append(Removal("address", address, element=tag, count=count))
    return removed


def _keep_attribute(element: str, attribute: str, value: str) -> str | None:
    # A fenced block's language (```python) is the only class Markdown writes; no other class
    # may borrow the tool's own styles.
    if attribute == "class" and not (element == "code" and _LANGUAGE_CLASS.match(value)):
        return None
    return value


def check_markdown(text: str, field: str = "content") -> None:
    """Refuse Markdown longer than MAX_MARKDOWN_CHARS, naming the field."""
    if len(text) > MAX_MARKDOWN_CHARS:
        raise InvalidInput(
            f"{field} is {len(text)} characters; at most {MAX_MARKDOWN_CHARS} are allowed",
            field=field,
        )


def clean_markdown(text: str) -> CleanContent:
    """Markdown rendered and cleaned to the safe subset, with what the cleaning removed."""
    raw = _markdown.render(text)
    html = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_keep_attribute,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )
    removed = _removals(_inventory(raw), _inventory(html))
    return CleanContent(html=_IMG_WITHOUT_ALT.sub('<img alt=""', html), removed=removed)


def render_markdown(text: str) -> str:
    """Cleaned HTML for Markdown (links open outside the LMS frame)."""
    return clean_markdown(text).html
