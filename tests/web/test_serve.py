"""The tool starts as a real HTTP server from a config file and answers /healthz."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_json(url: str, deadline: float) -> dict[str, object]:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.load(response)
        except OSError:  # refused, reset or timed out while the server starts
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_server_started_from_the_example_config_answers_healthz(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text((PROJECT_DIR / "config.example.toml").read_text(encoding="utf-8"))
    port = free_port()
    env = {**os.environ, "PLUGIN_CONFIG": str(config)}
    flask = [sys.executable, "-m", "flask", "--app", "plugin"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    server = subprocess.Popen(
        [*flask, "run", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        body = wait_for_json(f"http://127.0.0.1:{port}/healthz", time.monotonic() + 60)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert body["status"] == "ok"
    assert body["database"] == {"reachable": True}
    assert (tmp_path / "plugin.sqlite3").exists()
    assert (tmp_path / "secret_key").exists()
