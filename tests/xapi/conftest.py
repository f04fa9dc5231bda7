"""A real Ralph LRS for delivery tests, a faulty proxy in front of it, and outbox helpers.

Ralph runs from ``.venv-lrs`` (``make test`` builds it) through ``lrs/run_ralph.py`` on a
free loopback port with its own data folder and credentials, once per test session. Without
``.venv-lrs`` the tests that need Ralph are skipped with the reason, except under
``CI=true``, where that is a failure; if Ralph is there but does not start, they fail.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from plugin import create_app
from plugin.core.db import utcnow
from plugin.xapi.models import PENDING, OutboxStatement
from tests.conftest import _copy_database, app_config

PROJECT_DIR = Path(__file__).resolve().parents[2]
LRS_PYTHON = PROJECT_DIR / ".venv-lrs" / "bin" / "python"
LAUNCHER = PROJECT_DIR / "lrs" / "run_ralph.py"
TARGET = "ralph"
START_SECONDS = 60.0
HOME_PAGE = "https://lms.example"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
MODULE_IRI = "https://w3id.org/tw-civil-service-dc/tw-civil-service-dc/modules/x"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RalphServer:
    """One Ralph process (file backend) on loopback; stop and start it again at will."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.username = "tool"
        self.password = secrets.token_urlsafe(16)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"ralph-{port}.log"
        self.http = requests.Session()

    @property
    def base_url(self) -> str:
        """Where Ralph answers."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        """The xAPI endpoint, as an [[xapi.lrs]] endpoint names it."""
        return f"{self.base_url}/xAPI/"

    def target(self, name: str = TARGET, endpoint: str | None = None) -> dict[str, str]:
        """An [[xapi.lrs]] table for this Ralph (or another endpoint in front of it)."""
        return {
            "name": name,
            "endpoint": endpoint or self.endpoint,
            "username": self.username,
            "password": self.password,
        }

    def start(self) -> None:
        """Start Ralph and wait until it answers; fail with its log if it does not."""
        env = {
            **os.environ,
            "LRS_USERNAME": self.username,
            "LRS_PASSWORD": self.password,
            "PYTHONUNBUFFERED": "1",
        }
        command = [str(LRS_PYTHON), str(LAUNCHER), "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if self.http.get(self.base_url + "/__heartbeat__", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        log_text = self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        pytest.fail(f"Ralph did not start on port {self.port}:\n{log_text}")

    def stop(self) -> None:
        """Stop Ralph (SIGTERM, then SIGKILL) and wait for it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stored_statements(self) -> list[dict[str, Any]]:
        """Every statement Ralph returns for ``GET statements?limit=0`` (xAPI 1.0.3
        Communication §2.1.3; Ralph's file backend reads its whole file for limit 0)."""
        response = self.http.get(
            self.endpoint + "statements",
            params={"limit": 0},
            auth=(self.username, self.password),
            headers={"X-Experience-API-Version": "1.0.3"},
            timeout=30,
        )
        response.raise_for_status()
        return list(response.json()["statements"])

    def id_counts(self, ids: Iterable[str]) -> Counter[str]:
        """How often each of ``ids`` is stored in Ralph, by its API and in its file."""
        wanted = set(ids)
        by_api = Counter(s["id"] for s in self.stored_statements() if s["id"] in wanted)
        by_file: Counter[str] = Counter()
        statements_file = self.data_dir / "fs_lrs.jsonl"
        if statements_file.exists():
            for line in statements_file.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    statement_id = json.loads(line).get("id")
                    if statement_id in wanted:
                        by_file[statement_id] += 1
        assert by_api == by_file, "Ralph's API and its file disagree"
        return by_api


@pytest.fixture(scope="session")
def ralph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RalphServer]:
    """A running Ralph LRS for the whole session (started by the launcher, stopped after)."""
    if not LRS_PYTHON.exists():
        reason = f"{LRS_PYTHON} is missing (make test builds it: make .venv-lrs/.installed)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    server = RalphServer(tmp_path_factory.mktemp("ralph") / "data", free_port())
    server.start()
    yield server
    server.stop()
    server.http.close()


