"""``flask --app plugin content import``: a new module from a package, or a new version."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from plugin.competencies.modules import get_module
from plugin.content.services import package_versions
from tests.content.packages import build_zip, scorm12, scorm2004
from tests.support.content import row_counts, stored_files
from tests.support.designer import count_modules


def test_import_without_a_module_creates_one_titled_from_the_manifest_and_prints_its_key(
    app: Flask, tmp_path: Path
) -> None:
    result = app.test_cli_runner().invoke(
        args=["content", "import", str(scorm2004(tmp_path / "course.zip"))]
    )

    assert result.exit_code == 0, result.output
    key, version, scorm, scos, title = result.output.strip().split("\t")
    assert (version, scorm, scos) == ("version 1", "SCORM 2004-4", "2 SCO(s)")
    with app.extensions["plugin.db"].session_scope() as session:
        module = get_module(session, key)
        assert module.title_zh == module.title_en == title == "資安意識 Security awareness"
        assert module.kind == "scorm" and module.organisation_id is not None


def test_import_with_a_module_adds_a_version_to_it(
    app: Flask, module_key: str, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    for name in ("one.zip", "two.zip"):
        upload = scorm12(tmp_path / name)
        result = runner.invoke(args=["content", "import", str(upload), "--module", module_key])
        assert result.exit_code == 0, result.output

    assert result.output.startswith(f"{module_key}\tversion 2\tSCORM 1.2\t1 SCO(s)")
    with app.extensions["plugin.db"].session_scope() as session:
        assert len(package_versions(session, get_module(session, module_key))) == 2


def test_a_refused_package_prints_why_and_creates_no_module(app: Flask, tmp_path: Path) -> None:
    upload = build_zip(tmp_path / "aicc.zip", {"course.au": "x", "course.crs": "x"})
    before = count_modules(app)

    result = app.test_cli_runner().invoke(args=["content", "import", str(upload)])

    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "AICC course files (course.au, course.crs)" in result.output
    assert count_modules(app) == before and row_counts(app) == (0, 0) and stored_files(app) == []
