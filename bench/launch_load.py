"""The launch load driver shared by ``bench/launch.py`` and ``tests/load``.

- :class:`PlatformSimulator` plays the LMS: its own RSA key, its JWKS served by a separate
  local HTTP server process (``python -m bench.launch_load serve-jwks``), and id_tokens it
  signs for the nonce each login hands out.
- :func:`prepare_tool` migrates a fresh database, loads the framework (which creates the demo
  modules) and registers the simulator with its deployment active; :func:`prepare_baseline`
  writes the JSON configuration of the pylti1p3 baseline.
- :class:`GunicornServer` serves either under ``gunicorn -w 2`` and reads the workers' peak
  RSS (``VmHWM``) from ``/proc``.
- :class:`VirtualUser` does what a browser between LMS and tool does: GET ``/lti/login``,
  take the authentication request's state and nonce, POST a freshly signed id_token to the
  ``redirect_uri`` (LTI 1.3 core §5.1.1–5.1.2); then, for the load test, open the module page
  and POST reading progress and the knowledge check, each of which queues xAPI statements.
- :func:`run_closed_loop` (N users, each launching again as soon as it is answered) and
  :func:`run_open_loop` (launches started at a fixed rate, whatever the answers take) measure
  the round trips (login request + launch POST, until the launch response body has arrived).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK

PROJECT_DIR = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LEARNER_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
DEMO_MODULE_KEY = "tw-civil-service-dc.C4-T1"  # a seed module with demo content and a check
START_SECONDS = 60.0
REQUEST_TIMEOUT = 60.0
ITEM_CHOICE = re.compile(r'name="item_(\d+)" value="([^"]+)"')
# The attempt a check answers (the form names it, so a stale form is refused).
ATTEMPT_FIELD = re.compile(r'name="attempt" value="([^"]+)"')


# --- the platform ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformKey:
    """The platform's signing key and the JWK it publishes."""

    private_key: rsa.RSAPrivateKey
    public_jwk: dict[str, Any]

    @classmethod
    def generate(cls) -> PlatformKey:
        """A fresh 2048-bit RSA key (what LMSs use for id_tokens)."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        jwk = JWK.from_pem(pem)
        public = json.loads(jwk.export_public())
        public.update({"kid": jwk.thumbprint(), "alg": "RS256", "use": "sig"})
        return cls(private_key=private, public_jwk=public)

    @property
    def kid(self) -> str:
        """The key id id_tokens name in their header."""
        return str(self.public_jwk["kid"])


class PlatformSimulator:
    """An LMS as far as launches go; its JWKS is served by a process of its own."""

    def __init__(
        self,
        folder: Path,
        client_id: str = "bench-client",
        deployment_id: str = "bench-deployment",
    ) -> None:
        self.folder = folder
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.key = PlatformKey.generate()
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def issuer(self) -> str:
        """The platform's issuer: the origin its JWKS server answers on."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def jwks_url(self) -> str:
        """Where tools fetch the platform's public keys."""
        return self.issuer + "/jwks"

    @property
    def auth_login_url(self) -> str:
        """The platform's OIDC authorization endpoint (the generator answers it itself)."""
        return self.issuer + "/auth"

    @property
    def auth_token_url(self) -> str:
        """The platform's OAuth2 token endpoint (not used by launches)."""
        return self.issuer + "/token"

    def start(self) -> None:
        """Start the JWKS server process and learn its port."""
        self.folder.mkdir(parents=True, exist_ok=True)
        jwks_file = self.folder / "platform-jwks.json"
        jwks_file.write_text(json.dumps({"keys": [self.key.public_jwk]}), encoding="utf-8")
        command = [sys.executable, "-m", "bench.launch_load", "serve-jwks", str(jwks_file)]
        self.process = subprocess.Popen(
            command, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("port "):
            self.stop()
            raise RuntimeError(f"the JWKS server did not start: {line!r}")
        self.port = int(line.split()[1])

    def stop(self) -> None:
        """Stop the JWKS server process."""
        if self.process is not None:
            stop_process(self.process)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None

    def jwks_requests(self) -> int:
        """How many times the JWKS has been fetched so far."""
        response = requests.get(self.issuer + "/stats", timeout=10)
        response.raise_for_status()
        return int(response.json()["jwks_requests"])

    def id_token(self, nonce: str, sub: str, target_link_uri: str, module_key: str = "") -> str:
        """A learner's LtiResourceLinkRequest for ``nonce``, signed RS256 (LTI 1.3 core §5.3)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": sub,
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
            "name": f"Learner {sub}",
            "locale": "zh-TW",
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "version": "1.3.0",
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": target_link_uri,
            LTI + "resource_link": {"id": "bench-link-1", "title": "Generative AI basics"},
            LTI + "roles": [LEARNER_ROLE],
            LTI + "context": {"id": "bench-course-1", "title": "Digital competency"},
            LTI + "tool_platform": {"name": "Bench LMS", "guid": "bench-lms"},
        }
        if module_key:
            claims[LTI + "custom"] = {"module_key": module_key}
        return jwt.encode(
            claims, self.key.private_key, algorithm="RS256", headers={"kid": self.key.kid}
        )


class _JwksHandler(BaseHTTPRequestHandler):
    server: _JwksServer

    def do_GET(self) -> None:
        if self.path == "/jwks":
            with self.server.lock:
                self.server.jwks_requests += 1
            self._answer(self.server.jwks)
        elif self.path == "/stats":
            self._answer(json.dumps({"jwks_requests": self.server.jwks_requests}).encode())
        else:
            self.send_error(404)

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _JwksServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the baseline fetches on every launch, many at once

    def __init__(self, jwks: bytes) -> None:
        super().__init__((LOOPBACK, 0), _JwksHandler)
        self.jwks = jwks
        self.jwks_requests = 0
        self.lock = threading.Lock()


def serve_jwks(jwks_file: Path) -> None:
    """Serve ``jwks_file`` at /jwks (and fetch counts at /stats) until SIGTERM."""
    server = _JwksServer(jwks_file.read_bytes())
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"port {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()


# --- the tool and the baseline, configured ----------------------------------------------


@dataclass(frozen=True)
class ServedApp:
    """What gunicorn serves and the environment it needs."""

    name: str
    app_spec: str
    env: dict[str, str]
    launch_status: int  # the launch POST's expected answer
    module_key: str = ""


def tool_config_text(
    folder: Path,
    port: int,
    secret_key: str,
    database_url: str = "",
    lrs_targets: Sequence[Mapping[str, str]] = (),
    worker_interval_seconds: float = 2.0,
) -> str:
    """The tool's TOML config: development defaults, its own folder, this base URL."""
    lines = [
        'env = "development"',
        f"secret_key = {json.dumps(secret_key)}",
        f"instance_dir = {json.dumps(str(folder))}",
        "[database]",
    ]
    if database_url:
        lines.append(f"url = {json.dumps(database_url)}")
    lines += [
        "[lti]",
        f'base_url = "http://{LOOPBACK}:{port}"',
        "[xapi]",
        f"worker_interval_seconds = {worker_interval_seconds}",
    ]
    for target in lrs_targets:
        lines.append("[[xapi.lrs]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in target.items()]
    lines += ["[log]", 'level = "INFO"', ""]
    return "\n".join(lines)


def prepare_tool_database(
    folder: Path,
    port: int,
    database_url: str = "",
    lrs_targets: Sequence[Mapping[str, str]] = (),
    worker_interval_seconds: float = 2.0,
) -> Path:
    """Write the config, migrate and load the framework, as the CLI commands ``db upgrade``
    and ``framework load`` do; the config file."""
    from plugin import create_app
    from plugin.competencies.framework import load_framework, read_framework_file
    from plugin.core.migrate import upgrade_database

    folder.mkdir(parents=True, exist_ok=True)
    config_file = folder / "config.toml"
    config_file.write_text(
        tool_config_text(
            folder,
            port,
            secrets.token_urlsafe(48),
            database_url,
            lrs_targets,
            worker_interval_seconds,
        ),
        encoding="utf-8",
    )
    app = create_app(str(config_file))
    database = app.extensions["plugin.db"]
    try:
        upgrade_database(database.engine)
        settings = app.extensions["plugin.settings"]
        with database.session_scope() as session:
            load_framework(session, read_framework_file(), settings.framework.iri_base)
    finally:
        database.dispose()
    return config_file


def prepare_tool(
    folder: Path,
    port: int,
    platform: PlatformSimulator,
    database_url: str = "",
    lrs_targets: Sequence[Mapping[str, str]] = (),
    worker_interval_seconds: float = 2.0,
) -> ServedApp:
    """A fresh tool database (:func:`prepare_tool_database`) with the platform registered, as
    ``platform add`` does."""
    from plugin import create_app
    from plugin.lti.registrations import PlatformDetails, register_platform

    config_file = prepare_tool_database(
        folder, port, database_url, lrs_targets, worker_interval_seconds
    )
    app = create_app(str(config_file))
    database = app.extensions["plugin.db"]
    try:
        details = PlatformDetails(
            issuer=platform.issuer,
            client_id=platform.client_id,
            auth_login_url=platform.auth_login_url,
            auth_token_url=platform.auth_token_url,
            key_set_url=platform.jwks_url,
            name="Bench LMS",
        )
        with database.session_scope() as session:
            register_platform(session, details, (platform.deployment_id,))
    finally:
        database.dispose()
    env = server_env({"PLUGIN_CONFIG": str(config_file)})
    return ServedApp("tool", "plugin:create_app()", env, 303, DEMO_MODULE_KEY)


def prepare_baseline(folder: Path, platform: PlatformSimulator) -> ServedApp:
    """The pylti1p3 baseline's JSON configuration (README format) and its key files."""
    folder.mkdir(parents=True, exist_ok=True)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / "private.key").write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "public.key").write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    config = {
        platform.issuer: [
            {
                "default": True,
                "client_id": platform.client_id,
                "auth_login_url": platform.auth_login_url,
                "auth_token_url": platform.auth_token_url,
                "auth_audience": None,
                "key_set_url": platform.jwks_url,
                "key_set": None,
                "private_key_file": "private.key",
                "public_key_file": "public.key",
                "deployment_ids": [platform.deployment_id],
            }
        ]
    }
    config_file = folder / "tool.json"
    config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")
    env = server_env(
        {"BASELINE_TOOL_CONFIG": str(config_file), "BASELINE_SECRET_KEY": secrets.token_hex(32)}
    )
    return ServedApp("baseline", "bench.baseline_pylti1p3_tool:create_app()", env, 200)


