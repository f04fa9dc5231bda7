"""Grade passback: queued scores reach the sandbox gradebook once, across outages and refusals."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

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
    run_worker,
)
from plugin.lti.grade_outbox import DELIVERED, FAILED, PENDING, Score, enqueue_score
from plugin.lti.models import GradeOutbox, Launch, Registration
from plugin.lti.service_links import scores_url
from plugin.lti.service_tokens import EXTENSION, MAX_SERVICE_ANSWER_BYTES, ServiceTokens
from plugin.organisations.services import default_organisation
from sandbox.models import SandboxLineItem
from tests.support.app import TEST_SECRET
from tests.support.database import scope_of
from tests.support.grades import LINEITEMS_PATH, SCORES, TOKEN_PATH, GradesWorld
from tests.support.sandbox import PLATFORM
from tests.support.workers import (
    assert_backoff_doubles_capped_and_jittered,
    killed_if_left_running,
    scripted_batches,
    stop_with_sigterm,
)


def test_pass_posts_the_score_to_the_sandbox_line_item_exactly_once(
    sandbox_world: GradesWorld,
) -> None:
    row_id = sandbox_world.enqueue(sandbox_world.launch(), given=85.0)
    output = sandbox_world.worker_once()
    assert "delivered 1" in output
    (score,) = sandbox_world.scores()
    assert score.score_given == 85.0 and score.score_maximum == 100.0
    assert (score.activity_progress, score.grading_progress) == ("Completed", "FullyGraded")
    row = sandbox_world.row(row_id)
    assert (row.status, row.attempts, row.last_error) == (DELIVERED, 1, "")
    assert row.delivered_at is not None
    # The row is done: another run sends nothing, and the gradebook shows the score once.
    assert "nothing due" in sandbox_world.worker_once()
    assert len(sandbox_world.scores()) == 1
    book = sandbox_world.browser.get(PLATFORM + "/sandbox/gradebook?as=designer").get_data(
        as_text=True
    )
    assert "85" in book


def test_score_waits_while_the_platform_is_down_and_arrives_once_after(
    sandbox_world: GradesWorld,
) -> None:
    row_id = sandbox_world.enqueue(sandbox_world.launch())
    outage = sandbox_world.transport.answer("POST", SCORES, requests.ConnectionError("refused"))
    before = utcnow()
    assert "deferred 1" in sandbox_world.worker_once()
    row = sandbox_world.row(row_id)
    assert row.status == PENDING and row.attempts == 1
    assert "ConnectionError" in row.last_error
    # Backoff: at least half the 30 s base, never an immediate retry.
    assert row.next_attempt_at >= before + timedelta(seconds=15)
    assert sandbox_world.scores() == []
    # Not due yet: a worker running again at once does not call the platform.
    posts = sandbox_world.transport.count("POST", SCORES)
    assert "nothing due" in sandbox_world.worker_once()
    assert sandbox_world.transport.count("POST", SCORES) == posts
    # The platform comes back; when the row is due it is delivered, once.
    sandbox_world.transport.rules.remove(outage)
    report = sandbox_world.deliver_at(row.next_attempt_at + timedelta(seconds=1))
    assert (report.delivered, report.deferred) == (1, 0)
    assert sandbox_world.row(row_id).status == DELIVERED and sandbox_world.row(row_id).attempts == 2
    assert len(sandbox_world.scores()) == 1


def test_a_503_with_retry_after_waits_at_least_that_long(sandbox_world: GradesWorld) -> None:
    row_id = sandbox_world.enqueue(sandbox_world.launch())
    sandbox_world.transport.answer("POST", SCORES, 503, times=1, headers={"Retry-After": "600"})
    before = utcnow()
    sandbox_world.worker_once()
    row = sandbox_world.row(row_id)
    assert row.status == PENDING and "HTTP 503" in row.last_error
    assert row.next_attempt_at >= before + timedelta(seconds=600)


def test_a_timeout_is_retried_later(sandbox_world: GradesWorld) -> None:
    row_id = sandbox_world.enqueue(sandbox_world.launch())
    sandbox_world.transport.answer("POST", SCORES, requests.ReadTimeout("slow"), times=1)
    sandbox_world.worker_once()
    row = sandbox_world.row(row_id)
    assert row.status == PENDING and "ReadTimeout" in row.last_error
    sandbox_world.deliver_at(row.next_attempt_at + timedelta(seconds=1))
    assert sandbox_world.row(row_id).status == DELIVERED
    assert len(sandbox_world.scores()) == 1


def test_when_the_platform_is_down_one_call_defers_the_whole_batch(
    sandbox_world: GradesWorld,
) -> None:
    launch_id = sandbox_world.launch()
    start = utcnow()
    rows = [
        sandbox_world.enqueue(launch_id, given=50 + i, when=start + timedelta(seconds=i))
        for i in range(4)
    ]
    sandbox_world.transport.answer("POST", SCORES, 502)
    assert "deferred 4" in sandbox_world.worker_once()
    assert sandbox_world.transport.count("POST", SCORES) == 1
    assert all(sandbox_world.row(r).attempts == 1 for r in rows)
    assert "not tried" in sandbox_world.row(rows[-1]).last_error


def test_one_token_serves_many_scores(sandbox_world: GradesWorld) -> None:
    launch_id = sandbox_world.launch()
    start = utcnow()
    for i in range(5):
        sandbox_world.enqueue(launch_id, given=60 + i, when=start + timedelta(seconds=i))
    assert "delivered 5" in sandbox_world.worker_once()
    assert sandbox_world.transport.count("POST", TOKEN_PATH) == 1
    assert [s.score_given for s in sandbox_world.scores()] == [60, 61, 62, 63, 64]
    # The cached token serves the next batch too.
    sandbox_world.enqueue(launch_id, given=90, when=start + timedelta(seconds=10))
    assert "delivered 1" in sandbox_world.worker_once()
    assert sandbox_world.transport.count("POST", TOKEN_PATH) == 1


def test_a_401_fetches_a_new_token_once_then_the_score_is_delivered(
    sandbox_world: GradesWorld,
) -> None:
    launch_id = sandbox_world.launch()
    sandbox_world.enqueue(launch_id, given=70)
    sandbox_world.worker_once()
    assert sandbox_world.transport.count("POST", TOKEN_PATH) == 1
    # The platform ends the token early (say it restarted): one refetch, one more try.
    second = sandbox_world.enqueue(launch_id, given=75, when=utcnow() + timedelta(seconds=1))
    sandbox_world.transport.answer("POST", SCORES, 401, times=1)
    assert "delivered 1" in sandbox_world.worker_once()
    assert sandbox_world.transport.count("POST", TOKEN_PATH) == 2
    assert sandbox_world.row(second).status == DELIVERED
    assert [s.score_given for s in sandbox_world.scores()] == [70, 75]


def test_a_401_after_a_new_token_fails_the_row(sandbox_world: GradesWorld) -> None:
    row_id = sandbox_world.enqueue(sandbox_world.launch())
    sandbox_world.transport.answer("POST", SCORES, 401)
    sandbox_world.worker_once()
    assert (
        sandbox_world.transport.count("POST", SCORES) == 2
    )  # the first try and one retry, no more
    row = sandbox_world.row(row_id)
    assert row.status == FAILED and "HTTP 401" in row.last_error


def test_without_a_lineitem_claim_the_line_item_is_found_by_resource_id(
    sandbox_world: GradesWorld,
) -> None:
    launch_id = sandbox_world.launch()
    with sandbox_world.session() as session:
        seeded = session.scalars(select(SandboxLineItem)).one()
        seeded_id, resource_id = seeded.id, seeded.resource_id
    row_id = sandbox_world.enqueue(launch_id, without_lineitem=True, resource_id=resource_id)
    assert sandbox_world.row(row_id).line_item_url == ""
    assert "delivered 1" in sandbox_world.worker_once()
    assert sandbox_world.transport.count("GET", LINEITEMS_PATH) == 1
    assert sandbox_world.transport.count("POST", LINEITEMS_PATH) == 0
    (score,) = sandbox_world.scores()
    assert score.line_item_id == seeded_id
    assert sandbox_world.row(row_id).line_item_url.endswith(f"/lineitems/{seeded_id}")


def test_without_a_lineitem_claim_a_missing_line_item_is_created_once(
    sandbox_world: GradesWorld,
) -> None:
    launch_id = sandbox_world.launch()
    start = utcnow()
    first = sandbox_world.enqueue(
        launch_id, without_lineitem=True, resource_id="unplaced-module", when=start
    )
    second = sandbox_world.enqueue(
        launch_id,
        given=95,
        without_lineitem=True,
        resource_id="unplaced-module",
        when=start + timedelta(seconds=1),
    )
    assert "delivered 2" in sandbox_world.worker_once()
    assert sandbox_world.transport.count("POST", LINEITEMS_PATH) == 1
    with sandbox_world.session() as session:
        created = session.scalars(
            select(SandboxLineItem).where(SandboxLineItem.resource_id == "unplaced-module")
        ).one()
        assert created.label == "示範模組" and created.score_maximum == 100.0
        assert created.resource_link_id is not None
    assert {s.line_item_id for s in sandbox_world.scores()} == {created.id}
    assert sandbox_world.row(first).line_item_url == sandbox_world.row(second).line_item_url


def test_a_400_answer_fails_the_row_with_the_platform_reason_and_retry_requeues_it(
    sandbox_world: GradesWorld,
) -> None:
    row_id = sandbox_world.enqueue(sandbox_world.launch(), user_id="not-a-member")
    assert "failed 1" in sandbox_world.worker_once()
    row = sandbox_world.row(row_id)
    assert row.status == FAILED and row.attempts == 1
    assert "HTTP 400" in row.last_error and "userId is not a member" in row.last_error
    # A failed row stays failed: workers leave it alone.
    assert "nothing due" in sandbox_world.worker_once()
    status = sandbox_world.app.test_cli_runner().invoke(args=["grades", "status"])
    assert "failed: 1" in status.output and "userId is not a member" in status.output
    # The cause is fixed (here: the score names the learner), then `grades retry`.
    with sandbox_world.app.extensions["plugin.db"].session_scope() as session:
        stored = session.get(GradeOutbox, row_id)
        assert stored is not None
        stored.score = {**stored.score, "userId": "sandbox-learner"}
    retried = sandbox_world.app.test_cli_runner().invoke(args=["grades", "retry"])
    assert "1 failed score(s) queued again" in retried.output
    assert (sandbox_world.row(row_id).status, sandbox_world.row(row_id).attempts) == (PENDING, 0)
    assert "delivered 1" in sandbox_world.worker_once()
    assert len(sandbox_world.scores()) == 1


def test_an_older_score_than_the_platforms_is_delivered_as_superseded(
    sandbox_world: GradesWorld,
) -> None:
    launch_id = sandbox_world.launch()
    now = utcnow()
    newer = sandbox_world.enqueue(launch_id, given=90, when=now)
    older = sandbox_world.enqueue(launch_id, given=40, when=now - timedelta(hours=1))
    sandbox_world.worker_once()
    assert (
        sandbox_world.row(newer).status == DELIVERED and sandbox_world.row(newer).last_error == ""
    )
    row = sandbox_world.row(older)
    assert row.status == DELIVERED and row.last_error.startswith("superseded: ")
    assert "HTTP 409" in row.last_error
    status = sandbox_world.app.test_cli_runner().invoke(args=["grades", "status"])
    assert "delivered: 2 (superseded: 1)" in status.output


def test_grades_status_shows_counts_oldest_pending_age_and_latest_error(
    sandbox_world: GradesWorld,
) -> None:
    empty = sandbox_world.app.test_cli_runner().invoke(args=["grades", "status"])
    assert empty.output.splitlines() == ["pending: 0", "delivered: 0 (superseded: 0)", "failed: 0"]
    row_id = sandbox_world.enqueue(sandbox_world.launch())
    sandbox_world.transport.answer("POST", SCORES, 500)
    sandbox_world.worker_once()
    with sandbox_world.app.extensions["plugin.db"].session_scope() as session:
        stored = session.get(GradeOutbox, row_id)
        assert stored is not None
        stored.created_at = utcnow() - timedelta(minutes=5, seconds=3)
    output = sandbox_world.app.test_cli_runner().invoke(args=["grades", "status"]).output
    assert "pending: 1 (oldest waiting 5 min 3 s)" in output
    assert f"latest error (row {row_id}): score refused: HTTP 500" in output


def test_rows_a_slow_batch_cannot_reach_before_its_lease_ends_are_handed_back(
    sandbox_world: GradesWorld,
) -> None:
    launch_id = sandbox_world.launch()
    start = utcnow()
    first = sandbox_world.enqueue(launch_id, given=10, when=start)
    second = sandbox_world.enqueue(launch_id, given=20, when=start + timedelta(seconds=1))
    policy = DeliveryPolicy()
    assert policy.lease_seconds == 15 * 60  # capped: a dead worker's rows return soon
    now = utcnow()
    moments = iter(now + timedelta(seconds=i * policy.lease_seconds / 2) for i in range(10))
    report = deliver_due_scores(
        sandbox_world.app.extensions["plugin.db"].session_scope,
        sandbox_world.app.extensions[EXTENSION],
        TEST_SECRET,
        policy,
        now=lambda: next(moments),
    )
    assert (report.delivered, report.released) == (1, 1)
    assert sandbox_world.row(first).status == DELIVERED
    released = sandbox_world.row(second)
    assert (released.status, released.attempts, released.last_error) == (PENDING, 0, "")
    assert [s.score_given for s in sandbox_world.scores()] == [10]


def test_backoff_doubles_is_capped_and_jittered() -> None:
    policy = DeliveryPolicy(retry_base_seconds=30, retry_max_seconds=3600)
    nominal = ((1, 30), (2, 60), (3, 120), (8, 3600), (40, 3600))
    assert_backoff_doubles_capped_and_jittered(policy, nominal, retry_after=900)


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
    reports = [
        BatchReport(claimed=2, delivered=2),  # full: the next batch follows at once
        BatchReport(claimed=2, deferred=2),  # all deferred: wait
        BatchReport(claimed=0),
    ]
    batch, stop, waits = scripted_batches(reports)

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
    with killed_if_left_running(process):
        assert process.stdout is not None
        started = [process.stdout.readline() for _ in range(1)]
        while "grade worker: batches of 50" not in started[-1] and started[-1]:
            started.append(process.stdout.readline())  # log lines may come first
        assert "grade worker: batches of 50" in started[-1], started
        output = stop_with_sigterm(process)
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

    scope = scope_of(pg_database)

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


def test_enqueue_without_a_grade_service_queues_nothing(sandbox_world: GradesWorld) -> None:
    launch_id = sandbox_world.launch()
    with sandbox_world.app.extensions["plugin.db"].session_scope() as session:
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


def _run_loop(sandbox_world: GradesWorld, batches: int) -> list[BatchReport]:
    """The real worker loop for ``batches`` batches (due rows each time); its reports."""
    stop = threading.Event()
    reports: list[BatchReport] = []

    def batch() -> BatchReport:
        report = sandbox_world.deliver_at(utcnow() + timedelta(days=2) * len(reports))
        reports.append(report)
        if len(reports) == batches:
            stop.set()
        return report

    run_worker(batch, batch_size=50, interval=0.0, once=False, stop=stop)
    return reports


@pytest.mark.parametrize("retry_after", HOSTILE_RETRY_AFTER)
def test_a_garbled_retry_after_defers_the_score_and_the_worker_keeps_running(
    sandbox_world: GradesWorld, retry_after: str
) -> None:
    row_id = sandbox_world.enqueue(sandbox_world.launch())
    sandbox_world.transport.answer(
        "POST", SCORES, 503, times=1, headers={"Retry-After": retry_after}
    )
    first, second = _run_loop(sandbox_world, 2)
    assert (first.claimed, first.deferred) == (1, 1)
    # The second batch, when the row is due again, delivers it: the worker never stopped.
    assert second.delivered == 1
    row = sandbox_world.row(row_id)
    assert (row.status, row.attempts) == (DELIVERED, 2)
    assert len(sandbox_world.scores()) == 1


def test_a_retry_after_far_in_the_future_waits_one_day_at_most(sandbox_world: GradesWorld) -> None:
    row_id = sandbox_world.enqueue(sandbox_world.launch())
    far = "Fri, 31 Dec 9999 23:59:59 GMT"
    sandbox_world.transport.answer("POST", SCORES, 429, times=1, headers={"Retry-After": far})
    before = utcnow()
    sandbox_world.deliver_at(before)
    row = sandbox_world.row(row_id)
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
    sandbox_world: GradesWorld,
    method: str,
    path: str,
    status: int,
    body: bytes,
    headers: dict[str, str],
) -> None:
    row_id = sandbox_world.enqueue(sandbox_world.launch())
    sandbox_world.transport.answer(method, path, status, times=1, headers=headers, body=body)
    first, second = _run_loop(sandbox_world, 2)
    assert (first.deferred, second.delivered) == (1, 1)
    row = sandbox_world.row(row_id)
    assert (row.status, row.attempts) == (DELIVERED, 2)
    # A huge answer is not read whole: the worker stops at the limit.
    assert all(
        b.bytes_read <= MAX_SERVICE_ANSWER_BYTES + 8192 for b in sandbox_world.transport.bodies
    )


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
    sandbox_world: GradesWorld, body: bytes
) -> None:
    row_id = sandbox_world.enqueue(
        sandbox_world.launch(), without_lineitem=True, resource_id="hostile-list"
    )
    sandbox_world.transport.answer(
        "GET",
        LINEITEMS_PATH,
        200,
        times=1,
        headers={"Link": '<http://[/lineitems?page=2>; rel="next"'},
        body=body,
    )
    (report,) = _run_loop(sandbox_world, 1)
    assert report.delivered == 1
    assert sandbox_world.row(row_id).status == DELIVERED
    assert sandbox_world.transport.count("POST", LINEITEMS_PATH) == 1


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
def test_a_hostile_created_line_item_fails_the_row_cleanly(
    sandbox_world: GradesWorld, body: bytes
) -> None:
    row_id = sandbox_world.enqueue(
        sandbox_world.launch(), without_lineitem=True, resource_id="hostile-create"
    )
    sandbox_world.transport.answer("POST", LINEITEMS_PATH, 201, times=1, body=body)
    (report,) = _run_loop(sandbox_world, 1)
    assert report.failed == 1
    row = sandbox_world.row(row_id)
    assert row.status == FAILED and "no id on the platform's host" in row.last_error
    assert len(row.last_error) < 2000


def test_an_unforeseen_error_defers_the_row_and_the_worker_loop_survives(
    sandbox_world: GradesWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    row_id = sandbox_world.enqueue(sandbox_world.launch())

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyError("a bug no answer should reach")

    monkeypatch.setattr(GradeDeliverer, "post_score", broken)
    (report,) = _run_loop(sandbox_world, 1)
    assert report.deferred == 1
    row = sandbox_world.row(row_id)
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
    sandbox_world: GradesWorld,
) -> None:
    row_id = sandbox_world.enqueue(sandbox_world.launch(), given=70.0)
    registration_id = sandbox_world.row(row_id).registration_id
    with sandbox_world.session() as session:
        session.get(Registration, registration_id).enabled = False
        session.commit()
    assert "nothing due" in sandbox_world.worker_once()
    row = sandbox_world.row(row_id)
    assert (row.status, row.attempts) == (PENDING, 0)  # held: not sent, not dropped
    assert sandbox_world.transport.count("POST", SCORES) == 0 and sandbox_world.scores() == []
    with sandbox_world.session() as session:
        session.get(Registration, registration_id).enabled = True
        session.commit()
    assert "delivered 1" in sandbox_world.worker_once()
    (score,) = sandbox_world.scores()
    assert score.score_given == 70.0
