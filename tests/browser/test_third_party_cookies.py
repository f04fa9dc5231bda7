"""The test browser really blocks third-party cookies, as Chrome does for a person who chose it.

Two tiny loopback servers: a page on http://localhost:P that iframes http://127.0.0.1:Q, and
the cookie server on 127.0.0.1:Q, whose /set-cookie sets a ``SameSite=None; Secure`` cookie and
moves on to /check, which reports whether that cookie came back. localhost and 127.0.0.1 are
different sites, so inside the iframe 127.0.0.1's cookies are third-party.

Secure cookies over plain http: Chromium treats http://localhost and http://127.0.0.1 as
potentially trustworthy, so a ``Secure`` cookie set over plain http on 127.0.0.1 is stored and
sent back (the first-party control below shows it). A ``SameSite=None`` cookie *without*
``Secure`` is refused everywhere, first-party too (DevTools: ExcludeSameSiteNoneInsecure), so
the probe must be ``Secure`` for the test to be about third-party blocking and not about that
rule. A ``Partitioned`` (CHIPS) cookie is still stored and sent inside the iframe with blocking
on, kept under the top-level site's partition key "http://localhost".
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from tests.support.chromium import ALLOW_THIRD_PARTY_PREFS, launch_chromium

pytestmark = pytest.mark.browser

NAME = re.compile(r"^[a-z0-9_]{1,40}$")
TIMEOUT_MS = 10_000


class _ProbeServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True
    cookie_origin: str = ""
    reports: dict[str, list[bool]]


class _ProbeHandler(BaseHTTPRequestHandler):
    server: _ProbeServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        name = query.get("name", "")
        if not NAME.match(name):
            self._send(400, "bad cookie name")
            return
        if url.path == "/embed":
            # The top-level page on the "platform" site: the cookie server in an iframe.
            src = f"{self.server.cookie_origin}/set-cookie?{urlencode(query)}"
            self._send(200, f'<h1>embedding page</h1><iframe id="probe" src="{src}"></iframe>')
        elif url.path == "/set-cookie":
            attributes = "Path=/; SameSite=None; Secure"
            if query.get("partitioned") == "1":
                attributes += "; Partitioned"
            script = f"<script>location.replace('/check?name={name}')</script>"
            self._send(200, script, set_cookie=f"{name}=1; {attributes}")
        elif url.path == "/check":
            came_back = name in SimpleCookie(self.headers.get("Cookie", ""))
            self.server.reports.setdefault(name, []).append(came_back)
            verdict = "yes" if came_back else "no"
            self._send(200, f'<p id="result" data-came-back="{verdict}">{name}: {verdict}</p>')
        else:
            self._send(404, "not found")

    def _send(self, status: int, body: str, set_cookie: str = "") -> None:
        data = f"<!doctype html><meta charset=utf-8>{body}".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        if set_cookie:
            self.send_header("Set-Cookie", set_cookie)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@dataclass
class ProbeSites:
    """The embedding page's server (visited as localhost) and the cookie server (127.0.0.1)."""

    page_port: int
    cookie_port: int
    reports: dict[str, list[bool]] = field(default_factory=dict)

    def embed_url(self, name: str, partitioned: bool = False) -> str:
        """The localhost page that iframes the cookie server for cookie ``name``."""
        query = {"name": name, **({"partitioned": "1"} if partitioned else {})}
        return f"http://localhost:{self.page_port}/embed?{urlencode(query)}"

    def set_cookie_url(self, name: str) -> str:
        """The cookie server's /set-cookie, opened top-level (first-party)."""
        return f"http://127.0.0.1:{self.cookie_port}/set-cookie?name={name}"


@pytest.fixture(scope="module")
def probe_sites() -> Iterator[ProbeSites]:
    """Both probe servers on loopback, shut down and closed afterwards."""
    reports: dict[str, list[bool]] = {}
    servers = [_ProbeServer(("127.0.0.1", 0), _ProbeHandler) for _ in range(2)]
    page_server, cookie_server = servers
    page_server.cookie_origin = f"http://127.0.0.1:{cookie_server.server_address[1]}"
    threads = []
    for server in servers:
        server.reports = reports
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        threads.append(thread)
    try:
        yield ProbeSites(page_server.server_address[1], cookie_server.server_address[1], reports)
    finally:
        for server, thread in zip(servers, threads, strict=True):
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def stored_cookies(context: BrowserContext, name: str) -> list[dict[str, Any]]:
    """The cookies named ``name`` the browser keeps for 127.0.0.1, in any partition."""
    return [dict(c) for c in context.cookies() if c["name"] == name and c["domain"] == "127.0.0.1"]


