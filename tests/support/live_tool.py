"""The tool served by ``flask run`` with the sandbox platform on a different site, as the
browser tests open it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.net import free_port

SERVER_START_SECONDS = 60
PROJECT_DIR = Path(__file__).resolve().parents[2]


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


def server_env(config_file: Path) -> dict[str, str]:
    """The environment of the server: our config, this checkout's code, no debug or reloader."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env["PLUGIN_CONFIG"] = str(config_file)
    env["PYTHONUNBUFFERED"] = "1"
    # The server runs from its instance folder, where ``plugin`` would be whatever checkout the
    # virtualenv's editable install names: this checkout's own code comes first.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PROJECT_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return env


def flask_command(*args: str) -> list[str]:
    """``python -m flask --app plugin <args>``."""
    return [sys.executable, "-m", "flask", "--app", "plugin", *args]


def _prepare_database(env: dict[str, str], cwd: Path) -> None:
    """``db upgrade`` and ``framework load``, as ``make run`` does before serving."""
    for command in (flask_command("db", "upgrade"), flask_command("framework", "load")):
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
        except OSError:
            # Refused, reset, or a read timed out while the server still starts: poll again.
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


def import_into(instance_dir: Path, package: Path, module_key: str) -> None:
    """``flask content import PACKAGE --module KEY`` against the instance's database, as an
    operator would run it beside the server."""
    imported = subprocess.run(
        flask_command("content", "import", str(package), "--module", module_key),
        env=server_env(instance_dir / "config.toml"), cwd=instance_dir,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stdout + imported.stderr


@contextmanager
def serving_tool(instance_dir: Path, extra_config: str = "") -> Iterator[LiveTool]:
    """The real tool on 127.0.0.1 and its sandbox platform on localhost (two sites, one port),
    its database migrated and seeded as ``make run`` does; ``extra_config`` is added TOML."""
    port = free_port()
    config_file = instance_dir / "config.toml"
    config_file.write_text(_tool_config(instance_dir, port) + extra_config, encoding="utf-8")
    env = server_env(config_file)
    _prepare_database(env, instance_dir)
    live = LiveTool(
        tool_url=f"http://127.0.0.1:{port}",
        platform_url=f"http://localhost:{port}",
        instance_dir=instance_dir,
        log_file=instance_dir / "server.log",
    )
    with live.log_file.open("wb") as log:
        server = subprocess.Popen(
            flask_command("run", "--host", "127.0.0.1", "--port", str(port)),
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
