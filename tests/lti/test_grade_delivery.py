"""Grade passback: queued scores reach the sandbox gradebook once, across outages and refusals."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from requests.structures import CaseInsensitiveDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import create_app
from plugin.core.db import create_db_engine, utcnow
from plugin.core.migrate import upgrade_database
from plugin.core.queue import MAX_RETRY_AFTER_SECONDS
from plugin.lti.claims import CLAIM_AGS_ENDPOINT
from plugin.lti.grade_delivery import (
    BatchReport,
    DeliveryPolicy,
    GradeDeliverer,
    claim_due,
    deliver_due_scores,
    retry_delay,
    run_worker,
)
from plugin.lti.grade_outbox import DELIVERED, FAILED, PENDING, Score, enqueue_score
from plugin.lti.models import GradeOutbox, Launch, Registration
from plugin.lti.service_links import scores_url
from plugin.lti.service_tokens import EXTENSION, MAX_SERVICE_ANSWER_BYTES, ServiceTokens
from plugin.lti.tokens import read_launch_token
from plugin.organisations.services import default_organisation
from sandbox.models import SandboxLineItem, SandboxScore
from tests.support.app import TEST_SECRET, app_config
from tests.support.flows import TOOL
from tests.support.sandbox import PLATFORM, AppTransport, Browser, launch_links

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
    database = tmp_path / "plugin.sqlite3"
    shutil.copy(sandbox_sqlite, database)
    config = app_config(
        tmp_path,
        f"sqlite:///{database}",
        sandbox={"enabled": True, "platform_url": PLATFORM},
        lti={"base_url": TOOL},
    )
    app = create_app(config)
    transport = ScriptedTransport(app)
    app.extensions["plugin.keysets"].http.mount(PLATFORM + "/", transport)
    app.extensions[EXTENSION].http.mount(PLATFORM + "/", transport)
    return app, transport


@pytest.fixture
def world(tmp_path: Path, sandbox_sqlite: Path) -> Iterator[GradesWorld]:
    """A sandbox world for grade tests."""
    app, transport = build_world(tmp_path, sandbox_sqlite)
    yield GradesWorld(app, transport, Browser(app.test_client()))
    app.extensions["plugin.db"].dispose()


def test_pass_posts_the_score_to_the_sandbox_line_item_exactly_once(world: GradesWorld) -> None:
    row_id = world.enqueue(world.launch(), given=85.0)
    output = world.worker_once()
    assert "delivered 1" in output
    (score,) = world.scores()
    assert score.score_given == 85.0 and score.score_maximum == 100.0
    assert (score.activity_progress, score.grading_progress) == ("Completed", "FullyGraded")
    row = world.row(row_id)
    assert (row.status, row.attempts, row.last_error) == (DELIVERED, 1, "")
    assert row.delivered_at is not None
    # The row is done: another run sends nothing, and the gradebook shows the score once.
    assert "nothing due" in world.worker_once()
    assert len(world.scores()) == 1
    book = world.browser.get(PLATFORM + "/sandbox/gradebook?as=designer").get_data(as_text=True)
    assert "85" in book


def test_score_waits_while_the_platform_is_down_and_arrives_once_after(
    world: GradesWorld,
) -> None:
    row_id = world.enqueue(world.launch())
    outage = world.transport.answer("POST", SCORES, requests.ConnectionError("refused"))
    before = utcnow()
    assert "deferred 1" in world.worker_once()
    row = world.row(row_id)
    assert row.status == PENDING and row.attempts == 1
    assert "ConnectionError" in row.last_error
    # Backoff: at least half the 30 s base, never an immediate retry.
    assert row.next_attempt_at >= before + timedelta(seconds=15)
    assert world.scores() == []
    # Not due yet: a worker running again at once does not call the platform.
    posts = world.transport.count("POST", SCORES)
    assert "nothing due" in world.worker_once()
    assert world.transport.count("POST", SCORES) == posts
    # The platform comes back; when the row is due it is delivered, once.
    world.transport.rules.remove(outage)
    report = world.deliver_at(row.next_attempt_at + timedelta(seconds=1))
    assert (report.delivered, report.deferred) == (1, 0)
    assert world.row(row_id).status == DELIVERED and world.row(row_id).attempts == 2
    assert len(world.scores()) == 1


def test_a_503_with_retry_after_waits_at_least_that_long(world: GradesWorld) -> None:
    row_id = world.enqueue(world.launch())
    world.transport.answer("POST", SCORES, 503, times=1, headers={"Retry-After": "600"})
    before = utcnow()
    world.worker_once()
    row = world.row(row_id)
    assert row.status == PENDING and "HTTP 503" in row.last_error
    assert row.next_attempt_at >= before + timedelta(seconds=600)


def test_a_timeout_is_retried_later(world: GradesWorld) -> None:
    row_id = world.enqueue(world.launch())
    world.transport.answer("POST", SCORES, requests.ReadTimeout("slow"), times=1)
    world.worker_once()
    row = world.row(row_id)
    assert row.status == PENDING and "ReadTimeout" in row.last_error
    world.deliver_at(row.next_attempt_at + timedelta(seconds=1))
    assert world.row(row_id).status == DELIVERED
    assert len(world.scores()) == 1


def test_when_the_platform_is_down_one_call_defers_the_whole_batch(world: GradesWorld) -> None:
    launch_id = world.launch()
    start = utcnow()
    rows = [
        world.enqueue(launch_id, given=50 + i, when=start + timedelta(seconds=i)) for i in range(4)
    ]
    world.transport.answer("POST", SCORES, 502)
    assert "deferred 4" in world.worker_once()
    assert world.transport.count("POST", SCORES) == 1
    assert all(world.row(r).attempts == 1 for r in rows)
    assert "not tried" in world.row(rows[-1]).last_error


def test_one_token_serves_many_scores(world: GradesWorld) -> None:
    launch_id = world.launch()
    start = utcnow()
    for i in range(5):
        world.enqueue(launch_id, given=60 + i, when=start + timedelta(seconds=i))
    assert "delivered 5" in world.worker_once()
    assert world.transport.count("POST", TOKEN_PATH) == 1
    assert [s.score_given for s in world.scores()] == [60, 61, 62, 63, 64]
    # The cached token serves the next batch too.
    world.enqueue(launch_id, given=90, when=start + timedelta(seconds=10))
    assert "delivered 1" in world.worker_once()
    assert world.transport.count("POST", TOKEN_PATH) == 1


def test_a_401_fetches_a_new_token_once_then_the_score_is_delivered(world: GradesWorld) -> None:
    launch_id = world.launch()
    world.enqueue(launch_id, given=70)
    world.worker_once()
    assert world.transport.count("POST", TOKEN_PATH) == 1
    # The platform ends the token early (say it restarted): one refetch, one more try.
    second = world.enqueue(launch_id, given=75, when=utcnow() + timedelta(seconds=1))
    world.transport.answer("POST", SCORES, 401, times=1)
    assert "delivered 1" in world.worker_once()
    assert world.transport.count("POST", TOKEN_PATH) == 2
    assert world.row(second).status == DELIVERED
    assert [s.score_given for s in world.scores()] == [70, 75]


def test_a_401_after_a_new_token_fails_the_row(world: GradesWorld) -> None:
    row_id = world.enqueue(world.launch())
    world.transport.answer("POST", SCORES, 401)
    world.worker_once()
    assert world.transport.count("POST", SCORES) == 2  # the first try and one retry, no more
    row = world.row(row_id)
    assert row.status == FAILED and "HTTP 401" in row.last_error


def test_without_a_lineitem_claim_the_line_item_is_found_by_resource_id(
    world: GradesWorld,
) -> None:
    launch_id = world.launch()
    with world.session() as session:
        seeded = session.scalars(select(SandboxLineItem)).one()
        seeded_id, resource_id = seeded.id, seeded.resource_id
    row_id = world.enqueue(launch_id, without_lineitem=True, resource_id=resource_id)
    assert world.row(row_id).line_item_url == ""
    assert "delivered 1" in world.worker_once()
    assert world.transport.count("GET", LINEITEMS_PATH) == 1
    assert world.transport.count("POST", LINEITEMS_PATH) == 0
    (score,) = world.scores()
    assert score.line_item_id == seeded_id
    assert world.row(row_id).line_item_url.endswith(f"/lineitems/{seeded_id}")


def test_without_a_lineitem_claim_a_missing_line_item_is_created_once(world: GradesWorld) -> None:
    launch_id = world.launch()
    start = utcnow()
    first = world.enqueue(
        launch_id, without_lineitem=True, resource_id="unplaced-module", when=start
    )
    second = world.enqueue(
        launch_id,
        given=95,
        without_lineitem=True,
        resource_id="unplaced-module",
        when=start + timedelta(seconds=1),
    )
    assert "delivered 2" in world.worker_once()
    assert world.transport.count("POST", LINEITEMS_PATH) == 1
    with world.session() as session:
        created = session.scalars(
            select(SandboxLineItem).where(SandboxLineItem.resource_id == "unplaced-module")
        ).one()
        assert created.label == "示範模組" and created.score_maximum == 100.0
        assert created.resource_link_id is not None
    assert {s.line_item_id for s in world.scores()} == {created.id}
    assert world.row(first).line_item_url == world.row(second).line_item_url


def test_a_400_answer_fails_the_row_with_the_platform_reason_and_retry_requeues_it(
    world: GradesWorld,
) -> None:
    row_id = world.enqueue(world.launch(), user_id="not-a-member")
    assert "failed 1" in world.worker_once()
    row = world.row(row_id)
    assert row.status == FAILED and row.attempts == 1
    assert "HTTP 400" in row.last_error and "userId is not a member" in row.last_error
    # A failed row stays failed: workers leave it alone.
    assert "nothing due" in world.worker_once()
    status = world.app.test_cli_runner().invoke(args=["grades", "status"])
    assert "failed: 1" in status.output and "userId is not a member" in status.output
    # The cause is fixed (here: the score names the learner), then `grades retry`.
    with world.app.extensions["plugin.db"].session_scope() as session:
        stored = session.get(GradeOutbox, row_id)
        assert stored is not None
        stored.score = {**stored.score, "userId": "sandbox-learner"}
    retried = world.app.test_cli_runner().invoke(args=["grades", "retry"])
    assert "1 failed score(s) queued again" in retried.output
    assert (world.row(row_id).status, world.row(row_id).attempts) == (PENDING, 0)
    assert "delivered 1" in world.worker_once()
    assert len(world.scores()) == 1


def test_an_older_score_than_the_platforms_is_delivered_as_superseded(world: GradesWorld) -> None:
    launch_id = world.launch()
    now = utcnow()
    newer = world.enqueue(launch_id, given=90, when=now)
    older = world.enqueue(launch_id, given=40, when=now - timedelta(hours=1))
    world.worker_once()
    assert world.row(newer).status == DELIVERED and world.row(newer).last_error == ""
    row = world.row(older)
    assert row.status == DELIVERED and row.last_error.startswith("superseded: ")
    assert "HTTP 409" in row.last_error
    status = world.app.test_cli_runner().invoke(args=["grades", "status"])
    assert "delivered: 2 (superseded: 1)" in status.output


def test_grades_status_shows_counts_oldest_pending_age_and_latest_error(
    world: GradesWorld,
) -> None:
    empty = world.app.test_cli_runner().invoke(args=["grades", "status"])
    assert empty.output.splitlines() == ["pending: 0", "delivered: 0 (superseded: 0)", "failed: 0"]
    row_id = world.enqueue(world.launch())
    world.transport.answer("POST", SCORES, 500)
    world.worker_once()
    with world.app.extensions["plugin.db"].session_scope() as session:
        stored = session.get(GradeOutbox, row_id)
        assert stored is not None
        stored.created_at = utcnow() - timedelta(minutes=5, seconds=3)
    output = world.app.test_cli_runner().invoke(args=["grades", "status"]).output
    assert "pending: 1 (oldest waiting 5 min 3 s)" in output
    assert f"latest error (row {row_id}): score refused: HTTP 500" in output


def test_rows_a_slow_batch_cannot_reach_before_its_lease_ends_are_handed_back(
    world: GradesWorld,
) -> None:
    launch_id = world.launch()
    start = utcnow()
    first = world.enqueue(launch_id, given=10, when=start)
    second = world.enqueue(launch_id, given=20, when=start + timedelta(seconds=1))
    policy = DeliveryPolicy()
    assert policy.lease_seconds == 15 * 60  # capped: a dead worker's rows return soon
    now = utcnow()
    moments = iter(now + timedelta(seconds=i * policy.lease_seconds / 2) for i in range(10))
    report = deliver_due_scores(
        world.app.extensions["plugin.db"].session_scope,
        world.app.extensions[EXTENSION],
        TEST_SECRET,
        policy,
        now=lambda: next(moments),
    )
    assert (report.delivered, report.released) == (1, 1)
    assert world.row(first).status == DELIVERED
    released = world.row(second)
    assert (released.status, released.attempts, released.last_error) == (PENDING, 0, "")
    assert [s.score_given for s in world.scores()] == [10]


def test_backoff_doubles_is_capped_and_jittered() -> None:
    policy = DeliveryPolicy(retry_base_seconds=30, retry_max_seconds=3600)
    rng = random.Random(7)
    for attempts, nominal in ((1, 30), (2, 60), (3, 120), (8, 3600), (40, 3600)):
        delays = [retry_delay(attempts, policy, rng).total_seconds() for _ in range(50)]
        assert all(nominal / 2 <= d <= nominal for d in delays), (attempts, delays)
        assert len({round(d, 3) for d in delays}) > 1  # jitter spreads the retries
    assert retry_delay(1, policy, rng, retry_after=900).total_seconds() >= 900


def test_scores_url_appends_to_the_path_and_keeps_the_query() -> None:
    assert (
        scores_url("https://lms.example/mod/lti/services.php/2/lineitems/7/lineitem?type_id=3")
        == "https://lms.example/mod/lti/services.php/2/lineitems/7/lineitem/scores?type_id=3"
    )
    assert scores_url("https://lms.example/api/lineitems/7/") == (
        "https://lms.example/api/lineitems/7/scores"
    )


def test_worker_loop_sleeps_when_idle_and_stops_when_told() -> None:
    stop = threading.Event()
    calls: list[float] = []

    def idle() -> BatchReport:
        calls.append(time.monotonic())
        if len(calls) == 3:
            stop.set()
        return BatchReport()

    started = time.monotonic()
    run_worker(idle, batch_size=10, interval=0.05, once=False, stop=stop)
    assert len(calls) == 3
    assert time.monotonic() - started >= 0.09  # two waits between three idle batches


def test_worker_loop_goes_on_at_once_after_a_full_batch_but_not_after_deferrals() -> None:
    stop = threading.Event()
    reports = [
        BatchReport(claimed=2, delivered=2),  # full: the next batch follows at once
        BatchReport(claimed=2, deferred=2),  # all deferred: wait
        BatchReport(claimed=0),
    ]
    waits: list[float] = []
    original_wait = stop.wait

    def counting_wait(timeout: float | None = None) -> bool:
        waits.append(timeout or 0)
        return original_wait(0)

    stop.wait = counting_wait  # type: ignore[method-assign]

    def batch() -> BatchReport:
        report = reports.pop(0)
        if not reports:
            stop.set()
        return report

    claimed = run_worker(batch, batch_size=2, interval=7.0, once=False, stop=stop)
    assert claimed == 4
    assert waits == [7.0, 7.0]


def test_worker_stops_cleanly_on_sigterm(tmp_path: Path, seeded_sqlite: Path) -> None:
    database = tmp_path / "plugin.sqlite3"
    shutil.copy(seeded_sqlite, database)
    config = tmp_path / "config.toml"
    config.write_text(
        f'env = "development"\nsecret_key = "{TEST_SECRET}"\n'
        f'[database]\nurl = "sqlite:///{database}"\n[log]\nlevel = "WARNING"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "PLUGIN_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "flask", "--app", "plugin", "grades", "worker"]
    process = subprocess.Popen(
        [*command, "--interval", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        started = [process.stdout.readline() for _ in range(1)]
        while "grade worker: batches of 50" not in started[-1] and started[-1]:
            started.append(process.stdout.readline())  # log lines may come first
        assert "grade worker: batches of 50" in started[-1], started
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert "grade worker stopped" in output


# PostgreSQL: several workers at once.


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[Callable[[], Session]]:
    """Sessions on a fresh PostgreSQL schema at ``head`` with one registration."""
    engine = create_db_engine(postgres_url)
    upgrade_database(engine)
    with Session(engine) as session:
        session.add(
            Registration(
                issuer="https://lms.example",
                client_id="tool",
                auth_login_url="https://lms.example/auth",
                auth_token_url="https://lms.example/token",
                key_set_url="https://lms.example/jwks",
                organisation_id=default_organisation(session).id,
            )
        )
        session.commit()
    yield lambda: Session(engine, expire_on_commit=False)
    engine.dispose()


def _pg_rows(sessions: Callable[[], Session], count: int) -> list[int]:
    with sessions() as session:
        registration = session.scalars(select(Registration)).one()
        rows = [
            GradeOutbox(
                registration_id=registration.id,
                line_item_url=f"https://lms.example/lineitems/{i}?x=1",
                user_sub=f"user-{i}",
                score={"userId": f"user-{i}", "scoreGiven": 1, "scoreMaximum": 1},
                next_attempt_at=utcnow() - timedelta(seconds=1),
            )
            for i in range(count)
        ]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


@pytest.mark.postgres
def test_two_concurrent_claimers_on_postgres_never_take_the_same_row(
    pg_database: Callable[[], Session],
) -> None:
    ids = _pg_rows(pg_database, 6)
    now = utcnow()
    lease = now + timedelta(minutes=10)
    first, second = pg_database(), pg_database()
    try:
        taken_first = claim_due(first, 4, now, lease)  # locked, not yet committed
        taken_second = claim_due(second, 10, now, lease)  # skips the locked rows
        first.commit()
        second.commit()
        third = claim_due(first, 10, now, lease)  # leased: nothing is due any more
        first.commit()
    finally:
        first.close()
        second.close()
    a, b = {r.id for r in taken_first}, {r.id for r in taken_second}
    assert len(a) == 4 and len(b) == 2
    assert not a & b and a | b == set(ids)
    assert third == []


class _CountingPlatform(requests.adapters.BaseAdapter):
    """A platform that issues tokens and counts score posts per line item (a bit slowly)."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: dict[str, int] = {}
        self.lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Answer a token request or a score post."""
        response = requests.Response()
        # A body already read, as the tool's streamed reads expect (iter_content serves it).
        response._content, response._content_consumed = b"", True
        response.request = request
        response.url = request.url or ""
        path = urlsplit(request.url or "").path
        if path == "/token":
            response.status_code = 200
            response._content = b'{"access_token": "t", "token_type": "Bearer", "expires_in": 3600}'
        else:
            time.sleep(0.01)
            with self.lock:
                self.posts[path] = self.posts.get(path, 0) + 1
            response.status_code = 204
            response._content = b""
        return response

    def close(self) -> None:
        """Nothing to release."""


@pytest.mark.postgres
def test_workers_racing_on_postgres_deliver_every_row_exactly_once(
    pg_database: Callable[[], Session],
) -> None:
    ids = _pg_rows(pg_database, 30)
    platform = _CountingPlatform()
    tokens = ServiceTokens(timeout=5)
    tokens.http.mount("https://lms.example/", platform)

    @contextmanager
    def scope() -> Iterator[Session]:
        session = pg_database()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def worker() -> None:
        policy = DeliveryPolicy(batch_size=4)
        while deliver_due_scores(scope, tokens, TEST_SECRET, policy).claimed:
            pass

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(platform.posts.values()) == 30
    assert set(platform.posts.values()) == {1}
    with pg_database() as session:
        statuses = set(session.scalars(select(GradeOutbox.status)))
        assert statuses == {DELIVERED}
    assert len(ids) == 30


def test_enqueue_without_a_grade_service_queues_nothing(world: GradesWorld) -> None:
    launch_id = world.launch()
    with world.app.extensions["plugin.db"].session_scope() as session:
        launch = session.get(Launch, launch_id)
        assert launch is not None
        launch.claims = {k: v for k, v in launch.claims.items() if k != CLAIM_AGS_ENDPOINT}
        score = Score(1.0, 1.0, "Completed", "FullyGraded", datetime.now(UTC))
        assert enqueue_score(session, launch, score) is None


# Hostile answers: whatever a platform sends, the worker goes on and the row is rescheduled
# or failed cleanly.

HUGE = b"x" * (MAX_SERVICE_ANSWER_BYTES + 1024 * 1024)
HOSTILE_RETRY_AFTER = [
    "²",  # str.isdigit() accepts U+00B2; float() refuses it
    "١٢٠",
    "9" * 5000,
    "-30",
    "NaN",
    "inf",
    "Wed, 32 Oct 2015 07:28:00 GMT",
    "Wed, 21 Oct 99999 07:28:00 GMT",
    "x" * 10_000,
]


def _run_loop(world: GradesWorld, batches: int) -> list[BatchReport]:
    """The real worker loop for ``batches`` batches (due rows each time); its reports."""
    stop = threading.Event()
    reports: list[BatchReport] = []

    def batch() -> BatchReport:
        report = world.deliver_at(utcnow() + timedelta(days=2) * len(reports))
        reports.append(report)
        if len(reports) == batches:
            stop.set()
        return report

    run_worker(batch, batch_size=50, interval=0.0, once=False, stop=stop)
    return reports


@pytest.mark.parametrize("retry_after", HOSTILE_RETRY_AFTER)
def test_a_garbled_retry_after_defers_the_score_and_the_worker_keeps_running(
    world: GradesWorld, retry_after: str
) -> None:
    row_id = world.enqueue(world.launch())
    world.transport.answer("POST", SCORES, 503, times=1, headers={"Retry-After": retry_after})
    first, second = _run_loop(world, 2)
    assert (first.claimed, first.deferred) == (1, 1)
    # The second batch, when the row is due again, delivers it: the worker never stopped.
    assert second.delivered == 1
    row = world.row(row_id)
    assert (row.status, row.attempts) == (DELIVERED, 2)
    assert len(world.scores()) == 1


def test_a_retry_after_far_in_the_future_waits_one_day_at_most(world: GradesWorld) -> None:
    row_id = world.enqueue(world.launch())
    far = "Fri, 31 Dec 9999 23:59:59 GMT"
    world.transport.answer("POST", SCORES, 429, times=1, headers={"Retry-After": far})
    before = utcnow()
    world.deliver_at(before)
    row = world.row(row_id)
    assert row.status == PENDING and "HTTP 429" in row.last_error
    assert row.next_attempt_at - before == timedelta(seconds=MAX_RETRY_AFTER_SECONDS)


@pytest.mark.parametrize(
    ("method", "path", "status", "body", "headers"),
    [
        ("POST", TOKEN_PATH, 200, b"<html>not json</html>", {}),
        ("POST", TOKEN_PATH, 200, b'{"access_token": ["x"], "token_type": 5}', {}),
        ("POST", TOKEN_PATH, 200, b"[" * 100_000, {}),
        ("POST", TOKEN_PATH, 503, HUGE, {"Retry-After": "²"}),
        ("POST", SCORES, 500, HUGE, {}),
        ("POST", SCORES, 502, b"\xff\xfe\x00\x00 binary", {"Retry-After": "1e400"}),
    ],
)
def test_a_hostile_token_or_score_answer_defers_the_row_and_the_worker_goes_on(
    world: GradesWorld, method: str, path: str, status: int, body: bytes, headers: dict[str, str]
) -> None:
    row_id = world.enqueue(world.launch())
    world.transport.answer(method, path, status, times=1, headers=headers, body=body)
    first, second = _run_loop(world, 2)
    assert (first.deferred, second.delivered) == (1, 1)
    row = world.row(row_id)
    assert (row.status, row.attempts) == (DELIVERED, 2)
    # A huge answer is not read whole: the worker stops at the limit.
    assert all(b.bytes_read <= MAX_SERVICE_ANSWER_BYTES + 8192 for b in world.transport.bodies)


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b'{"lineitems": "a dict, not a list"}',
        b'[5, null, {"id": 7}, {"id": "http://["}, {"id": ["x"]}]',
        b"[" * 100_000,
        HUGE,
    ],
)
def test_a_hostile_line_item_list_is_ignored_and_a_line_item_created(
    world: GradesWorld, body: bytes
) -> None:
    row_id = world.enqueue(world.launch(), without_lineitem=True, resource_id="hostile-list")
    world.transport.answer(
        "GET",
        LINEITEMS_PATH,
        200,
        times=1,
        headers={"Link": '<http://[/lineitems?page=2>; rel="next"'},
        body=body,
    )
    (report,) = _run_loop(world, 1)
    assert report.delivered == 1
    assert world.row(row_id).status == DELIVERED
    assert world.transport.count("POST", LINEITEMS_PATH) == 1


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "http://[::1"}',
        b'{"id": 12345}',
        b"[" * 100_000,
        b"\x00\x01",
        HUGE,
    ],
)
def test_a_hostile_created_line_item_fails_the_row_cleanly(world: GradesWorld, body: bytes) -> None:
    row_id = world.enqueue(world.launch(), without_lineitem=True, resource_id="hostile-create")
    world.transport.answer("POST", LINEITEMS_PATH, 201, times=1, body=body)
    (report,) = _run_loop(world, 1)
    assert report.failed == 1
    row = world.row(row_id)
    assert row.status == FAILED and "no id on the platform's host" in row.last_error
    assert len(row.last_error) < 2000


def test_an_unforeseen_error_defers_the_row_and_the_worker_loop_survives(
    world: GradesWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    row_id = world.enqueue(world.launch())

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyError("a bug no answer should reach")

    monkeypatch.setattr(GradeDeliverer, "post_score", broken)
    (report,) = _run_loop(world, 1)
    assert report.deferred == 1
    row = world.row(row_id)
    assert row.status == PENDING and "unexpected KeyError" in row.last_error


def test_the_worker_loop_survives_an_error_outside_any_row() -> None:
    stop = threading.Event()
    calls: list[int] = []

    def batch() -> BatchReport:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("a batch that breaks")
        stop.set()
        return BatchReport(claimed=1, delivered=1)

    assert run_worker(batch, batch_size=50, interval=0.0, once=False, stop=stop) == 1
    assert len(calls) == 2


def test_scores_for_a_disabled_platform_are_held_then_sent_once_it_is_enabled(
    world: GradesWorld,
) -> None:
    row_id = world.enqueue(world.launch(), given=70.0)
    registration_id = world.row(row_id).registration_id
    with world.session() as session:
        session.get(Registration, registration_id).enabled = False
        session.commit()
    assert "nothing due" in world.worker_once()
    row = world.row(row_id)
    assert (row.status, row.attempts) == (PENDING, 0)  # held: not sent, not dropped
    assert world.transport.count("POST", SCORES) == 0 and world.scores() == []
    with world.session() as session:
        session.get(Registration, registration_id).enabled = True
        session.commit()
    assert "delivered 1" in world.worker_once()
    (score,) = world.scores()
    assert score.score_given == 70.0
