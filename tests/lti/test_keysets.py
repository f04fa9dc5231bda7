"""Platform key sets: fetched once, refetched on rotation, never hammered, failures are 502.

Through the launch flow against the loopback JWKS server (which counts requests), and as unit
tests of :class:`plugin.lti.keysets.KeySetCache` with an injected clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from plugin.lti.errors import LaunchRejected
from plugin.lti.keysets import MIN_REFETCH_INTERVAL, KeySetCache
from tests.support.flows import Flow, assert_refused, counts, register
from tests.support.platform import TestPlatform, running_platform


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(app: Flask) -> FakeClock:
    """The app's key-set cache on a fake clock."""
    fake = FakeClock()
    app.extensions["plugin.keysets"].clock = fake
    return fake


def _fetches(platform: TestPlatform) -> int:
    assert platform.server is not None
    return platform.server.requests


def test_several_launches_fetch_the_platform_jwks_once(flow: Flow, clock: FakeClock) -> None:
    for _ in range(3):
        assert flow.complete().status_code == 303
        clock.advance(60)
    assert _fetches(flow.platform) == 1


def test_rotated_platform_key_causes_one_refetch_and_the_launch_is_accepted(
    flow: Flow, app: Flask, clock: FakeClock
) -> None:
    assert flow.complete().status_code == 303
    flow.platform.rotate()
    clock.advance(MIN_REFETCH_INTERVAL + 1)

    response = flow.complete()

    assert flow.land(response).status_code == 200
    assert _fetches(flow.platform) == 2
    assert flow.complete().status_code == 303  # the new key is cached now
    assert _fetches(flow.platform) == 2


def launch_with_forged_kids(flow: Flow, clock: FakeClock, launches: int) -> None:
    """``launches`` launches, half a second apart, each signed with a kid the platform never
    published; each is refused as an unknown kid."""
    for index in range(launches):
        response = flow.complete_with(
            lambda nonce, i=index: flow.platform.sign(
                flow.platform.claims(nonce), headers={"kid": f"forged-kid-{i}"}
            )
        )
        assert_refused(response, 401, "unknown_kid")
        clock.advance(0.5)


def test_unknown_kids_cause_at_most_one_refetch_in_a_row(
    flow: Flow, app: Flask, clock: FakeClock
) -> None:
    assert flow.complete().status_code == 303
    clock.advance(MIN_REFETCH_INTERVAL + 1)
    launch_with_forged_kids(flow, clock, 5)
    assert _fetches(flow.platform) == 2  # the first fetch and a single refetch
    assert counts(app)["launches"] == 1


def test_unreachable_platform_jwks_gives_a_502_page_not_a_500(app: Flask) -> None:
    with running_platform() as platform:
        register(app, platform, key_set_url="http://127.0.0.1:9/nothing-listens-here")
        flow = Flow(app.test_client(), platform)
        text = assert_refused(flow.complete(), 502, "key_set_unavailable")
        assert "127.0.0.1:9" in text
        assert counts(app)["launches"] == 0


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b"{}"), (200, b"<html>maintenance</html>"), (200, b'{"no_keys": []}'), (200, b"[]")],
    ids=["http_500", "not_json", "no_keys_member", "json_list"],
)
def test_invalid_platform_jwks_gives_a_502_page(
    status: int, body: bytes, flow: Flow, app: Flask
) -> None:
    server = flow.platform.server
    assert server is not None
    server.status, server.raw_body = status, body
    assert_refused(flow.complete(), 502, "key_set_unavailable")
    assert counts(app)["launches"] == 0


@pytest.fixture
def jwks_server() -> Iterator[TestPlatform]:
    """A platform JWKS on loopback, for the cache's unit tests."""
    with running_platform() as platform:
        yield platform


def _cache(clock: FakeClock, **options: float) -> KeySetCache:
    options.setdefault("timeout", 5.0)
    return KeySetCache(clock=clock, **options)