def server_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This environment without FLASK_* settings, unbuffered, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


# --- servers ----------------------------------------------------------------------------


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def stop_process(process: subprocess.Popen[Any], timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it has not stopped in ``timeout`` seconds; then reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size (``VmHWM`` in /proc/<pid>/status), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no VmHWM for process {pid}")
    return int(match.group(1)) / 1024


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc/<pid>/stat of every process)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text(encoding="ascii", errors="replace")
        except OSError:
            continue  # the process ended meanwhile
        # The command name is in parentheses and may hold spaces: split after the last one.
        fields = text.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return sorted(children)


class GunicornServer:
    """One app under ``gunicorn -w N -b 127.0.0.1:PORT APP`` (sync workers, the defaults)."""

    def __init__(self, app: ServedApp, port: int, log_path: Path, workers: int = 2) -> None:
        self.app = app
        self.port = port
        self.log_path = log_path
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """Where the server answers."""
        return f"http://{LOOPBACK}:{self.port}"

    def command(self) -> list[str]:
        """The gunicorn command line."""
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(self.workers),
            "-b",
            f"{LOOPBACK}:{self.port}",
            "--chdir",
            str(PROJECT_DIR),
            "--graceful-timeout",
            "5",
            # No control socket in $HOME: two servers of one run (and other runs) would share it.
            "--no-control-socket",
            self.app.app_spec,
        ]

    def start(self) -> None:
        """Start gunicorn and wait until /healthz answers 200 and every worker is up."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                env=self.app.env,
                cwd=PROJECT_DIR,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn ({self.app.name}) exited with {self.process.returncode}:\n"
                    + self.log_tail()
                )
            if len(self.worker_pids()) == self.workers and self._healthy():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"gunicorn ({self.app.name}) did not answer in {START_SECONDS:.0f} s:\n"
            + self.log_tail()
        )

    def _healthy(self) -> bool:
        try:
            return requests.get(self.base_url + "/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's children."""
        return child_pids(self.process.pid) if self.process is not None else []

    def peak_rss_mib(self) -> dict[int, float]:
        """Each worker's peak RSS so far, in MiB."""
        return {pid: peak_rss_mib(pid) for pid in self.worker_pids()}

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log."""
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the master (it stops its workers)."""
        if self.process is not None:
            stop_process(self.process)
            self.process = None


