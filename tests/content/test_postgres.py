"""On PostgreSQL (lengths and 64-bit sizes enforced, unlike SQLite): packages import as
versions, and a refused one leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from tests.content.packages import build_zip, scorm12, scorm2004
from tests.support.content import row_counts, stored_files

pytestmark = pytest.mark.postgres


def test_packages_import_as_versions_and_a_refused_one_leaves_nothing(
    pg_app: Flask, tmp_path: Path
) -> None:
    runner = pg_app.test_cli_runner()
    created = runner.invoke(args=["content", "import", str(scorm2004(tmp_path / "a.zip"))])
    assert created.exit_code == 0, created.output
    key = created.output.split("\t")[0]
    again = runner.invoke(
        args=["content", "import", str(scorm12(tmp_path / "b.zip")), "--module", key]
    )
    assert again.exit_code == 0 and "\tversion 2\t" in again.output, again.output
    files = stored_files(pg_app)

    refused = runner.invoke(
        args=[
            "content",
            "import",
            str(build_zip(tmp_path / "c.zip", {"x.au": "x"})),
            "--module",
            key,
        ]
    )

    assert refused.exit_code == 1 and "AICC" in refused.output
    assert row_counts(pg_app) == (2, 4) and stored_files(pg_app) == files
