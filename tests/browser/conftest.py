"""Real-browser fixtures: Debian's Chromium driven by Playwright, third-party cookies blocked,
and the tool served by ``flask run`` with the sandbox platform on a different site.

One browser and one server serve the whole session. Without Chromium (and no way to install
it) the browser tests are skipped with the reason shown, except under ``CI=true``, where that
is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

PROJECT_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = PROJECT_DIR / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
# The flags every browser test runs with. Playwright adds its own automation switches
# (--remote-debugging-pipe, --user-data-dir, …); nothing here loosens cookie rules.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Third-party cookies are blocked by the profile's own setting, exactly what a person sets at
# chrome://settings/cookies ("Block third-party cookies"): cookie_controls_mode 1 is
# kBlockThirdParty (0 allows them, 2 blocks them in Incognito only).
# block_third_party_cookies is the older name of the same preference, kept for older builds.
# Written before launch into the fresh profile of a persistent context; Chromium reports a
# cookie refused this way with the blocked reason "UserPreferences". Debian's Chromium 156
# happens to block them already in a fresh profile and in Playwright's off-the-record
# new_context(), but defaults differ between builds and versions (Chrome's allows them), so
# the setting is explicit, and a test shows that mode 0 lets the same cookie through.
BLOCK_THIRD_PARTY_PREFS = {
    "profile": {"cookie_controls_mode": 1, "block_third_party_cookies": True}
}
ALLOW_THIRD_PARTY_PREFS = {
    "profile": {"cookie_controls_mode": 0, "block_third_party_cookies": False}
}
VIEWPORT = {"width": 1280, "height": 900}
PHONE_VIEWPORT = {"width": 390, "height": 844}
SERVER_START_SECONDS = 60
APT_TIMEOUT_SECONDS = 900
# A small Debian font with Traditional Chinese glyphs, for legible screenshots.
CJK_FONT_PACKAGE = "fonts-wqy-microhei"


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail under ``CI=true`` where the browser must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def apt_get(*commands: list[str]) -> str:
    """Run apt-get commands in turn as root; an empty string, or why one failed."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available on this machine"
    if os.geteuid() != 0:
        return "apt-get needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in commands:
        try:
            result = subprocess.run(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=APT_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"`{' '.join(command)}` did not finish in {APT_TIMEOUT_SECONDS} s"
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip().splitlines()[-5:]
            return f"`{' '.join(command)}` exited {result.returncode}: " + " | ".join(output)
    return ""


def install_chromium() -> str:
    """Install Debian's ``chromium`` with apt-get; an empty string, or why it failed."""
    problem = apt_get(["apt-get", "update"], ["apt-get", "install", "-y", "chromium"])
    if problem:
        return f"{problem} (as root: apt-get update && apt-get install -y chromium)"
    if not CHROMIUM.exists():
        return f"apt-get installed chromium but {CHROMIUM} is still missing"
    return ""


def has_cjk_font() -> bool:
    """True when fontconfig knows a font for Traditional Chinese."""
    if shutil.which("fc-list") is None:
        return False
    result = subprocess.run(
        ["fc-list", ":lang=zh-tw", "family"], capture_output=True, text=True, check=False
    )
    return bool(result.stdout.strip())


def ensure_cjk_font() -> None:
    """Best effort: a CJK font, so zh-TW text in screenshots is legible (not boxes).

    Only the pictures need it (the tests read the DOM), so a failed install changes no result.
    """
    if has_cjk_font():
        return
    install = ["apt-get", "install", "-y", "--no-install-recommends", CJK_FONT_PACKAGE]
    if apt_get(install):
        apt_get(["apt-get", "update"], install)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium, installed with apt-get on first use in a session if missing."""
    if not CHROMIUM.exists():
        problem = install_chromium()
        if problem:
            unavailable(f"Chromium missing at {CHROMIUM} and could not be installed: {problem}")
    ensure_cjk_font()
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    """The Playwright driver for the session (no browsers of its own are used)."""
    manager = sync_playwright()
    driver = manager.start()
    try:
        yield driver
    finally:
        driver.stop()


def write_profile(user_data_dir: Path, preferences: dict[str, Any]) -> None:
    """Write ``preferences`` as the Default profile's Preferences of a new user data dir."""
    profile = user_data_dir / "Default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "Preferences").write_text(json.dumps(preferences), encoding="utf-8")


def launch_chromium(
    driver: Playwright, executable: Path, user_data_dir: Path, preferences: dict[str, Any]
) -> BrowserContext:
    """Chromium on a fresh profile holding ``preferences``, as a persistent context."""
    write_profile(user_data_dir, preferences)
    try:
        return driver.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=str(executable),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport=VIEWPORT,
            locale="zh-TW",
        )
    except PlaywrightError as exc:
        unavailable(f"Chromium at {executable} did not start: {exc.message.splitlines()[0]}")