@pytest.fixture
def running_ralph(ralph: RalphServer) -> RalphServer:
    """The session's Ralph, started again if a test left it stopped."""
    if ralph.process is None or ralph.process.poll() is not None:
        ralph.start()
    return ralph


def make_statement(statement_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid xAPI 1.0.3 statement (fresh uuid4 id) with ``overrides`` replacing keys."""
    statement: dict[str, Any] = {
        "id": statement_id or str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": HOME_PAGE, "name": "sub-1"}},
        "verb": {"id": COMPLETED, "display": {"en-US": "completed"}},
        "object": {"objectType": "Activity", "id": MODULE_IRI},
        "timestamp": "2026-11-27T10:00:00.000Z",
    }
    statement.update(overrides)
    return statement


@dataclass
class Outbox:
    """An app whose outbox the test fills and reads."""

    app: Flask

    def enqueue(self, statements: Iterable[dict[str, Any]], target: str = TARGET) -> list[int]:
        """Pending rows for ``statements``, due now, as the enqueue side writes them."""
        now = utcnow()
        with self.app.extensions["plugin.db"].session_scope() as session:
            rows = [
                OutboxStatement(
                    statement_id=statement["id"],
                    target=target,
                    verb=statement["verb"]["id"],
                    statement=statement,
                    status=PENDING,
                    created_at=now,
                    next_attempt_at=now,
                )
                for statement in statements
            ]
            session.add_all(rows)
            session.flush()
            return [row.id for row in rows]

    def rows(self, target: str | None = None) -> list[OutboxStatement]:
        """Every outbox row (of ``target``), by id."""
        with self.app.extensions["plugin.db"].sessions() as session:
            query = select(OutboxStatement).order_by(OutboxStatement.id)
            if target is not None:
                query = query.where(OutboxStatement.target == target)
            return list(session.scalars(query))

    def statuses(self) -> Counter[str]:
        """How many rows have each status."""
        return Counter(row.status for row in self.rows())

    def end_leases(self) -> int:
        """Make leased rows due now, as if their lease had run out (time passes)."""
        now = utcnow()
        with self.app.extensions["plugin.db"].session_scope() as session:
            rows = session.scalars(
                select(OutboxStatement).where(
                    OutboxStatement.status == PENDING, OutboxStatement.next_attempt_at > now
                )
            ).all()
            for row in rows:
                row.next_attempt_at = now - timedelta(seconds=1)
            return len(rows)

    def cli(self, *args: str) -> str:
        """Run ``flask --app plugin xapi …``; its output (it must succeed)."""
        result = self.app.test_cli_runner().invoke(args=["xapi", *args])
        assert result.exit_code == 0, result.output
        return result.output


@pytest.fixture
def make_outbox(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Callable[..., Outbox]]:
    """Build apps on their own SQLite database with ``xapi`` settings overrides."""
    apps: list[Flask] = []

    def build(**xapi: Any) -> Outbox:
        folder = tmp_path / f"app-{len(apps)}"
        folder.mkdir()
        database_url = _copy_database(migrated_sqlite, folder)
        application = create_app(app_config(folder, database_url, xapi=xapi))
        apps.append(application)
        return Outbox(application)

    yield build
    for application in apps:
        application.extensions["plugin.db"].dispose()


# A faulty LRS: a loopback HTTP proxy in front of Ralph.

FORWARD = "forward"
FAIL_BEFORE = "fail-before"  # 500 without passing the request on: nothing stored
FAIL_AFTER = "fail-after"  # passed on and stored, then answered 500 all the same
HANG_BEFORE = "hang-before"  # no answer until the client gives up: nothing stored
HANG_AFTER = "hang-after"  # stored, but the answer never comes
HOLD = "hold"  # kept until released (a worker can be killed meanwhile), then passed on


@dataclass
class ProxyLog:
    """What the proxy saw: every POST's statement ids and what it did with it."""

    posts: list[tuple[str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sends(self) -> Counter[str]:
        """How many POSTs carried each statement id."""
        with self.lock:
            return Counter(i for _action, ids in self.posts for i in ids)

    def actions(self) -> Counter[str]:
        """How many POSTs met each action."""
        with self.lock:
            return Counter(action for action, _ids in self.posts)


class FaultyLrs:
    """Passes requests to Ralph, failing or hanging those its ``plan`` picks."""

    def __init__(self, ralph: RalphServer, plan: Callable[[int], str], hang_seconds: float = 3.0):
        self.ralph = ralph
        self.plan = plan
        self.hang_seconds = hang_seconds
        self.log = ProxyLog()
        self.headers: list[dict[str, str]] = []  # of every POST
        self.held = threading.Event()
        self.release = threading.Event()
        # Set once the held request, released, has been answered by Ralph (so Ralph has
        # finished writing it): tests wait for this instead of polling Ralph mid-write.
        self.passed_on = threading.Event()
        self.held_answer: int | None = None  # Ralph's status for the held request
        self.closing = threading.Event()
        self.http = requests.Session()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The proxy's xAPI endpoint."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/xAPI/"

    def __enter__(self) -> FaultyLrs:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.closing.set()
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        self.http.close()

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        """Pass one request on to Ralph; its answer."""
        return self.http.request(
            method, self.ralph.base_url + path, headers=headers, data=body, timeout=30
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                self._pass_on(b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ids = [s.get("id", "") for s in json.loads(body)]
                with proxy.log.lock:
                    index = len(proxy.log.posts)
                    action = proxy.plan(index)
                    proxy.log.posts.append((action, ids))
                    proxy.headers.append(self._headers())
                if action == FAIL_BEFORE:
                    self._answer(500, b'{"detail": "proxy: internal error"}')
                elif action == HANG_BEFORE:
                    proxy.closing.wait(proxy.hang_seconds)
                    self.close_connection = True
                elif action == HOLD:
                    proxy.held.set()
                    proxy.release.wait(60)
                    proxy.held_answer = self._pass_on(body)
                    proxy.passed_on.set()
                else:
                    answer = proxy.forward("POST", self.path, self._headers(), body)
                    if action == FAIL_AFTER:
                        self._answer(500, b'{"detail": "proxy: stored, then failed"}')
                    elif action == HANG_AFTER:
                        proxy.closing.wait(proxy.hang_seconds)
                        self.close_connection = True
                    else:
                        self._answer(answer.status_code, answer.content)

            def _headers(self) -> dict[str, str]:
                wanted = ("Authorization", "Content-Type", "X-Experience-API-Version")
                return {name: self.headers[name] for name in wanted if name in self.headers}

            def _pass_on(self, body: bytes) -> int:
                """Forward to Ralph and relay its answer; Ralph's status (502 if none)."""
                try:
                    answer = proxy.forward(self.command, self.path, self._headers(), body)
                except requests.RequestException:
                    self._answer(502, b'{"detail": "proxy: Ralph is not answering"}')
                    return 502
                self._answer(answer.status_code, answer.content)
                return int(answer.status_code)

            def _answer(self, status: int, content: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except OSError:
                    # The client gave up (a timeout, or a killed worker): nobody to answer.
                    self.close_connection = True

        return Handler


def random_plan(seed: int, weights: dict[str, float]) -> Callable[[int], str]:
    """A plan that picks each POST's action at random by ``weights`` (the rest forward)."""
    rng = random.Random(seed)

    def plan(_index: int) -> str:
        draw = rng.random()
        for action, weight in weights.items():
            if draw < weight:
                return action
            draw -= weight
        return FORWARD

    return plan


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {seconds} s waiting for {what}")
