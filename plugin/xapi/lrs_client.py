"""The statement resource of an xAPI 1.0.3 LRS: batch POSTs with timeouts, answers judged.

tincan's ``RemoteLRS`` sends with ``httplib`` and no timeout, so a hanging LRS would hang the
worker; this client uses ``requests`` with a connect and a read timeout and also bounds the
time and bytes spent reading an answer. It never raises for what the LRS (or the network)
answers: every exchange ends in an :class:`LrsAnswer`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import requests

from plugin.core.config import LrsTarget
from plugin.core.db import utcnow
from plugin.core.http_answers import MAX_ANSWER_BYTES, parse_retry_after, read_capped
from plugin.core.queue import MAX_RETRY_AFTER_SECONDS

# xAPI 1.0.3 Communication §3.3: every request names the version it speaks.
XAPI_VERSION = "1.0.3"
# The LRS's reason for a refusal is kept this long (quarantined rows, status, logs).
MAX_REASON = 1000
# Refusals of the statements themselves: bad statements (400, and 422 as Ralph answers
# validation errors), a batch too large (413), an id already used for another statement
# (409, xAPI 1.0.3 Communication §2.1.2). Sending them again unchanged cannot succeed.
REJECTED_STATUSES = frozenset({400, 409, 413, 422})

Verdict = Literal["stored", "rejected", "retry"]


@dataclass(frozen=True)
class LrsAnswer:
    """What one POST came to: stored, rejected (the statements), or retry later."""

    verdict: Verdict
    status: int | None = None
    message: str = ""
    retry_after: float | None = None


class LrsClient:
    """Sends statements to one LRS target over a pooled HTTP session."""

    def __init__(
        self, target: LrsTarget, timeout: float, http: requests.Session | None = None
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.http = http or requests.Session()

    @property
    def statements_url(self) -> str:
        """``{endpoint}statements`` (xAPI 1.0.3 Communication §2.1), one slash between."""
        return self.target.endpoint.rstrip("/") + "/statements"

    @property
    def request_budget_seconds(self) -> float:
        """The longest one POST may take: connecting, then waiting for and reading the answer."""
        return 2 * self.timeout

    def post_statements(self, statements: Sequence[Mapping[str, Any]]) -> LrsAnswer:
        """POST ``statements`` as one JSON array (xAPI 1.0.3 Communication §2.1.2)."""
        body = json.dumps(list(statements), ensure_ascii=False, separators=(",", ":"))
        auth = (self.target.username, self.target.password) if self.target.username else None
        started = time.monotonic()
        try:
            with self.http.post(
                self.statements_url,
                data=body.encode("utf-8"),
                headers={
                    "X-Experience-API-Version": XAPI_VERSION,
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
                auth=auth,
                timeout=(self.timeout, self.timeout),
                allow_redirects=False,  # credentials are not sent where a redirect points
                stream=True,
            ) as response:
                content = read_capped(
                    response, MAX_ANSWER_BYTES, started, self.request_budget_seconds
                )
                return judge(response, content)
        except requests.RequestException as exc:
            # Refused connections, resets, timeouts: the LRS may be back later. A malformed
            # endpoint also waits (and says so), so that no statement is lost to a typo.
            return LrsAnswer("retry", None, f"{type(exc).__name__} calling {self._where}: {exc}")

    def close(self) -> None:
        """Close pooled connections."""
        self.http.close()

    @property
    def _where(self) -> str:
        return f"{self.target.name} ({self.statements_url})"


def judge(response: requests.Response, content: bytes) -> LrsAnswer:
    """The verdict on an LRS's answer to a statements POST."""
    status = response.status_code
    # xAPI 1.0.3 Communication §2.1.2: 200 with the stored ids; 204 when every id was
    # already stored with the same content — a repeat of our own send, so delivered too.
    if status in (200, 204):
        return LrsAnswer("stored", status)
    reason = _reason(content)
    message = f"HTTP {status}" + (f": {reason}" if reason else "")
    if status in REJECTED_STATUSES:
        return LrsAnswer("rejected", status, message[:MAX_REASON])
    if status in (401, 403):
        # The tool's credentials, not the statements: wait for an operator to fix them.
        message = f"credentials refused by the LRS, {message}"
    elif 300 <= status < 400:
        location = response.headers.get("Location", "")
        message = f"{message}; the LRS redirects to {location!r}: correct the endpoint"
    retry_after = parse_retry_after(
        response.headers.get("Retry-After"), utcnow(), MAX_RETRY_AFTER_SECONDS
    )
    return LrsAnswer("retry", status, message[:MAX_REASON], retry_after)


def _reason(content: bytes) -> str:
    """The LRS's own words, whitespace collapsed and shortened."""
    text = content.decode("utf-8", errors="replace")
    return " ".join(text.split())[:MAX_REASON]