# --- virtual users ----------------------------------------------------------------------


def trust_loopback_cookies(jar: requests.cookies.RequestsCookieJar) -> None:
    """Let ``Secure`` cookies set by http://127.0.0.1 go back to it, as browsers do.

    Browsers treat loopback origins as potentially trustworthy (W3C Secure Contexts §3.2), so
    the tool's ``Secure`` state cookie set on http://127.0.0.1 comes back on the launch POST.
    Python's cookie jar sends ``Secure`` cookies over https only (and requests copies the
    session's cookies into a jar of its default policy for every request), so the flag is
    dropped from loopback cookies once they are stored.
    """
    for cookie in jar:
        if cookie.secure and cookie.domain in (LOOPBACK, "localhost", "localhost.local"):
            cookie.secure = False


class LaunchError(Exception):
    """A response other than the one a working tool gives."""


@dataclass(frozen=True)
class Outcome:
    """One virtual-user iteration."""

    started: float  # monotonic
    launch_seconds: float  # login + launch round trip
    error: str = ""


class VirtualUser:
    """A browser between the platform and a served app, with its own cookie jar."""

    def __init__(
        self, platform: PlatformSimulator, app: ServedApp, base_url: str, *, actions: bool
    ) -> None:
        self.platform = platform
        self.app = app
        self.base_url = base_url
        self.actions = actions
        self.http = requests.Session()

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def iterate(self, sub: str) -> Outcome:
        """Launch as ``sub`` (then do the module's actions if asked); never raises."""
        started = time.monotonic()
        launch_seconds = 0.0
        self.http.cookies.clear()
        try:
            location = self.launch(sub)
            launch_seconds = time.monotonic() - started
            if self.actions:
                self.module_actions(location)
        except (LaunchError, requests.RequestException) as exc:
            return Outcome(started, launch_seconds or time.monotonic() - started, describe(exc))
        return Outcome(started, launch_seconds)

    def launch(self, sub: str) -> str:
        """Login initiation, the platform's answer, the launch POST; where the tool sends
        the browser next (or "" when it answers with a page)."""
        target_link_uri = self.base_url + "/lti/launch"
        login = self.http.get(
            self.base_url + "/lti/login",
            params={
                "iss": self.platform.issuer,
                "login_hint": sub,
                "target_link_uri": target_link_uri,
                "lti_message_hint": "bench",
                "client_id": self.platform.client_id,
                "lti_deployment_id": self.platform.deployment_id,
            },
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT,
        )
        expect(login, 302, "GET /lti/login")
        trust_loopback_cookies(self.http.cookies)
        auth = {k: v[0] for k, v in parse_qs(urlsplit(login.headers["Location"]).query).items()}
        if not auth.get("state") or not auth.get("nonce") or not auth.get("redirect_uri"):
            raise LaunchError(f"GET /lti/login: an authentication request without {auth}")
        # The platform authenticates the user and auto-posts the id_token to redirect_uri
        # (LTI 1.3 core §5.1.1.3, OIDC form post): a cross-site POST from the platform's page.
        id_token = self.platform.id_token(auth["nonce"], sub, target_link_uri, self.app.module_key)
        launch = self.http.post(
            auth["redirect_uri"],
            data={"id_token": id_token, "state": auth["state"]},
            headers={"Origin": self.platform.issuer, "Sec-Fetch-Site": "cross-site"},
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT,
        )
        expect(launch, self.app.launch_status, "POST /lti/launch")
        location = launch.headers.get("Location", "")
        if self.app.module_key and "/lti/module?" not in location:
            raise LaunchError(f"POST /lti/launch: sent to {location or 'nowhere'}, not a module")
        return location

    def module_actions(self, location: str) -> None:
        """Open the module (initialized), read half of it (progressed), answer the check
        (answered, completed, passed or failed, terminated)."""
        page = self.http.get(
            self.base_url + location, allow_redirects=False, timeout=REQUEST_TIMEOUT
        )
        expect(page, 200, "GET /lti/module")
        token = parse_qs(urlsplit(location).query)["lt"][0]
        same_origin = {"Origin": self.base_url, "Sec-Fetch-Site": "same-origin"}
        progress = self.http.post(
            self.base_url + "/lti/module/progress",
            data={"lt": token, "percent": "50"},
            headers=same_origin,
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT,
        )
        expect(progress, 204, "POST /lti/module/progress")
        answers: dict[str, str] = {}
        for item_id, choice in ITEM_CHOICE.findall(page.text):
            answers.setdefault(f"item_{item_id}", choice)  # the first choice of each item
        if not answers:
            raise LaunchError("GET /lti/module: the page has no knowledge check")
        attempt = ATTEMPT_FIELD.search(page.text)
        if attempt is None:
            raise LaunchError("GET /lti/module: the knowledge check names no attempt")
        check = self.http.post(
            self.base_url + "/lti/module/check",
            data={"lt": token, "attempt": attempt.group(1), **answers},
            headers=same_origin,
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT,
        )
        expect(check, 200, "POST /lti/module/check")


