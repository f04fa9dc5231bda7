"""Course rosters from the platform's Names and Role Provisioning Service (NRPS 2.0).

The membership container is read page by page (``Link: <…>; rel="next"``, NRPS 2.0 §2.4.2)
and returned as plain values for a page to show. Privacy (docs/ARCHITECTURE.md §5):
nothing read here is stored or sent anywhere; names live only as long as the page that shows them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from plugin.lti.claims import CLAIM_NRPS
from plugin.lti.service_links import next_page
from plugin.lti.service_tokens import (
    KeyLoader,
    ServiceCredentials,
    ServiceError,
    ServiceTokens,
    describe_answer,
    is_transient_status,
)

MEMBERSHIP_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MEMBERSHIP_MEDIA = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
DEFAULT_MAX_PAGES = 20
ACTIVE = "Active"


@dataclass(frozen=True)
class Member:
    """One member of a course as the platform lists them (NRPS 2.0 §2.2)."""

    user_id: str
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    roles: tuple[str, ...] = ()
    status: str = ACTIVE


@dataclass(frozen=True)
class Roster:
    """A course's members, and whether the page cap cut the list short."""

    members: tuple[Member, ...]
    context_title: str = ""
    pages: int = 0
    complete: bool = True


def memberships_url(claims: Mapping[str, Any]) -> str | None:
    """The launch's ``context_memberships_url`` (NRPS 2.0 §3.6.1.1), if it offers one."""
    claim = claims.get(CLAIM_NRPS)
    if not isinstance(claim, dict):
        return None
    url = claim.get("context_memberships_url")
    if not isinstance(url, str) or urlsplit(url).scheme.lower() not in ("https", "http"):
        return None
    return url


def fetch_roster(
    tokens: ServiceTokens,
    credentials: ServiceCredentials,
    key: KeyLoader,
    url: str,
    *,
    limit: int | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Roster:
    """Every member of the container at ``url``, following next pages up to ``max_pages``
    (and, when given, no new page after ``max_seconds``).

    Raises :class:`ServiceError` when the platform does not answer with a membership
    container. ``limit`` asks the platform for pages of that size (NRPS 2.0 §2.4.2; a
    platform may use a smaller one).
    """
    page_url: str | None = _with_limit(url, limit)
    members: list[Member] = []
    seen: set[str] = set()
    title = ""
    pages = 0
    started = clock()
    while page_url is not None and page_url not in seen:
        out_of_time = max_seconds is not None and pages and clock() - started >= max_seconds
        if pages >= max_pages or out_of_time:
            return Roster(tuple(members), title, pages, complete=False)
        seen.add(page_url)
        response = tokens.request(
            "GET",
            page_url,
            credentials,
            [MEMBERSHIP_SCOPE],
            key,
            headers={"Accept": MEMBERSHIP_MEDIA},
        )
        if response.status_code != 200:
            raise ServiceError(
                "membership list refused: " + describe_answer(response),
                transient=is_transient_status(response.status_code),
                http_status=response.status_code,
            )
        body = _container(response)
        pages += 1
        context = body.get("context")
        if not title and isinstance(context, dict) and isinstance(context.get("title"), str):
            title = context["title"]
        members.extend(_members(body["members"]))
        page_url = next_page(response, url)
    return Roster(tuple(members), title, pages, complete=True)


def _with_limit(url: str, limit: int | None) -> str:
    if limit is None:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "limit"]
    query.append(("limit", str(limit)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _container(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except requests.JSONDecodeError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("members"), list):
        raise ServiceError(
            "the answer is not a membership container: " + describe_answer(response),
            transient=False,
            http_status=response.status_code,
        )
    return body


def _text(entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def _members(entries: Iterable[Any]) -> list[Member]:
    """Members with a user_id (NRPS 2.0 §2.2 requires it); others are skipped."""
    members = []
    for entry in entries:
        if not isinstance(entry, dict) or not _text(entry, "user_id"):
            continue
        roles = entry.get("roles")
        members.append(
            Member(
                user_id=_text(entry, "user_id"),
                name=_text(entry, "name"),
                given_name=_text(entry, "given_name"),
                family_name=_text(entry, "family_name"),
                email=_text(entry, "email"),
                roles=tuple(r for r in roles if isinstance(r, str))
                if isinstance(roles, list)
                else (),
                # NRPS 2.0 §2.2: status defaults to Active when the platform leaves it out.
                status=_text(entry, "status") or ACTIVE,
            )
        )
    return members