def _fetched_once(jwks_server: TestPlatform, **options: float) -> tuple[KeySetCache, FakeClock]:
    """A cache that has fetched ``jwks_server``'s key set once, and the cache's clock."""
    clock = FakeClock()
    cache = _cache(clock, **options)
    cache.find_key(jwks_server.jwks_url, jwks_server.kid)
    return cache, clock


@pytest.mark.parametrize(
    ("cache_control", "options", "lifetime"),
    [
        pytest.param("public, max-age=120", {}, 120, id="max-age-honoured"),
        pytest.param(None, {"default_ttl": 600.0}, 600, id="default-ttl-without-cache-control"),
    ],
)
def test_cache_keeps_a_key_set_for_its_lifetime_and_refetches_after_it(
    jwks_server: TestPlatform, cache_control: str | None, options: dict[str, float], lifetime: int
) -> None:
    assert jwks_server.server is not None
    if cache_control is not None:
        jwks_server.server.cache_control = cache_control
    cache, clock = _fetched_once(jwks_server, **options)
    clock.advance(lifetime - 1)
    cache.find_key(jwks_server.jwks_url, jwks_server.kid)
    assert jwks_server.server.requests == 1
    clock.advance(2)
    cache.find_key(jwks_server.jwks_url, jwks_server.kid)
    assert jwks_server.server.requests == 2
    assert cache.fetches == 2


@pytest.mark.parametrize("cache_control", ["no-store", "no-cache", "private, no-store, max-age=0"])
def test_a_key_set_not_to_be_stored_is_refetched_at_most_once_per_interval(
    cache_control: str, jwks_server: TestPlatform
) -> None:
    assert jwks_server.server is not None
    jwks_server.server.cache_control = cache_control
    clock = FakeClock()
    cache = _cache(clock)
    for _ in range(3):
        cache.find_key(jwks_server.jwks_url, jwks_server.kid)
    assert jwks_server.server.requests == 1
    # Once the interval has passed, the platform's wish is honoured: fetched again.
    clock.advance(MIN_REFETCH_INTERVAL)
    cache.find_key(jwks_server.jwks_url, jwks_server.kid)
    assert jwks_server.server.requests == 2


@pytest.mark.parametrize("cache_control", ["no-store", "max-age=0"])
def test_forged_kids_against_a_no_store_key_set_cause_one_fetch_per_interval(
    cache_control: str, flow: Flow, app: Flask, clock: FakeClock
) -> None:
    assert flow.platform.server is not None
    flow.platform.server.cache_control = cache_control
    assert flow.complete().status_code == 303
    # 40 launches with forged kids over 20 seconds: four intervals of 5 s.
    launch_with_forged_kids(flow, clock, 40)
    assert _fetches(flow.platform) <= 1 + 20 / MIN_REFETCH_INTERVAL
    assert counts(app)["launches"] == 1


def test_a_failing_key_set_is_tried_at_most_once_per_interval(
    jwks_server: TestPlatform,
) -> None:
    assert jwks_server.server is not None
    jwks_server.server.status, jwks_server.server.raw_body = 503, b"{}"
    clock = FakeClock()
    cache = _cache(clock)
    for _ in range(10):
        with pytest.raises(LaunchRejected) as refused:
            cache.find_key(jwks_server.jwks_url, "forged")
        assert refused.value.code == "key_set_unavailable"
    assert jwks_server.server.requests == 1
    jwks_server.server.status, jwks_server.server.raw_body = 200, None
    clock.advance(MIN_REFETCH_INTERVAL)
    assert cache.find_key(jwks_server.jwks_url, jwks_server.kid)["kid"] == jwks_server.kid
    assert jwks_server.server.requests == 2