def expect(response: requests.Response, status: int, what: str) -> None:
    """Raise :class:`LaunchError` unless ``response`` has ``status``."""
    if response.status_code != status:
        snippet = " ".join(response.text.split())[:300]
        raise LaunchError(f"{what}: {response.status_code} (expected {status}): {snippet}")


def describe(exc: BaseException) -> str:
    """A one-line description of a failed iteration."""
    if isinstance(exc, LaunchError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


# --- load -------------------------------------------------------------------------------


@dataclass
class LoadReport:
    """What one load phase measured."""

    name: str
    mode: str
    seconds: float
    outcomes: list[Outcome] = field(default_factory=list)
    started_late: list[float] = field(default_factory=list)  # open loop: behind schedule, s
    warmup: list[Outcome] = field(default_factory=list)  # closed loop: not measured

    @property
    def every_iteration(self) -> list[Outcome]:
        """The measured iterations and the warm-up's."""
        return self.warmup + self.outcomes

    @property
    def succeeded(self) -> list[Outcome]:
        """The iterations that got every expected answer."""
        return [o for o in self.outcomes if not o.error]

    @property
    def errors(self) -> Counter[str]:
        """How often each error occurred (warm-up included)."""
        return Counter(o.error for o in self.every_iteration if o.error)

    @property
    def error_count(self) -> int:
        """Failed iterations (warm-up included)."""
        return sum(1 for o in self.every_iteration if o.error)

    @property
    def rate(self) -> float:
        """Successful launches per second over the measured window."""
        return len(self.succeeded) / self.seconds if self.seconds > 0 else 0.0

    def percentile_ms(self, fraction: float) -> float:
        """The launch round trip (ms) at ``fraction`` (nearest rank) of successful launches."""
        return percentile([o.launch_seconds for o in self.succeeded], fraction) * 1000

    def summary(self) -> str:
        """One line: rate, p50, p99, errors."""
        line = (
            f"{self.name:<9} {self.mode:<11} {len(self.succeeded):>6} launches in "
            f"{self.seconds:6.1f} s = {self.rate:7.1f}/s   p50 {self.percentile_ms(0.5):7.1f} ms"
            f"   p99 {self.percentile_ms(0.99):7.1f} ms   errors {self.error_count}"
        )
        if self.started_late:
            line += f"   start lag p99 {percentile(self.started_late, 0.99) * 1000:.0f} ms"
        return line


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (0.0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


class SubjectSource:
    """LTI ``sub`` values: a new learner per launch, or a pool of ``pool`` learners in turn."""

    def __init__(self, prefix: str, pool: int = 0) -> None:
        self.prefix = prefix
        self.pool = pool
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def next(self) -> str:
        """The next learner's sub."""
        with self._lock:
            n = next(self._counter)
        return f"{self.prefix}-{n % self.pool if self.pool else n:06d}"


UserFactory = Callable[[], VirtualUser]


def run_closed_loop(
    name: str,
    make_user: UserFactory,
    subjects: SubjectSource,
    users: int,
    seconds: float,
    warmup_seconds: float = 0.0,
) -> LoadReport:
    """``users`` virtual users, each starting its next launch as soon as the last is answered;
    launches started during the warm-up are not counted."""
    began = time.monotonic()
    measure_from = began + warmup_seconds
    stop_at = measure_from + seconds
    outcomes: list[Outcome] = []
    warmup: list[Outcome] = []
    lock = threading.Lock()

    def loop() -> None:
        user = make_user()
        try:
            while time.monotonic() < stop_at:
                outcome = user.iterate(subjects.next())
                with lock:
                    (outcomes if outcome.started >= measure_from else warmup).append(outcome)
        finally:
            user.close()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ended = max((o.started + o.launch_seconds for o in outcomes), default=stop_at)
    window = max(ended, stop_at) - measure_from
    return LoadReport(name, f"closed x{users}", window, outcomes, warmup=warmup)


def run_open_loop(
    name: str,
    make_user: UserFactory,
    subjects: SubjectSource,
    rate: float,
    seconds: float,
    max_in_flight: int = 64,
    finish_timeout: float = 60.0,
) -> LoadReport:
    """Start ``rate`` iterations per second for ``seconds`` on schedule, whatever the answers
    take (at most ``max_in_flight`` at once: beyond that, starts fall behind and the lag is
    reported); then wait up to ``finish_timeout`` for those still running."""
    total = max(1, round(rate * seconds))
    local = threading.local()
    made: list[VirtualUser] = []
    made_lock = threading.Lock()
    lags: list[float] = []

    def user() -> VirtualUser:
        if not hasattr(local, "user"):
            local.user = make_user()
            with made_lock:
                made.append(local.user)
        return local.user

    def one(scheduled: float) -> Outcome:
        lag = time.monotonic() - scheduled
        with made_lock:
            lags.append(max(0.0, lag))
        return user().iterate(subjects.next())

    began = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="vu")
    try:
        futures = []
        for n in range(total):
            scheduled = began + n / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one, scheduled))
        deadline = time.monotonic() + finish_timeout
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result(timeout=max(0.0, deadline - time.monotonic())))
            except TimeoutError:
                outcomes.append(Outcome(time.monotonic(), 0.0, "not finished in time"))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for made_user in made:
        made_user.close()
    return LoadReport(
        name, f"open {rate:.1f}/s", time.monotonic() - began, outcomes, started_late=lags
    )


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m bench.launch_load serve-jwks FILE``: the platform's JWKS server."""
    parser = argparse.ArgumentParser(description="Helpers of the launch load driver.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve-jwks", help="Serve a JWKS file on a free loopback port.")
    serve.add_argument("jwks_file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "serve-jwks":
        serve_jwks(args.jwks_file)


if __name__ == "__main__":
    main()
