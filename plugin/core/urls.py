"""Parse http(s) URLs strictly and match them against allow-list entries.

A URL a peer or a query string hands the tool is parsed once into scheme, host, port and path
segments; allow-list entries match on those parts, never on the text, so
``https://lms.gov.tw/`` does not admit ``https://lms.gov.tw.evil/``,
``https://lms.gov.tw/moodle`` does not admit ``https://lms.gov.tw/moodle-evil/`` and
``http://lms.gov.tw@evil/`` is refused outright (docs/ARCHITECTURE.md §9).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
ANYTHING = "*"


class UrlRefused(ValueError):
    """A URL that is not a plain http(s) URL; the message says why."""


@dataclass(frozen=True)
class HttpUrl:
    """A parsed http(s) URL without user, password or fragment."""

    text: str
    scheme: str
    host: str
    port: int
    segments: tuple[str, ...]

    @property
    def origin(self) -> str:
        """``scheme://host[:port]``, the port left out when it is the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return f"{self.scheme}://{host}"
        return f"{self.scheme}://{host}:{self.port}"

    def same_origin(self, other: HttpUrl) -> bool:
        """True when scheme, host and port are the same."""
        return (self.scheme, self.host, self.port) == (other.scheme, other.host, other.port)


def parse_http_url(text: str) -> HttpUrl:
    """``text`` parsed, or UrlRefused: only http(s), a host, no user info, no fragment."""
    _check_characters(text)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UrlRefused("it is not an http(s) URL")
    if "@" in parts.netloc:
        raise UrlRefused("it carries a user name or password (user@host)")
    if "#" in text:
        raise UrlRefused("it has a fragment (#...)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRefused("it has no host")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise UrlRefused("its port is not a number from 1 to 65535") from None
    return HttpUrl(text=text, scheme=scheme, host=host, port=port, segments=_segments(parts.path))


def _check_characters(text: str) -> None:
    """Refuse an empty text and characters whose meaning in a URL is disputed."""
    if not isinstance(text, str) or not text:
        raise UrlRefused("it is empty")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in text):
        # Browsers and libraries disagree on what such characters mean in a URL.
        raise UrlRefused("it contains spaces, control characters or backslashes")
    if not text.isascii():
        raise UrlRefused("it is not ASCII (write an international host name in its xn-- form)")


def _segments(path: str) -> tuple[str, ...]:
    """The path's segments without a trailing empty one; refused with . or .. segments."""
    segments = tuple(segment for segment in path.split("/")[1:])
    if segments and segments[-1] == "":
        segments = segments[:-1]
    if any(unquote(segment) in (".", "..") for segment in segments):
        raise UrlRefused("its path has . or .. segments")
    return segments


@dataclass(frozen=True)
class AllowEntry:
    """One allow-list entry: ``*`` (any URL) or an origin with an optional leading path."""

    text: str
    prefix: HttpUrl | None = None

    @property
    def anything(self) -> bool:
        """True for ``*``."""
        return self.prefix is None

    def admits(self, url: HttpUrl) -> bool:
        """True when ``url`` has the entry's origin and begins with its path segments."""
        if self.prefix is None:
            return True
        wanted = self.prefix.segments
        return self.prefix.same_origin(url) and url.segments[: len(wanted)] == wanted

    def names_origin(self, url: HttpUrl) -> bool:
        """True when the entry names ``url``'s origin explicitly (``*`` names none)."""
        return self.prefix is not None and self.prefix.same_origin(url)


def parse_allow_entry(text: str) -> AllowEntry:
    """``*`` or an http(s) URL prefix without query, user info or fragment; else UrlRefused."""
    if text == ANYTHING:
        return AllowEntry(text)
    prefix = parse_http_url(text)
    if urlsplit(text).query or "?" in text:
        raise UrlRefused("an allow-list entry cannot have a query (?...)")
    return AllowEntry(text, prefix)


def admitting_entry(url: HttpUrl, entries: Iterable[AllowEntry]) -> AllowEntry | None:
    """The first entry that admits ``url``, preferring one that names its origin."""
    admitting = [entry for entry in entries if entry.admits(url)]
    named = [entry for entry in admitting if entry.names_origin(url)]
    candidates = named or admitting
    return candidates[0] if candidates else None
