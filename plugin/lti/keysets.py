"""Platform key sets (JWKS), cached per process so launches do not fetch keys every time."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from plugin.lti.errors import LaunchRejected

MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)
# A key set URL is fetched at most once in this interval, whatever the kid asked for and
# whatever the platform's Cache-Control says (no-store, max-age=0) and even when the last
# fetch failed: a stream of launches with forged kids cannot turn the tool into a load
# generator against the platform.
MIN_REFETCH_INTERVAL = 5.0


@dataclass
class _Entry:
    keys: dict[str, dict[str, Any]]
    expires_at: float
    fetched_at: float


@dataclass
class KeySetCache:
    """Fetches and caches JWKS by URL, honouring Cache-Control max-age."""

    default_ttl: float = 3600.0
    timeout: float = 10.0
    clock: Callable[[], float] = time.monotonic
    http: requests.Session = field(default_factory=requests.Session)
    fetches: int = 0
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _attempted_at: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _fetch_locks: dict[str, threading.Lock] = field(default_factory=dict)

    def find_key(self, key_set_url: str, kid: str) -> dict[str, Any]:
        """The JWK with ``kid``; refetches once when the cached set lacks it (rotation) or
        has expired, at most once per :data:`MIN_REFETCH_INTERVAL`."""
        entry = self._entries.get(key_set_url)
        # Without the set or the kid, wait for a fetch another thread may have under way
        # (the first one, or a refetch after a rotation) and look again.
        if entry is None or kid not in entry.keys or self._wants_fetch(key_set_url, entry, kid):
            with self._lock:
                fetch_lock = self._fetch_locks.setdefault(key_set_url, threading.Lock())
            with fetch_lock:
                # Another thread may have fetched while this one waited.
                entry = self._entries.get(key_set_url)
                if self._wants_fetch(key_set_url, entry, kid):
                    entry = self._fetch(key_set_url)
        if entry is None:
            # The last attempt failed moments ago: not again before the interval ends.
            reason = f"the last fetch failed less than {MIN_REFETCH_INTERVAL:.0f} s ago"
            raise LaunchRejected("key_set_unavailable", key_set_url=key_set_url, reason=reason)
        key = entry.keys.get(kid)
        if key is None:
            raise LaunchRejected("unknown_kid", kid=kid, key_set_url=key_set_url)
        return key

    def forget(self, key_set_url: str | None = None) -> None:
        """Drop one cached key set, or all."""
        with self._lock:
            if key_set_url is None:
                self._entries.clear()
                self._attempted_at.clear()
            else:
                self._entries.pop(key_set_url, None)
                self._attempted_at.pop(key_set_url, None)

    def _wants_fetch(self, key_set_url: str, entry: _Entry | None, kid: str) -> bool:
        """Whether to fetch now: the set is missing, expired or lacks ``kid``, and the
        last attempt for this URL is older than the refetch interval."""
        now = self.clock()
        last = self._attempted_at.get(key_set_url)
        if last is not None and now - last < MIN_REFETCH_INTERVAL:
            # A key set at most a few seconds old serves, even one the platform asked not
            # to store (RFC 9111 §5.2.2.5 no-store concerns caches; a launch in the same
            # seconds may use what was just fetched).
            return False
        return entry is None or entry.expires_at <= now or kid not in entry.keys

    def _fetch(self, key_set_url: str) -> _Entry:
        with self._lock:
            self._attempted_at[key_set_url] = self.clock()
            self.fetches += 1
        try:
            return self._fetch_and_store(key_set_url)
        except LaunchRejected:
            # An expired set must not serve the launches of the next few seconds either.
            with self._lock:
                stale = self._entries.get(key_set_url)
                if stale is not None and stale.expires_at <= self.clock():
                    del self._entries[key_set_url]
            raise

    def _fetch_and_store(self, key_set_url: str) -> _Entry:
        try:
            response = self.http.get(
                key_set_url, timeout=self.timeout, headers={"Accept": "application/json"}
            )
            response.raise_for_status()
            body = response.json()
        except requests.JSONDecodeError:
            raise LaunchRejected(
                "key_set_unavailable", key_set_url=key_set_url, reason="not JSON"
            ) from None
        except requests.RequestException as exc:
            raise LaunchRejected(
                "key_set_unavailable", key_set_url=key_set_url, reason=type(exc).__name__
            ) from None
        raw_keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(raw_keys, list):
            raise LaunchRejected(
                "key_set_unavailable", key_set_url=key_set_url, reason="no 'keys' list"
            )
        keys = {
            str(key["kid"]): key for key in raw_keys if isinstance(key, dict) and key.get("kid")
        }
        now = self.clock()
        entry = _Entry(keys=keys, expires_at=now + self._ttl(response), fetched_at=now)
        with self._lock:
            self._entries[key_set_url] = entry
        return entry

    def _ttl(self, response: requests.Response) -> float:
        """Seconds to keep a key set: Cache-Control max-age, else the default."""
        cache_control = response.headers.get("Cache-Control", "")
        if "no-store" in cache_control.lower() or "no-cache" in cache_control.lower():
            return 0.0
        match = MAX_AGE.search(cache_control)
        return float(match.group(1)) if match else self.default_ttl
