"""URLs a platform's services hand the tool (AGS 2.0, NRPS 2.0): the next page of a list, a
line item's score endpoint, and the rule that the tool's bearer token goes only to the
platform's own origin, wherever an answer points."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests

from plugin.core.http_answers import parse_json

# The media types of AGS 2.0 (§3.2, §3.4): a score, a line item, a line item container.
SCORE_MEDIA = "application/vnd.ims.lis.v1.score+json"
LINEITEM_MEDIA = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_MEDIA = "application/vnd.ims.lis.v2.lineitemcontainer+json"


def same_origin(url: str, reference: str) -> bool:
    """Whether ``url`` has the scheme and host (with port) of ``reference``."""
    try:
        a, b = urlsplit(url), urlsplit(reference)
    except ValueError:
        # A URL a platform sent that cannot be parsed (e.g. "http://[") is no one's origin.
        return False
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())


def next_page(response: requests.Response, reference: str) -> str | None:
    """The ``Link: <…>; rel="next"`` page (AGS 2.0 §3.2.4, NRPS 2.0 §2.4.2), only on the
    platform's own origin: the bearer token must not be sent anywhere an answer points (a
    loop of pages is cut by the caller)."""
    target = response.links.get("next", {}).get("url")
    if not target:
        return None
    try:
        url = urljoin(response.url or reference, target)
    except ValueError:
        return None  # not a URL (e.g. "http://["): no next page
    return url if same_origin(url, reference) else None


def scores_url(line_item_url: str) -> str:
    """The score service of a line item: ``/scores`` added to its path, query kept.

    AGS 2.0 §3.4: the line item URL may carry a query string (Moodle's does); the score
    endpoint appends to the path, not to the end of the URL.
    """
    parts = urlsplit(line_item_url)
    path = parts.path.rstrip("/") + "/scores"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` (those not empty) added to its query string."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(key, value) for key, value in params.items() if value]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def listed_items(response: requests.Response) -> list[dict[str, Any]]:
    """The objects with a string ``id`` in a JSON list a service answered (a line item
    container, AGS 2.0 §3.2); anything else in it, or an answer that is no list, is none."""
    body = parse_json(response.content)
    if not isinstance(body, list):
        return []
    return [item for item in body if isinstance(item, dict) and isinstance(item.get("id"), str)]
