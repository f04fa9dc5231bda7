"""Access tokens for LTI Advantage services (1EdTech Security Framework §4.1), cached.

The tool proves who it is with a JWT client assertion signed by its current key and trades
it for a bearer token (OAuth 2 client credentials, RFC 7523 §2.2). Tokens are kept in memory
per (registration, sorted scopes) until shortly before they expire, and a 401 from a service
drops the cached token and retries once with a fresh one.

pylti1p3's ``ServiceConnector`` does the same exchange but sends no timeouts, never lets a
token expire, and lower-cases ``Link`` headers (breaking case-sensitive page URLs), so the
calls are made here with ``requests``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests

from plugin.core.db import utcnow
from plugin.core.errors import PluginError
from plugin.core.http_answers import (
    finite_number,
    parse_json,
    parse_retry_after,
    read_capped,
)
from plugin.core.queue import MAX_RETRY_AFTER_SECONDS
from plugin.lti.keys import SigningKey
from plugin.lti.models import Registration

EXTENSION = "plugin.lti_services"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Security Framework §4.1.1: the assertion is short-lived; five minutes covers clock skew.
ASSERTION_SECONDS = 300
# Security Framework §4.1: "an access token lifetime of one hour is RECOMMENDED"; assumed
# when the token response carries no expires_in (RFC 6749 §5.1 makes it optional).
DEFAULT_TOKEN_SECONDS = 3600
# A token is not used in its last minute (or last tenth of a short life): a request made
# with it could otherwise arrive after it expired.
MAX_REFRESH_MARGIN = 60.0
# A token is kept at most a day, whatever expires_in a platform claims.
MAX_TOKEN_SECONDS = 24 * 3600.0
# A service answer is read up to this size: a roster page of some 20 000 members (NRPS pages
# may hold a whole course), far more than a token, a score answer or a line item list need.
MAX_SERVICE_ANSWER_BYTES = 8 * 1024 * 1024
MAX_ERROR_BODY = 1000
USER_AGENT = "dc-competency-tool (LTI 1.3)"
TRANSIENT_STATUSES = frozenset({408, 425, 429})

KeyLoader = Callable[[], SigningKey]


class ServiceError(PluginError):
    """A call to a platform service (token endpoint, AGS, NRPS) did not succeed.

    ``transient`` says whether trying again later may help (network errors, timeouts, 429,
    5xx); ``at_token_endpoint`` that the access token could not be had; ``http_status`` is
    the platform's answer, when there was one.
    """

    code = "platform_service_failed"
    status = 502

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        http_status: int | None = None,
        retry_after: float | None = None,
        at_token_endpoint: bool = False,
    ):
        super().__init__(message)
        self.transient = transient
        self.at_token_endpoint = at_token_endpoint
        self.http_status = http_status
        self.retry_after = retry_after


@dataclass(frozen=True)
class ServiceCredentials:
    """What a client assertion needs from a registration."""

    registration_id: int
    client_id: str
    token_url: str
    audience: str

    @classmethod
    def of(cls, registration: Registration) -> ServiceCredentials:
        """The credentials of a registration row."""
        return cls(
            registration_id=registration.id,
            client_id=registration.client_id,
            token_url=registration.auth_token_url,
            # Security Framework §4.1.1: aud is the token endpoint unless the platform names
            # another audience for it (LTI 1.3 core §6.1, auth_audience).
            audience=registration.auth_audience or registration.auth_token_url,
        )


@dataclass(frozen=True)
class _Token:
    value: str
    usable_until: float


def is_transient_status(status: int) -> bool:
    """True for answers that invite a later retry: 408, 425, 429 and every 5xx."""
    return status in TRANSIENT_STATUSES or status >= 500


def retry_after_seconds(response: requests.Response) -> float | None:
    """The ``Retry-After`` of an answer in seconds (RFC 9110 §10.2.3), capped; None when
    the answer gives none the tool understands."""
    return parse_retry_after(response.headers.get("Retry-After"), utcnow(), MAX_RETRY_AFTER_SECONDS)


def describe_answer(response: requests.Response) -> str:
    """``HTTP 400 from <url>: <body>`` with the body shortened, for logs and last_error."""
    # Only the start of the body is decoded: an error page may be megabytes long.
    start = response.content[: 4 * MAX_ERROR_BODY].decode("utf-8", errors="replace")
    body = " ".join(start.split())[:MAX_ERROR_BODY]
    where = _without_query(response.url or "")
    return f"HTTP {response.status_code} from {where}" + (f": {body}" if body else "")


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _network_error(url: str, exc: requests.RequestException) -> ServiceError:
    # Connection refused, DNS, resets and timeouts pass; a malformed URL or too many
    # redirects will not get better by waiting.
    transient = isinstance(
        exc, requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError
    )
    return ServiceError(
        f"{type(exc).__name__} calling {_without_query(url)}: {exc}", transient=transient
    )


class ServiceTokens:
    """Client-credentials tokens per (registration, scopes) and the calls that use them.

    One instance lives in ``app.extensions["plugin.lti_services"]`` and is shared by web
    requests and the grade worker's threads; every cache access holds a lock, and a token
    missing from the cache is fetched once even when several threads want it at once.
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        http: requests.Session | None = None,
    ):
        self.timeout = timeout
        self.clock = clock
        self.http = http or requests.Session()
        self.http.headers["User-Agent"] = USER_AGENT
        self.fetches = 0
        self._tokens: dict[tuple[Any, ...], _Token] = {}
        self._fetch_locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _cache_key(credentials: ServiceCredentials, scopes: Iterable[str]) -> tuple[Any, ...]:
        return (credentials, tuple(sorted(set(scopes))))

    def access_token(
        self, credentials: ServiceCredentials, scopes: Iterable[str], key: KeyLoader
    ) -> str:
        """A bearer token for ``scopes``: the cached one while it is fresh, else a new one."""
        cache_key = self._cache_key(credentials, scopes)
        cached = self._fresh(cache_key)
        if cached is not None:
            return cached.value
        with self._lock:
            fetch_lock = self._fetch_locks.setdefault(cache_key, threading.Lock())
        with fetch_lock:
            # Another thread may have fetched it while this one waited.
            cached = self._fresh(cache_key)
            if cached is not None:
                return cached.value
            token = self._fetch(credentials, cache_key[1], key())
            with self._lock:
                self._tokens[cache_key] = token
            return token.value

    def forget(
        self, credentials: ServiceCredentials, scopes: Iterable[str], value: str | None = None
    ) -> None:
        """Drop the cached token (only if it is still ``value``, when given)."""
        cache_key = self._cache_key(credentials, scopes)
        with self._lock:
            cached = self._tokens.get(cache_key)
            if cached is not None and (value is None or cached.value == value):
                del self._tokens[cache_key]

    def _fresh(self, cache_key: tuple[Any, ...]) -> _Token | None:
        with self._lock:
            cached = self._tokens.get(cache_key)
        if cached is not None and cached.usable_until > self.clock():
            return cached
        return None

    def _fetch(
        self, credentials: ServiceCredentials, scopes: tuple[str, ...], key: SigningKey
    ) -> _Token:
        """Security Framework §4.1: POST a signed client assertion, get a bearer token."""
        now = int(time.time())
        assertion = jwt.encode(
            {
                # RFC 7523 §3: iss and sub are the client_id, aud the token endpoint.
                "iss": credentials.client_id,
                "sub": credentials.client_id,
                "aud": credentials.audience,
                "iat": now,
                "exp": now + ASSERTION_SECONDS,
                "jti": str(uuid.uuid4()),  # platforms may refuse a replayed assertion
            },
            key.private_pem,
            algorithm="RS256",
            headers={"kid": key.kid},
        )
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion,
            "scope": " ".join(scopes),
        }
        started = self.clock()
        try:
            response = self._send(
                "POST",
                credentials.token_url,
                data=form,
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as exc:
            error = _network_error(credentials.token_url, exc)
            error.at_token_endpoint = True
            raise error from None
        with self._lock:
            self.fetches += 1
        if response.status_code != 200:
            raise ServiceError(
                "access token refused: " + describe_answer(response),
                transient=is_transient_status(response.status_code),
                http_status=response.status_code,
                retry_after=retry_after_seconds(response),
                at_token_endpoint=True,
            )
        return _token_from(response, started)

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One exchange with timeouts, no redirects (the token must not travel elsewhere),
        and a body read only up to ``MAX_SERVICE_ANSWER_BYTES`` within twice the timeout: a
        platform cannot make a worker hold a huge or endless answer in memory."""
        started = time.monotonic()
        with self.http.request(
            method, url, timeout=self.timeout, allow_redirects=False, stream=True, **kwargs
        ) as response:
            content = read_capped(response, MAX_SERVICE_ANSWER_BYTES, started, 2 * self.timeout)
        # The capped bytes become the body that .json(), .text and describe_answer read.
        response._content = content
        return response

    def request(
        self,
        method: str,
        url: str,
        credentials: ServiceCredentials,
        scopes: Iterable[str],
        key: KeyLoader,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> requests.Response:
        """Call a service with a bearer token; on 401 fetch a new token and try once more.

        Network errors raise :class:`ServiceError`; every HTTP answer is returned for the
        caller to judge. Redirects are not followed (the token must not travel elsewhere).
        """
        scopes = tuple(scopes)
        response, token = self._call(method, url, credentials, scopes, key, headers, json_body)
        if response.status_code == 401:
            # RFC 6750 §3.1 invalid_token: the platform may end a token before expires_in
            # (key rotation, restart); drop it and try once with a new one.
            self.forget(credentials, scopes, token)
            response, _token = self._call(method, url, credentials, scopes, key, headers, json_body)
        return response

    def _call(
        self,
        method: str,
        url: str,
        credentials: ServiceCredentials,
        scopes: tuple[str, ...],
        key: KeyLoader,
        headers: Mapping[str, str] | None,
        json_body: Any,
    ) -> tuple[requests.Response, str]:
        token = self.access_token(credentials, scopes, key)
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        try:
            response = self._send(method, url, headers=sent, json=json_body)
        except requests.RequestException as exc:
            raise _network_error(url, exc) from None
        return response, token


def _token_from(response: requests.Response, started: float) -> _Token:
    """The token of a successful answer (RFC 6749 §5.1), usable until shortly before expiry."""
    body = parse_json(response.content)
    value = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise ServiceError(
            "the token endpoint answered without an access_token: " + describe_answer(response),
            transient=False,
            http_status=response.status_code,
            at_token_endpoint=True,
        )
    token_type = body.get("token_type", "bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise ServiceError(
            f"the token endpoint issued a {token_type!r} token; only bearer tokens are usable",
            transient=False,
            http_status=response.status_code,
            at_token_endpoint=True,
        )
    lifetime = finite_number(body.get("expires_in", DEFAULT_TOKEN_SECONDS))
    if lifetime is None or lifetime <= 0:
        # Not a number, NaN, infinite or spent: the recommended hour, not a token kept
        # forever or refetched on every call.
        lifetime = float(DEFAULT_TOKEN_SECONDS)
    lifetime = min(lifetime, MAX_TOKEN_SECONDS)
    margin = min(MAX_REFRESH_MARGIN, lifetime / 10)
    # Counted from when the request was sent: the platform's clock started no earlier.
    return _Token(value=value, usable_until=started + max(0.0, lifetime - margin))


def ensure_service_tokens(extensions: MutableMapping[str, Any], timeout: float) -> ServiceTokens:
    """The app's :class:`ServiceTokens`, created on first use in ``app.extensions``."""
    with _EXTENSION_LOCK:
        tokens = extensions.get(EXTENSION)
        if tokens is None:
            tokens = extensions[EXTENSION] = ServiceTokens(timeout=timeout)
        return tokens


_EXTENSION_LOCK = threading.Lock()