def test_launches_arriving_during_the_first_fetch_wait_for_it_and_share_it(
    jwks_server: TestPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert jwks_server.server is not None
    cache = _cache(FakeClock())
    slow_fetch = cache._fetch_and_store

    all_arrived = threading.Event()
    arrived: list[int] = []

    def fetch_once_all_arrived(url: str) -> Any:
        assert all_arrived.wait(10), "the five launches never all arrived"
        return slow_fetch(url)

    monkeypatch.setattr(cache, "_fetch_and_store", fetch_once_all_arrived)
    found: list[str] = []

    def launch() -> None:
        arrived.append(1)
        if len(arrived) == 5:  # the first fetch ends only once all five launches have come
            all_arrived.set()
        found.append(cache.find_key(jwks_server.jwks_url, jwks_server.kid)["kid"])

    threads = [threading.Thread(target=launch) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert found == [jwks_server.kid] * 5
    assert jwks_server.server.requests == 1


def test_an_expired_key_set_whose_refetch_fails_is_not_used(jwks_server: TestPlatform) -> None:
    assert jwks_server.server is not None
    jwks_server.server.cache_control = "max-age=60"
    cache, clock = _fetched_once(jwks_server)
    clock.advance(61)
    jwks_server.server.status, jwks_server.server.raw_body = 503, b"{}"
    for _ in range(2):
        with pytest.raises(LaunchRejected) as refused:
            cache.find_key(jwks_server.jwks_url, jwks_server.kid)
        assert refused.value.code == "key_set_unavailable"
    assert jwks_server.server.requests == 2


def test_cache_refetches_an_unknown_kid_once_per_interval(jwks_server: TestPlatform) -> None:
    assert jwks_server.server is not None
    cache, clock = _fetched_once(jwks_server)
    for _ in range(3):
        with pytest.raises(LaunchRejected) as refused:
            cache.find_key(jwks_server.jwks_url, "unknown")
        assert refused.value.code == "unknown_kid"
    assert jwks_server.server.requests == 1  # within MIN_REFETCH_INTERVAL of the fetch
    clock.advance(MIN_REFETCH_INTERVAL)
    with pytest.raises(LaunchRejected):
        cache.find_key(jwks_server.jwks_url, "unknown")
    with pytest.raises(LaunchRejected):
        cache.find_key(jwks_server.jwks_url, "still-unknown")
    assert jwks_server.server.requests == 2


def test_cache_finds_a_rotated_key_after_the_refetch_interval(jwks_server: TestPlatform) -> None:
    assert jwks_server.server is not None
    cache, clock = _fetched_once(jwks_server)
    jwks_server.rotate()
    clock.advance(MIN_REFETCH_INTERVAL)
    assert cache.find_key(jwks_server.jwks_url, jwks_server.kid)["kid"] == jwks_server.kid
    assert jwks_server.server.requests == 2


def test_cache_reports_an_unreachable_key_set_as_unavailable() -> None:
    cache = _cache(FakeClock(), timeout=2.0)
    with pytest.raises(LaunchRejected) as refused:
        cache.find_key("http://127.0.0.1:9/jwks", "kid")
    assert refused.value.code == "key_set_unavailable"
    assert refused.value.status == 502


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (503, b"{}", "HTTPError"),
        (200, b"not json", "JSON"),
        (200, b'{"keys": {}}', "no 'keys' list"),
        (200, b'"keys"', "no 'keys' list"),
    ],
    ids=["http_503", "not_json", "keys_not_a_list", "json_string"],
)
def test_cache_reports_an_invalid_key_set_as_unavailable(
    status: int, body: bytes, reason: str, jwks_server: TestPlatform
) -> None:
    assert jwks_server.server is not None
    jwks_server.server.status, jwks_server.server.raw_body = status, body
    with pytest.raises(LaunchRejected) as refused:
        _cache(FakeClock()).find_key(jwks_server.jwks_url, jwks_server.kid)
    assert refused.value.code == "key_set_unavailable"
    assert reason in refused.value.message_en


def test_cache_ignores_keys_without_kid(jwks_server: TestPlatform) -> None:
    assert jwks_server.server is not None
    published = jwks_server.server.jwks["keys"][0]
    anonymous = {k: v for k, v in published.items() if k != "kid"}
    jwks_server.server.jwks = {"keys": [anonymous, "junk", published]}
    key = _cache(FakeClock()).find_key(jwks_server.jwks_url, jwks_server.kid)
    assert key == published
