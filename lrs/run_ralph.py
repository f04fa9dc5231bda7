"""Start a local Ralph LRS (file backend) for development and tests, with one start-up fix.

Run it with the Python of ``.venv-lrs`` (Ralph's pinned versions clash with the tool's own
venv), e.g. ``.venv-lrs/bin/python lrs/run_ralph.py --data-dir instance/lrs
--credentials-file instance/xapi_lrs_credentials.json``. It:

1. points every file Ralph writes (statements, history, auth file) into ``--data-dir``, and
   stays on 127.0.0.1 unless told otherwise;
2. writes Ralph's auth file for one Basic-auth user whose name and password come from
   ``--credentials-file`` (the JSON the tool's development config generates) or from the
   environment variables ``LRS_USERNAME`` and ``LRS_PASSWORD`` — never from the command line,
   where other users could read them;
3. patches the file backend to append (see :func:`patch_ralph`), then serves Ralph's app with
   uvicorn in this process (``ralph runserver`` would start uvicorn's auto-reloader instead).

The module imports nothing from Ralph at import time, so tests can import
:func:`patch_ralph` and the helpers from the tool's venv; only :func:`main` needs Ralph.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8100
STATEMENTS_FILE = "fs_lrs.jsonl"
AUTH_FILE = "auth.json"
HISTORY_FILE = "history.json"
# What the tool's user may do: write statements and read them back (for checks and tests).
SCOPES = ("statements/write", "statements/read")
AGENT_HOME_PAGE = "http://127.0.0.1/"


def ralph_environment(data_dir: Path, host: str, port: int) -> dict[str, str]:
    """The environment variables that keep Ralph's files in ``data_dir`` (read at import)."""
    data_dir = data_dir.resolve()
    return {
        "RALPH_APP_DIR": str(data_dir),
        "RALPH_AUTH_FILE": str(data_dir / AUTH_FILE),
        "RALPH_HISTORY_FILE": str(data_dir / HISTORY_FILE),
        "RALPH_RUNSERVER_BACKEND": "fs",
        "RALPH_RUNSERVER_HOST": host,
        "RALPH_RUNSERVER_PORT": str(port),
        "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(data_dir),
        "RALPH_BACKENDS__LRS__FS__DEFAULT_LRS_FILE": STATEMENTS_FILE,
    }


def read_credentials(credentials_file: Path | None) -> tuple[str, str]:
    """The user name and password from the JSON file, else from LRS_USERNAME/LRS_PASSWORD."""
    if credentials_file is not None:
        data = json.loads(credentials_file.read_text(encoding="utf-8"))
        username, password = data.get("username"), data.get("password")
    else:
        username, password = os.environ.get("LRS_USERNAME"), os.environ.get("LRS_PASSWORD")
    if not isinstance(username, str) or not username:
        raise SystemExit("run_ralph: no LRS user name (--credentials-file or LRS_USERNAME)")
    if not isinstance(password, str) or not password:
        raise SystemExit("run_ralph: no LRS password (--credentials-file or LRS_PASSWORD)")
    return username, password


def auth_entry(username: str, password_hash: str) -> dict[str, Any]:
    """One user of Ralph's auth file (the shape ``ralph auth --write-to-disk`` writes)."""
    return {
        "agent": {
            "objectType": "Agent",
            "account": {"name": username, "homePage": AGENT_HOME_PAGE},
        },
        "scopes": list(SCOPES),
        "target": None,
        "hash": password_hash,
        "username": username,
    }


def write_auth_file(path: Path, username: str, password: str) -> None:
    """Write Ralph's auth file for one user, readable by its owner only."""
    import bcrypt  # Ralph's own dependency: only in .venv-lrs

    password_hash = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump([auth_entry(username, password_hash)], handle)


def patch_ralph() -> None:
    """Make Ralph 5.1.0's file LRS backend append statements instead of creating the file.

    The statements router calls ``BACKEND_CLIENT.write(...)`` without an ``operation_type``,
    so the backend's default applies; ``FSDataBackend`` defaults to ``CREATE``, which refuses
    to write to an existing file. Every statement lives in one file (``fs_lrs.jsonl``), so
    every POST after the first fails with HTTP 500 "already exists". Appending is what an LRS
    needs (xAPI 1.0.3 Communication §2.1.2: POST adds statements). Only the LRS backend's
    default changes; Ralph's CLI data backend keeps its own.
    """
    from ralph.backends.data.base import BaseOperationType
    from ralph.backends.lrs.fs import FSLRSBackend

    FSLRSBackend.default_operation_type = BaseOperationType.APPEND


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description="Run a local Ralph LRS (file backend).")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--data-dir", type=Path, required=True, help="Where statements go.")
    parser.add_argument(
        "--credentials-file",
        type=Path,
        default=None,
        help='JSON {"username": …, "password": …}; else LRS_USERNAME and LRS_PASSWORD.',
    )
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Configure, patch and serve Ralph until stopped (SIGTERM or Ctrl-C)."""
    args = parse_args(argv)
    username, password = read_credentials(args.credentials_file)
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    environment = ralph_environment(data_dir, args.host, args.port)
    os.environ.update(environment)
    # Ralph's settings also read a ".env" file from the working directory: use the data
    # directory, so that no stray .env changes the LRS.
    os.chdir(data_dir)
    write_auth_file(Path(environment["RALPH_AUTH_FILE"]), username, password)

    import uvicorn

    patch_ralph()
    from ralph.api import app

    print(
        f"Ralph LRS on http://{args.host}:{args.port}/xAPI/ (data: {data_dir})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)


if __name__ == "__main__":
    main()
