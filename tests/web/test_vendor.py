"""``/vendor/``: only the allow-listed files npm installed, as JavaScript; nothing else."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from plugin.web.vendor import SERVED_FILES, vendor_file

SERVED = sorted(SERVED_FILES)


@pytest.mark.parametrize(("package", "name"), SERVED)
def test_each_allow_listed_file_is_served_as_javascript_with_its_installed_bytes(
    client: FlaskClient, package: str, name: str
) -> None:
    path = vendor_file(package, name)
    if path is None:
        pytest.skip(f"node_modules/{SERVED_FILES[(package, name)]} is not installed (run make)")
    response = client.get(f"/vendor/{package}/{name}")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data == path.read_bytes()
    response.close()


@pytest.mark.parametrize(
    "url",
    [
        "/vendor/axe-core/package.json",  # installed beside axe.min.js, but not listed
        "/vendor/axe-core/axe.js",
        "/vendor/axe-core/",
        "/vendor/../pyproject.toml",
        "/vendor/%2E%2E/pyproject.toml",
        "/vendor/axe-core/..%2F..%2Fpyproject.toml",
        "/vendor/axe-core/%2E%2E%2Fpackage.json",
        "/vendor/left-pad/index.js",  # a package that is not listed at all
        "/vendor/@xapi/cmi5/dist/Cmi5.umd.js",  # the file's place in node_modules, not its URL
        "/vendor/AXE-CORE/axe.min.js",
    ],
)
def test_anything_else_under_vendor_is_not_found(client: FlaskClient, url: str) -> None:
    response = client.get(url, headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    # The error page, not the file: neither pyproject.toml's tables nor package.json's keys.
    assert b"[project]" not in response.data and b'"version"' not in response.data


def test_a_file_outside_the_allow_list_is_not_a_vendor_file() -> None:
    assert vendor_file("axe-core", "package.json") is None
    assert vendor_file("..", "pyproject.toml") is None
    assert vendor_file("axe-core", "../../pyproject.toml") is None
