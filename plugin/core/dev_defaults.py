"""What `env = "development"` fills in by itself: a generated secret, the ports `make run`
serves on, and the local Ralph LRS's credentials, each kept in the instance folder."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from plugin.core.errors import ConfigError

SECRET_KEY_FILE = "secret_key"
# The sandbox platform answers on "localhost" and the tool on "127.0.0.1": two different
# sites, so the tool runs in a third-party iframe exactly as it does inside a real LMS. The
# ports are those `make run PORT=… LRS_PORT=…` serves on, passed in these variables, so the
# tool's URL, the sandbox's and the local LRS endpoint always follow them together.
DEV_PORT_VARIABLE = "PLUGIN_DEV_PORT"
DEV_LRS_PORT_VARIABLE = "PLUGIN_DEV_LRS_PORT"
DEV_PORT = 5000
DEV_LRS_PORT = 8100
# Development LRS: the Ralph that `make run` starts (lrs/run_ralph.py) when no [[xapi.lrs]] is
# configured. Its credentials are generated once into the instance folder, like the secret,
# and `make run` gives the same file to Ralph.
DEV_LRS_NAME = "local-ralph"
DEV_LRS_USERNAME = "tool"
LRS_CREDENTIALS_FILE = "xapi_lrs_credentials.json"


def dev_port(variable: str, default: int) -> int:
    """The development port named by the environment ``variable``, else ``default``."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 65535):
        raise ConfigError(f"environment variable {variable} must be a port (1-65535), got {raw!r}")
    return int(raw)


def development_tool_url() -> str:
    """The tool's own URL under `make run`."""
    return f"http://127.0.0.1:{dev_port(DEV_PORT_VARIABLE, DEV_PORT)}"


def development_sandbox_url() -> str:
    """The sandbox LMS's URL under `make run`: another site than the tool's."""
    return f"http://localhost:{dev_port(DEV_PORT_VARIABLE, DEV_PORT)}"


def development_lrs_endpoint() -> str:
    """The local Ralph's xAPI endpoint, on the port `make run` gave it."""
    return f"http://127.0.0.1:{dev_port(DEV_LRS_PORT_VARIABLE, DEV_LRS_PORT)}/xAPI/"


def development_lrs_credentials(instance_dir: Path) -> tuple[str, str]:
    """The local Ralph's (username, password), read from (or first written to) the instance
    folder."""
    credentials_file = instance_dir / LRS_CREDENTIALS_FILE
    if not credentials_file.exists():
        username, password = DEV_LRS_USERNAME, secrets.token_urlsafe(24)
        write_private(credentials_file, json.dumps({"username": username, "password": password}))
        return username, password
    try:
        data = json.loads(credentials_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("username"), str)
        and isinstance(data.get("password"), str)
    ):
        raise ConfigError(
            f"{credentials_file}: not the generated LRS credentials "
            '({"username": …, "password": …}); delete it to generate new ones'
        )
    return data["username"], data["password"]


def write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only, then write ``text`` (fails if it exists)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def development_secret(instance_dir: Path) -> str:
    """Read the generated development secret, creating it on first use (owner-only: the
    secret signs sessions and tokens)."""
    secret_file = instance_dir / SECRET_KEY_FILE
    if secret_file.exists():
        return secret_file.read_text(encoding="utf-8").strip()
    secret = secrets.token_urlsafe(48)
    write_private(secret_file, secret)
    return secret
