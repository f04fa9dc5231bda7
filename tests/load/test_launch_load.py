"""A 60-second load at half the measured launch rate, with the statement worker running.

Everything real and on loopback: Ralph (file backend) from ``.venv-lrs``, the platform
simulator's JWKS server, the tool under ``gunicorn -w 2`` on a fresh SQLite database, and the
statement worker (``flask --app plugin xapi worker``) sending to that Ralph. First a closed
loop (a few virtual users, each starting again as soon as it is answered) measures the highest
rate of full learner iterations for a few seconds; then launches are started on schedule at
half that rate for 60 s. The maximum is measured with the same iterations the load makes, one
launch and its module actions each: half the rate of bare launches would, with the actions,
ask for more than the tool can serve.

Each iteration is a learner's: OIDC login and launch (``launched``), the module page
(``initialized``), reading progress (``progressed``) and the knowledge check (``answered`` per
item, ``completed``, ``passed`` or ``failed``, ``terminated``, and the roll-up's ``assessed``
statements when a level changes). Each iteration is a new learner giving the same answers, so
each queues the same statements. ``pytest -s`` prints what was measured.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from bench.launch_load import (
    GunicornServer,
    LoadReport,
    PlatformSimulator,
    ServedApp,
    SubjectSource,
    VirtualUser,
    free_port,
    prepare_tool,
    run_closed_loop,
    run_open_loop,
    stop_process,
)
from plugin import create_app
from plugin.xapi.models import DELIVERED, PENDING, OutboxStatement
from tests.support.lrs import LRS_PYTHON, RalphServer

pytestmark = pytest.mark.load

LOAD_SECONDS = 60.0
PROBE_SECONDS = 5.0
PROBE_WARMUP_SECONDS = 1.0
PROBE_USERS = 4
DRAIN_SECONDS = 30.0
WORKER_INTERVAL_SECONDS = 0.5
WORKER_START_SECONDS = 30.0
VERB = "http://adlnet.gov/expapi/verbs/"
# One of each per iteration, whatever the answers: the cmi5 frame of an attempt.
ONCE_PER_ITERATION = ("launched", "initialized", "progressed", "completed", "terminated")


def start_ralph(folder: Path) -> RalphServer:
    """Ralph on a free port, or a failure saying why (never a skip)."""
    if not LRS_PYTHON.exists():
        pytest.fail(
            f"{LRS_PYTHON} is missing: the load test needs Ralph (make .venv-lrs/.installed)",
            pytrace=False,
        )
    folder.mkdir(parents=True, exist_ok=True)
    ralph = RalphServer(folder / "data", free_port())
    ralph.start()  # fails the test with Ralph's log if it does not answer
    return ralph


def start_gunicorn(server: GunicornServer) -> None:
    """Start the tool under gunicorn, or fail with its log."""
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(f"the tool did not start under gunicorn: {exc}", pytrace=False)


def start_statement_worker(app: ServedApp, log_path: Path) -> subprocess.Popen[bytes]:
    """``flask --app plugin xapi worker`` on the tool's config."""
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "plugin", "xapi", "worker"],
            env=app.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    # Ready once it announces itself: it does so after its signal handlers are in place.
    deadline = time.monotonic() + WORKER_START_SECONDS
    while "xapi worker: batches of" not in log_path.read_text(errors="replace"):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail(
                f"the statement worker did not start (exit {worker.poll()}):\n{tail(log_path)}",
                pytrace=False,
            )
        time.sleep(0.05)
    return worker


def tail(path: Path, lines: int = 30) -> str:
    """The end of a log file."""
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def error_lines(path: Path) -> list[str]:
    """The lines of a log that report an error or a traceback."""
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]


def pending_count(app: Flask) -> int:
    """Outbox rows not yet delivered (nor quarantined)."""
    with app.extensions["plugin.db"].sessions() as session:
        query = select(func.count()).where(OutboxStatement.status == PENDING)
        return int(session.scalar(query) or 0)


def wait_for_drain(app: Flask, seconds: float, worker_log: Path) -> float:
    """Seconds until no statement is pending; fails after ``seconds``."""
    began = time.monotonic()
    while pending_count(app):
        if time.monotonic() - began > seconds:
            pytest.fail(
                f"{pending_count(app)} statement(s) still pending {seconds:.0f} s after the "
                f"load stopped; worker log:\n{tail(worker_log)}",
                pytrace=False,
            )
        time.sleep(0.25)
    return time.monotonic() - began


