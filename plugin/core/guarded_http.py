"""HTTP requests to a URL a stranger chose, refused when they would reach an internal address.

Dynamic registration fetches a URL from the query string and POSTs to one the fetched
configuration names; without a guard that makes the tool a proxy into its own network (SSRF).
The host is resolved once, every address it resolves to must be public, and the connection goes
to the checked address (so a second DNS answer cannot point it elsewhere: DNS rebinding). An
origin the operator lists explicitly may be internal. No redirect is followed, no proxy from the
environment is used and the answer is read up to a limit (docs/ARCHITECTURE.md §9).
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import certifi
import urllib3
from urllib3.exceptions import HTTPError

from plugin.core.urls import HttpUrl, UrlRefused, parse_http_url

MAX_ANSWER_BYTES = 1_000_000

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class GuardedRequestFailed(Exception):
    """A guarded request was refused or failed; the message is for the log, not for a page."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public(address: Address) -> bool:
    """False for loopback, private, link-local, unspecified, multicast and reserved addresses."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    internal = (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
    )
    return address.is_global and not internal


@dataclass(frozen=True)
class Answer:
    """A status and the decoded JSON body of an answer."""

    status: int
    data: Any


@dataclass
class GuardedHttp:
    """Requests that reach only public addresses, or the origins in ``internal_origins``."""

    timeout: float = 10.0
    internal_origins: Collection[str] = ()
    resolver: Resolver = resolve
    max_bytes: int = MAX_ANSWER_BYTES

    def get_json(self, url: str, headers: dict[str, str]) -> Any:
        """GET ``url`` and decode its JSON answer; a non-2xx answer fails."""
        return self._request("GET", url, headers, None).data

    def post_json(self, url: str, body: Any, headers: dict[str, str]) -> Any:
        """POST ``body`` as JSON to ``url`` and decode its JSON answer; a non-2xx answer fails."""
        data = json.dumps(body).encode()
        all_headers = {**headers, "Content-Type": "application/json"}
        return self._request("POST", url, all_headers, data).data

    def checked_address(self, url: HttpUrl) -> str:
        """The address to connect to for ``url``, after every address of its host is checked."""
        try:
            addresses = [
                ipaddress.ip_address(a.split("%")[0]) for a in self.resolver(url.host, url.port)
            ]
        except (OSError, ValueError) as exc:
            raise GuardedRequestFailed(f"{url.host} does not resolve: {exc}") from None
        if not addresses:
            raise GuardedRequestFailed(f"{url.host} resolves to no address")
        if url.origin not in self.internal_origins:
            internal = [str(a) for a in addresses if not is_public(a)]
            if internal:
                raise GuardedRequestFailed(
                    f"{url.host} resolves to an internal address ({', '.join(internal)}) "
                    "and its origin is not listed explicitly"
                )
        return str(addresses[0])

    def _request(
        self, method: str, text: str, headers: dict[str, str], body: bytes | None
    ) -> Answer:
        try:
            url = parse_http_url(text)
        except UrlRefused as exc:
            raise GuardedRequestFailed(f"{text!r} is refused: {exc}") from None
        address = self.checked_address(url)
        pool = _pool(url, address, self.timeout)
        target = _path_and_query(text)
        host_header = url.origin.split("://", 1)[1]
        try:
            response = pool.urlopen(
                method,
                target,
                body=body,
                headers={**headers, "Host": host_header},
                redirect=False,
                retries=False,
                preload_content=False,
            )
            try:
                raw = response.read(self.max_bytes + 1)
            finally:
                response.release_conn()
        except HTTPError as exc:
            raise GuardedRequestFailed(f"{method} {url.origin} failed: {exc}") from None
        finally:
            pool.close()
        if len(raw) > self.max_bytes:
            raise GuardedRequestFailed(f"{method} {url.origin}: answer over {self.max_bytes} bytes")
        if not 200 <= response.status < 300:
            raise GuardedRequestFailed(f"{method} {url.origin}: HTTP {response.status}")
        try:
            data = json.loads(raw)
        except ValueError:
            raise GuardedRequestFailed(f"{method} {url.origin}: the answer is not JSON") from None
        return Answer(response.status, data)


def _pool(url: HttpUrl, address: str, timeout: float) -> urllib3.HTTPConnectionPool:
    """A one-use pool to ``address`` that still names (and, over TLS, verifies) ``url.host``."""
    limits = urllib3.Timeout(connect=timeout, read=timeout)
    if url.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            url.port,
            timeout=limits,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=url.host,
            assert_hostname=url.host,
        )
    return urllib3.HTTPConnectionPool(address, url.port, timeout=limits, maxsize=1)


def _path_and_query(text: str) -> str:
    """The request target: the URL's path (``/`` when empty) and its query."""
    after_scheme = text.split("://", 1)[1]
    slash = after_scheme.find("/")
    question = after_scheme.find("?")
    starts = [i for i in (slash, question) if i >= 0]
    if not starts:
        return "/"
    target = after_scheme[min(starts) :]
    return target if target.startswith("/") else "/" + target
