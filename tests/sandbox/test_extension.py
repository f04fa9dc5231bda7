"""The sandbox is an extension found by name: the product neither imports nor needs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from plugin import create_app
from tests.support.app import app_config


def test_the_product_runs_without_importing_the_sandbox(tmp_path: Path) -> None:
    # A production install has neither the sandbox package nor lti1p3platform loaded.
    script = (
        "import sys\n"
        "from plugin import create_app\n"
        "import plugin.models, plugin.cli\n"
        f"app = create_app({{'env': 'development', 'secret_key': 's' * 64,"
        f" 'instance_dir': {str(tmp_path)!r}}})\n"
        "app.test_cli_runner().invoke(args=['db', 'upgrade'])\n"
        "roots = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(roots & {'sandbox', 'lti1p3platform'}))\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert answer.stdout.strip() == "[]", answer.stderr


def test_a_missing_sandbox_package_stops_start_up_by_name(tmp_path: Path) -> None:
    config = app_config(
        tmp_path, "sqlite://", sandbox={"enabled": True, "module": "no_such_sandbox_package"}
    )
    with pytest.raises(RuntimeError, match=r"sandbox\.enabled needs the package"):
        create_app(config)


def test_the_sandbox_package_attaches_its_routes_only_when_enabled(tmp_path: Path) -> None:
    enabled = create_app(app_config(tmp_path, "sqlite://", sandbox={"enabled": True}))
    disabled = create_app(app_config(tmp_path, "sqlite://"))
    assert "sandbox" in enabled.blueprints and "sandbox" not in disabled.blueprints
    style = enabled.test_client().get(
        "/sandbox/static/sandbox.css", base_url="http://localhost:5000"
    )
    assert style.status_code == 200 and style.mimetype == "text/css"
    style.close()
    assert disabled.test_client().get("/sandbox/static/sandbox.css").status_code == 404
