"""The sandbox LMS and the tool in one app, every outbound call of the tool through a scripted
transport that records it and can play outages: the world of the grade, roster and service
token tests."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from flask import Flask
from requests.structures import CaseInsensitiveDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.core.db import utcnow
from plugin.lti.claims import CLAIM_AGS_ENDPOINT
from plugin.lti.grade_delivery import BatchReport, DeliveryPolicy, deliver_due_scores
from plugin.lti.grade_outbox import Score, enqueue_score
from plugin.lti.models import GradeOutbox, Launch
from plugin.lti.service_tokens import EXTENSION
from plugin.lti.tokens import read_launch_token
from sandbox.models import SandboxScore
from tests.support.app import TEST_SECRET
from tests.support.sandbox import PLATFORM, AppTransport, Browser, launch_links, sandbox_app_on

SCORES = "/scores"
TOKEN_PATH = "/sandbox/token"
LINEITEMS_PATH = "/sandbox/api/contexts/sandbox-course-1/lineitems"


@dataclass
class Rule:
    """An answer the scripted platform gives instead of the app, ``times`` times."""

    method: str
    path_suffix: str
    answer: int | Exception
    times: int
    headers: dict[str, str]
    body: bytes = b'{"error": "scripted"}'


class CountingBody(io.BytesIO):
    """A scripted answer's body that counts the bytes the tool read from it."""

    def __init__(self, body: bytes):
        super().__init__(body)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        """Read and count."""
        data = super().read(size)
        self.bytes_read += len(data)
        return data


class ScriptedTransport(AppTransport):
    """The sandbox app as the network, recording every request; rules play outages."""

    def __init__(self, app: Flask):
        super().__init__(app)
        self.calls: list[tuple[str, str]] = []
        self.rules: list[Rule] = []
        self.bodies: list[CountingBody] = []

    def answer(
        self,
        method: str,
        path_suffix: str,
        answer: int | Exception,
        times: int = 10**6,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Rule:
        """Answer ``method`` on paths ending in ``path_suffix`` with a status or an error."""
        rule = Rule(method, path_suffix, answer, times, headers or {})
        if body is not None:
            rule.body = body
        self.rules.append(rule)
        return rule

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Record, then answer by rule or from the app."""
        path = urlsplit(request.url or "").path
        self.calls.append((request.method or "", path))
        for rule in self.rules:
            if rule.times > 0 and rule.method == request.method and path.endswith(rule.path_suffix):
                rule.times -= 1
                if isinstance(rule.answer, Exception):
                    raise rule.answer
                response = requests.Response()
                response.status_code = rule.answer
                # Streamed as from the network, so that tests see how much the tool reads.
                body = CountingBody(rule.body)
                self.bodies.append(body)
                response.raw = body
                response.headers = CaseInsensitiveDict(rule.headers)
                response.url = request.url or ""
                response.request = request
                return response
        return super().send(request, **kwargs)

    def count(self, method: str, path_suffix: str) -> int:
        """How many requests of ``method`` went to paths ending in ``path_suffix``."""
        return sum(1 for m, p in self.calls if m == method and p.endswith(path_suffix))


@dataclass
class GradesWorld:
    """A sandbox app whose outbound calls go through a scripted transport."""

    app: Flask
    transport: ScriptedTransport
    browser: Browser

    def session(self) -> Session:
        """A new session on the app's database (close it)."""
        return self.app.extensions["plugin.db"].sessions()

    def launch(self, persona: str = "learner") -> str:
        """Launch the course's first link as ``persona``; the launch id."""
        html = self.browser.get(f"{PLATFORM}/sandbox?as={persona}").get_data(as_text=True)
        _page, url = self.browser.launch(PLATFORM + launch_links(html)[0]["href"])
        token = parse_qs(urlsplit(url).query)["lt"][0]
        launch_id = read_launch_token(TEST_SECRET, token, 3600)
        assert launch_id is not None
        return launch_id

    def enqueue(
        self,
        launch_id: str,
        given: float = 85.0,
        when: datetime | None = None,
        *,
        without_lineitem: bool = False,
        resource_id: str = "",
        user_id: str | None = None,
    ) -> int:
        """Queue a score for the launch, as a learner event would; the row id."""
        with self.app.extensions["plugin.db"].session_scope() as session:
            launch = session.get(Launch, launch_id)
            assert launch is not None
            if without_lineitem:
                claims = json.loads(json.dumps(launch.claims))
                claims[CLAIM_AGS_ENDPOINT].pop("lineitem", None)
                launch.claims = claims
            score = Score(
                score_given=given,
                score_maximum=100.0,
                activity_progress="Completed",
                grading_progress="FullyGraded",
                timestamp=when or utcnow(),
            )
            row = enqueue_score(session, launch, score, resource_id=resource_id, label="示範模組")
            assert row is not None
            if user_id is not None:
                row.score = {**row.score, "userId": user_id}
            return row.id

    def worker_once(self, *args: str) -> str:
        """``flask grades worker --once``; its output."""
        result = self.app.test_cli_runner().invoke(args=["grades", "worker", "--once", *args])
        assert result.exit_code == 0, result.output
        return result.output

    def deliver_at(self, when: datetime) -> BatchReport:
        """One batch as a worker would run it at ``when``."""
        return deliver_due_scores(
            self.app.extensions["plugin.db"].session_scope,
            self.app.extensions[EXTENSION],
            TEST_SECRET,
            DeliveryPolicy(),
            now=lambda: when,
        )

    def row(self, row_id: int) -> GradeOutbox:
        """The outbox row as stored now."""
        with self.session() as session:
            row = session.get(GradeOutbox, row_id)
            assert row is not None
            return row

    def scores(self, user_id: str = "sandbox-learner") -> list[SandboxScore]:
        """The scores the sandbox received for ``user_id``."""
        with self.session() as session:
            return list(
                session.scalars(
                    select(SandboxScore)
                    .where(SandboxScore.user_id == user_id)
                    .order_by(SandboxScore.id)
                )
            )


def build_world(tmp_path: Path, sandbox_sqlite: Path) -> tuple[Flask, ScriptedTransport]:
    """A sandbox app with platform and tool on two hosts, every outbound call scripted."""
    app = sandbox_app_on(tmp_path, sandbox_sqlite)
    transport = ScriptedTransport(app)
    app.extensions["plugin.keysets"].http.mount(PLATFORM + "/", transport)
    app.extensions[EXTENSION].http.mount(PLATFORM + "/", transport)
    return app, transport