@pytest.fixture(scope="session")
def browser_context(
    playwright_driver: Playwright,
    chromium_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BrowserContext]:
    """The session's Chromium, third-party cookies blocked, on an empty profile of its own."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    context = launch_chromium(playwright_driver, chromium_path, profile, BLOCK_THIRD_PARTY_PREFS)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Iterator[Page]:
    """A new tab with no cookies left over from other tests; closed afterwards.

    Every test using it also proves the pages keep to the Content Security Policy: Chromium
    reports each refused script, style or frame on the console, and any such report fails it.
    """
    browser_context.clear_cookies()
    tab = browser_context.new_page()
    violations: list[str] = []
    tab.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        yield tab
    finally:
        tab.close()
    assert not violations, f"the page broke its Content Security Policy: {violations}"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots go: ``test-artifacts/browser/`` in the project (git-ignored)."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


@dataclass(frozen=True)
class LiveTool:
    """The tool served by ``flask run``; the sandbox platform is the same server on localhost."""

    tool_url: str
    platform_url: str
    instance_dir: Path
    log_file: Path

    def sandbox(self, role: str) -> str:
        """The sandbox course page as ``role`` (learner, designer or admin)."""
        return f"{self.platform_url}/sandbox?as={role}"

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        text = self.log_file.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _tool_config(instance_dir: Path, port: int) -> str:
    """The server's TOML config: development, its own instance folder, the sandbox on."""
    return "\n".join(
        [
            'env = "development"',
            f"instance_dir = {json.dumps(str(instance_dir))}",
            "[lti]",
            f'base_url = "http://127.0.0.1:{port}"',
            "[sandbox]",
            "enabled = true",
            f'platform_url = "http://localhost:{port}"',
            "[log]",
            'level = "INFO"',
            "",
        ]
    )


def _server_env(config_file: Path) -> dict[str, str]:
    """The environment of the server: our config, no debug mode or reloader."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env["PLUGIN_CONFIG"] = str(config_file)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "plugin", *args]


def _prepare_database(env: dict[str, str], cwd: Path) -> None:
    """``db upgrade`` and ``framework load``, as ``make run`` does before serving."""
    for command in (_flask("db", "upgrade"), _flask("framework", "load")):
        result = subprocess.run(
            command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            pytest.fail(
                f"`{' '.join(command[2:])}` exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}",
                pytrace=False,
            )


def _wait_for_health(url: str, server: subprocess.Popen[bytes], live: LiveTool) -> None:
    """Poll /healthz until it answers 200, or fail with the server's log."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        if server.poll() is not None:
            pytest.fail(
                f"the tool server exited with {server.returncode}:\n{live.log_tail()}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(
                f"{url} did not answer in {SERVER_START_SECONDS} s:\n{live.log_tail()}",
                pytrace=False,
            )
        time.sleep(0.2)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Terminate the server, and kill it if it does not stop in time."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@contextmanager
def serve_tool(instance_dir: Path) -> Iterator[LiveTool]:
    """The real tool on 127.0.0.1 and its sandbox platform on localhost: two sites, one port,
    its database in ``instance_dir``; stopped on leaving."""
    port = free_port()
    config_file = instance_dir / "config.toml"
    config_file.write_text(_tool_config(instance_dir, port), encoding="utf-8")
    env = _server_env(config_file)
    _prepare_database(env, instance_dir)
    live = LiveTool(
        tool_url=f"http://127.0.0.1:{port}",
        platform_url=f"http://localhost:{port}",
        instance_dir=instance_dir,
        log_file=instance_dir / "server.log",
    )
    with live.log_file.open("wb") as log:
        server = subprocess.Popen(
            _flask("run", "--host", "127.0.0.1", "--port", str(port)),
            env=env,
            cwd=instance_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for_health(f"{live.tool_url}/healthz", server, live)
            yield live
        finally:
            _stop(server)


@pytest.fixture(scope="session")
def live_tool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveTool]:
    """The tool and its sandbox for the whole session."""
    with serve_tool(tmp_path_factory.mktemp("live-tool")) as live:
        yield live