def iframe_verdict(page: Page) -> str:
    """What the cookie server in the iframe reported: "yes" if the cookie came back."""
    result = page.frame_locator("#probe").locator("#result")
    expect(result).to_have_attribute("data-came-back", re.compile("yes|no"), timeout=TIMEOUT_MS)
    return result.get_attribute("data-came-back") or ""


def wait_for_blocked_reason(page: Page, blocked: dict[str, set[str]], name: str) -> None:
    """Let Playwright dispatch DevTools events until one reports ``name`` refused, or time out."""
    for _ in range(TIMEOUT_MS // 100):
        if blocked.get(name):
            return
        page.wait_for_timeout(100)


def test_third_party_cookie_does_not_come_back_in_a_cross_site_iframe_but_first_party_does(
    page: Page, browser_context: BrowserContext, probe_sites: ProbeSites
) -> None:
    name = "tpc_blocked"
    # Chromium's own account of each refused cookie (DevTools protocol, Network domain).
    blocked: dict[str, set[str]] = {}

    def on_extra_info(event: dict[str, Any]) -> None:
        for item in event.get("blockedCookies", []):
            cookie = item.get("cookie") or {}
            blocked.setdefault(cookie.get("name", ""), set()).update(item["blockedReasons"])

    cdp = browser_context.new_cdp_session(page)
    try:
        cdp.on("Network.responseReceivedExtraInfo", on_extra_info)
        cdp.send("Network.enable")

        page.goto(probe_sites.embed_url(name))
        assert iframe_verdict(page) == "no", "the third-party cookie came back inside the iframe"
        assert probe_sites.reports[name] == [False]
        assert stored_cookies(browser_context, name) == [], "the third-party cookie was stored"
        # "UserPreferences": refused because of the profile's cookie setting — not for lack of
        # Secure or SameSite=None, which would read SecureOnly / SameSiteNoneInsecure.
        # The DevTools event comes on its own schedule, possibly after the iframe's verdict.
        wait_for_blocked_reason(page, blocked, name)
        assert "UserPreferences" in blocked.get(name, set()), blocked

        # Control: the same cookie from the same server, opened top-level, is first-party.
        page.goto(probe_sites.set_cookie_url(name))
        expect(page.locator("#result")).to_have_attribute("data-came-back", "yes")
        assert probe_sites.reports[name] == [False, True]
        (kept,) = stored_cookies(browser_context, name)
        assert "partitionKey" not in kept or not kept["partitionKey"], kept
        assert kept["secure"] is True and kept["sameSite"] == "None", kept

        # And now that the browser holds it, it still is not sent to the third-party iframe.
        page.goto(probe_sites.embed_url(name))
        assert iframe_verdict(page) == "no", "a stored first-party cookie went to the iframe"
        assert probe_sites.reports[name] == [False, True, False]
    finally:
        cdp.detach()


def test_partitioned_cookie_still_comes_back_in_the_cross_site_iframe(
    page: Page, browser_context: BrowserContext, probe_sites: ProbeSites
) -> None:
    name = "tpc_partitioned"
    page.goto(probe_sites.embed_url(name, partitioned=True))
    assert iframe_verdict(page) == "yes", "CHIPS cookie refused inside the iframe"
    (kept,) = stored_cookies(browser_context, name)
    assert kept.get("partitionKey") == "http://localhost", kept


def test_the_same_iframe_gets_its_cookie_when_the_profile_allows_third_party_cookies(
    playwright_driver: Playwright,
    chromium_path: Path,
    tmp_path: Path,
    probe_sites: ProbeSites,
) -> None:
    # Proof that the blocking comes from our preference and from nothing else in the set-up:
    # a second Chromium, same flags, same servers, with only cookie_controls_mode = 0.
    name = "tpc_allowed"
    context = launch_chromium(
        playwright_driver, chromium_path, tmp_path / "profile", ALLOW_THIRD_PARTY_PREFS
    )
    try:
        tab = context.new_page()
        tab.goto(probe_sites.embed_url(name))
        verdict = iframe_verdict(tab)
        kept = stored_cookies(context, name)
        tab.close()
    finally:
        context.close()
    assert verdict == "yes", "third-party cookie refused although the profile allows it"
    assert probe_sites.reports[name] == [True]
    assert len(kept) == 1 and not kept[0].get("partitionKey"), kept