def assert_no_errors(report: LoadReport, server: GunicornServer) -> None:
    """Every response of every iteration (warm-up included) was the expected one."""
    assert report.outcomes, f"{report.name}: no iteration ran"
    assert report.error_count == 0, (
        f"{report.name}: {report.error_count} of {len(report.every_iteration)} iterations "
        f"failed: {dict(report.errors.most_common(5))}\nserver log:\n{server.log_tail()}"
    )


def test_sixty_seconds_at_half_the_maximum_launch_rate_lose_no_statement(
    tmp_path: Path,
) -> None:
    """Zero errors under load; the outbox drains; Ralph holds exactly what was delivered."""
    began = time.monotonic()
    with ExitStack() as stack:
        ralph = start_ralph(tmp_path / "ralph")
        stack.callback(ralph.http.close)
        stack.callback(ralph.stop)
        platform = PlatformSimulator(tmp_path / "platform")
        platform.start()
        stack.callback(platform.stop)
        port = free_port()
        tool = prepare_tool(
            tmp_path / "tool",
            port,
            platform,
            lrs_targets=[ralph.target()],
            worker_interval_seconds=WORKER_INTERVAL_SECONDS,
        )
        server = GunicornServer(tool, port, tmp_path / "gunicorn.log", workers=2)
        stack.callback(server.stop)
        start_gunicorn(server)
        worker_log = tmp_path / "xapi-worker.log"
        worker = start_statement_worker(tool, worker_log)
        stack.callback(stop_process, worker)
        app = create_app(tool.env["PLUGIN_CONFIG"])
        stack.callback(app.extensions["plugin.db"].dispose)

        setup_seconds = time.monotonic() - began

        def make_user() -> VirtualUser:
            return VirtualUser(platform, tool, server.base_url, actions=True)

        probe = run_closed_loop(
            "probe",
            make_user,
            SubjectSource("probe-learner"),
            users=PROBE_USERS,
            seconds=PROBE_SECONDS,
            warmup_seconds=PROBE_WARMUP_SECONDS,
        )
        assert_no_errors(probe, server)
        rate = probe.rate / 2
        load = run_open_loop(
            "load", make_user, SubjectSource("load-learner"), rate=rate, seconds=LOAD_SECONDS
        )
        assert_no_errors(load, server)
        assert worker.poll() is None, f"the statement worker died:\n{tail(worker_log)}"
        drained_in = wait_for_drain(app, DRAIN_SECONDS, worker_log)
        # The worker logs a database error (e.g. SQLite's "database is locked") and waits it
        # out, and the server logs what it answered 500 to: under this load there is none.
        assert not error_lines(worker_log), error_lines(worker_log)[:5]
        assert not error_lines(server.log_path), error_lines(server.log_path)[:5]

        with app.extensions["plugin.db"].sessions() as session:
            rows = session.execute(
                select(OutboxStatement.statement_id, OutboxStatement.verb, OutboxStatement.status)
            ).all()
        statuses = Counter(status for _id, _verb, status in rows)
        assert statuses == {DELIVERED: len(rows)}, statuses
        # Every iteration (the probe's warm-up too) queued one of each of these, and nothing
        # else launched.
        iterations = len(probe.every_iteration) + len(load.every_iteration)
        verbs = Counter(verb.removeprefix(VERB) for _id, verb, _status in rows)
        assert {verb: verbs[verb] for verb in ONCE_PER_ITERATION} == dict.fromkeys(
            ONCE_PER_ITERATION, iterations
        ), verbs
        stored = Counter(statement["id"] for statement in ralph.stored_statements())
        delivered = {statement_id for statement_id, _verb, _status in rows}
        assert set(stored) == delivered, (
            f"{len(set(stored) - delivered)} stored but not delivered, "
            f"{len(delivered - set(stored))} delivered but not stored"
        )
        assert max(stored.values()) == 1, "Ralph stored a statement twice"

        print(
            f"\nset-up {setup_seconds:.1f} s\n{probe.summary()}\n{load.summary()}\n"
            f"{len(rows)} statements from {iterations} launches, drained "
            f"{drained_in:.1f} s after the load; worker peak RSS (MiB): "
            f"{ {pid: round(mib, 1) for pid, mib in server.peak_rss_mib().items()} }"
        )
