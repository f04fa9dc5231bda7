"""A real Ralph LRS for delivery tests, and a faulty proxy in front of it.

Ralph runs from ``.venv-lrs`` (``make test`` builds it) through ``lrs/run_ralph.py`` on a
free loopback port with its own data folder and credentials, once per test session (the
``ralph`` fixture in tests/conftest.py). Without ``.venv-lrs`` the tests that need Ralph are
skipped with the reason, except under ``CI=true``, where that is a failure; if Ralph is there
but does not start, they fail.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.net import free_port

PROJECT_DIR = Path(__file__).resolve().parents[2]
LRS_PYTHON = PROJECT_DIR / ".venv-lrs" / "bin" / "python"
LAUNCHER = PROJECT_DIR / "lrs" / "run_ralph.py"
TARGET = "ralph"
START_SECONDS = 60.0


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


def start_ralph(data_dir: Path) -> RalphServer:
    """A Ralph started on a free port with its data in ``data_dir``; a skip when ``.venv-lrs``
    is missing (a failure under ``CI=true``, where it must be there)."""
    if not LRS_PYTHON.exists():
        reason = f"{LRS_PYTHON} is missing (make test builds it: make .venv-lrs/.installed)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    server = RalphServer(data_dir, free_port())
    server.start()
    return server
