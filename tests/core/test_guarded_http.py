"""The guarded HTTP helper: internal addresses refused unless their origin is named."""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from plugin.core import guarded_http
from plugin.core.guarded_http import GuardedHttp, GuardedRequestFailed, is_public


@dataclass
class Seen:
    """What a local server answered and saw."""

    status: int = 200
    body: bytes = b'{"ok": true}'
    location: str = ""
    requests: list[tuple[str, str, str]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self) -> None:
        seen = self.server.seen
        seen.requests.append((self.command, self.path, self.headers.get("Host", "")))
        self.send_response(seen.status)
        if seen.location:
            self.send_header("Location", seen.location)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(seen.body)))
        self.end_headers()
        self.wfile.write(seen.body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    seen: Seen


@dataclass
class Local:
    """A running local server."""

    origin: str
    seen: Seen


def _start() -> tuple[_Server, threading.Thread]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.seen = Seen()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def local() -> Iterator[Local]:
    """An HTTP server on 127.0.0.1."""
    server, thread = _start()
    try:
        yield Local(f"http://127.0.0.1:{server.server_address[1]}", server.seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


second_local = local


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "140.112.8.116", "2001:4860:4860::8888"])
def test_internet_addresses_are_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_a_loopback_server_is_not_reached_unless_its_origin_is_named(local: Local) -> None:
    with pytest.raises(GuardedRequestFailed, match="internal address"):
        GuardedHttp(timeout=5).get_json(local.origin + "/cfg", {})
    assert local.seen.requests == []
    answer = GuardedHttp(timeout=5, internal_origins={local.origin}).get_json(
        local.origin + "/cfg?x=1", {"Accept": "application/json"}
    )
    assert answer == {"ok": True}
    host = local.origin.split("://")[1]
    assert local.seen.requests == [("GET", "/cfg?x=1", host)]


def test_a_host_with_any_internal_address_is_refused_before_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pools: list[str] = []
    monkeypatch.setattr(guarded_http, "_pool", lambda url, address, timeout: pools.append(address))
    http = GuardedHttp(timeout=5, resolver=lambda host, port: ["93.184.215.14", "10.0.0.5"])
    with pytest.raises(GuardedRequestFailed, match=r"10\.0\.0\.5"):
        http.post_json("https://lms.example/register", {"a": 1}, {})
    assert pools == []


def test_the_connection_goes_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # DNS rebinding: a second lookup answering 127.0.0.1 must never be made or used.
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    pools: list[str] = []

    def no_pool(url: Any, address: str, timeout: float) -> None:
        pools.append(address)
        raise GuardedRequestFailed("stopped before connecting")

    monkeypatch.setattr(guarded_http, "_pool", no_pool)
    with pytest.raises(GuardedRequestFailed):
        GuardedHttp(timeout=5, resolver=resolver).get_json("https://lms.example/cfg", {})
    assert lookups == ["lms.example"] and pools == ["93.184.215.14"]


def test_a_redirect_is_not_followed(local: Local, second_local: Local) -> None:
    local.seen.status = 302
    local.seen.location = second_local.origin + "/secret"
    http = GuardedHttp(timeout=5, internal_origins={local.origin, second_local.origin})
    with pytest.raises(GuardedRequestFailed, match="HTTP 302"):
        http.get_json(local.origin + "/cfg", {})
    assert second_local.seen.requests == []


def test_an_answer_over_the_limit_or_not_json_fails(local: Local) -> None:
    http = GuardedHttp(timeout=5, internal_origins={local.origin}, max_bytes=100)
    local.seen.body = json.dumps({"x": "y" * 200}).encode()
    with pytest.raises(GuardedRequestFailed, match="over 100 bytes"):
        http.get_json(local.origin + "/cfg", {})
    local.seen.body = b"<html>not json</html>"
    with pytest.raises(GuardedRequestFailed, match="not JSON"):
        http.get_json(local.origin + "/cfg", {})


@pytest.mark.parametrize(
    "url", ["http://user@127.0.0.1/", "file:///etc/passwd", "http://127.0.0.1/#x"]
)
def test_a_url_that_is_not_plain_http_is_refused(url: str) -> None:
    with pytest.raises(GuardedRequestFailed, match="refused"):
        GuardedHttp(timeout=5, internal_origins={"http://127.0.0.1"}).get_json(url, {})
