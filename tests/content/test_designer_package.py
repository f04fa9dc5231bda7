"""The designer's SCORM pages through real launches: upload as a new module or a new version,
versions with their SCOs and mastery score, the original zip, the package's files; refusals in
the page's language; another organisation's designer reaches none of it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from plugin.competencies.framework import get_framework
from plugin.competencies.modules import create_module, get_module
from plugin.content.runtime_models import RuntimeAttempt
from plugin.content.services import import_package, limits_for, package_versions, storage_for
from plugin.organisations.services import create_organisation
from tests.content.packages import SCO_PAGE, build_zip, raw_zip, scorm12, scorm2004
from tests.support.app import IRI_BASE
from tests.support.content import row_counts, storage_dir, stored_files
from tests.support.designer import (
    SEED_MODULE,
    Tool,
    copy_of,
    count_modules,
    resource_launch,
    text,
    token_of,
)
from tests.support.flows import Flow
from tests.support.platform import LTI, ROLE
from tests.support.scorm import open_player


@pytest.fixture
def designer(flow: Flow) -> Tool:
    """A course designer's launch (LTI role Instructor)."""
    return resource_launch(flow, "Instructor")


def ancestors_of(policy: str) -> list[str]:
    """The sources of a policy's frame-ancestors directive."""
    directive = next(d for d in policy.split("; ") if d.startswith("frame-ancestors "))
    return directive.split()[1:]


def upload(tool: Tool, path: str, package: Path) -> TestResponse:
    """POST ``package`` as the form's file field."""
    with package.open("rb") as stream:
        return tool.post(path, {"package": (stream, package.name)})


def created_module(response: TestResponse) -> str:
    """The module key in the redirect after a new module was made from a package."""
    assert response.status_code == 303, text(response)
    location = response.headers["Location"]
    assert "created=1" in location
    return location.split("/designer/modules/")[1].split("/")[0]


def test_a_package_uploaded_as_a_new_module_shows_its_version_scos_and_mastery_score(
    designer: Tool, app: Flask, tmp_path: Path
) -> None:
    response = upload(designer, "/designer/packages/new", scorm2004(tmp_path / "course.zip"))
    key = created_module(response)
    page = text(designer.follow(response))

    with app.extensions["plugin.db"].session_scope() as session:
        module = get_module(session, key)
        assert module.kind == "scorm" and module.title_en == "資安意識 Security awareness"
    assert "SCORM 2004" in page and "資安意識 Security awareness" in page
    for href in ("content/a/index.html", "content/b/index.html?x=1", "content/glossary.html"):
        assert href in page
    assert page.count("70%") == 3  # the version's mastery score and each SCO's
    assert "course.zip" in page


def test_uploading_again_adds_a_version_and_each_original_can_be_downloaded(
    designer: Tool, app: Flask, tmp_path: Path
) -> None:
    first = scorm12(tmp_path / "first.zip")
    key = created_module(upload(designer, "/designer/packages/new", first))
    second = scorm2004(tmp_path / "second.zip")

    response = upload(designer, f"/designer/modules/{key}/package", second)

    assert response.status_code == 303 and "uploaded=2" in response.headers["Location"]
    page = text(designer.follow(response))
    assert "first.zip" in page and "second.zip" in page
    for number, original in ((1, first), (2, second)):
        download = designer.get(f"/designer/modules/{key}/package/{number}/original.zip")
        assert download.status_code == 200 and download.mimetype == "application/zip"
        assert download.data == original.read_bytes()
        assert f"filename={original.name}" in download.headers["Content-Disposition"]
        download.close()  # the file's handle


def test_a_refused_upload_says_why_in_the_pages_language_naming_the_field_and_stores_nothing(
    designer: Tool, app: Flask, tmp_path: Path
) -> None:
    modules = count_modules(app)
    bad = raw_zip(tmp_path / "bad.zip", {"../../evil.html": b"<script>", "imsmanifest.xml": b"x"})

    response = upload(designer, "/designer/packages/new", bad)

    page = text(response)
    assert response.status_code == 400
    assert "套件檔（.zip）：" in page and "「../../evil.html」" in page and "「..」路徑段" in page
    assert 'aria-invalid="true"' in page
    assert count_modules(app) == modules and row_counts(app) == (0, 0) and stored_files(app) == []


def test_an_english_launch_is_told_why_in_english(flow: Flow, app: Flask, tmp_path: Path) -> None:
    sub = {"sub": "designer-en", "locale": "en"}
    response = flow.complete(**{LTI + "roles": [ROLE + "Instructor"], **sub})
    english = Tool(flow.client, token_of(response))
    aicc = build_zip(tmp_path / "aicc.zip", {"course.au": "x", "course.crs": "x"})

    page = text(upload(english, "/designer/packages/new", aicc))

    assert "Package file (.zip): The zip holds AICC course files (course.au, course.crs)" in page
    assert row_counts(app) == (0, 0)


def test_an_upload_without_a_file_is_refused_naming_the_field(designer: Tool, app: Flask) -> None:
    own = created_module(
        upload(designer, "/designer/packages/new", scorm12(Path(app.instance_path) / "p.zip"))
    )

    response = designer.post(f"/designer/modules/{own}/package", {})

    assert response.status_code == 400 and "套件檔（.zip）：請選擇" in text(response)
    assert row_counts(app) == (1, 1)


def test_an_upload_larger_than_max_upload_bytes_is_refused_before_it_is_read(
    designer: Tool, app: Flask, tmp_path: Path
) -> None:
    settings = app.extensions["plugin.settings"]
    small = dataclasses.replace(settings.content, max_upload_bytes=256)
    app.extensions["plugin.settings"] = dataclasses.replace(settings, content=small)

    response = upload(designer, "/designer/packages/new", scorm12(tmp_path / "p.zip"))

    assert response.status_code == 413
    assert "套件檔（.zip）：檔案超過" in text(response) and row_counts(app) == (0, 0)


def test_the_national_catalogs_modules_take_no_package_from_a_launch(
    designer: Tool, app: Flask, tmp_path: Path
) -> None:
    response = upload(
        designer, f"/designer/modules/{SEED_MODULE}/package", scorm12(tmp_path / "p.zip")
    )

    assert response.status_code == 403 and row_counts(app) == (0, 0)
    assert designer.get(f"/designer/modules/{SEED_MODULE}/package").status_code == 200


def versions_of(app: Flask, key: str) -> list[tuple[int, str, str, list[tuple[str, str]]]]:
    """The module's package versions: (number, standard, storage key, items' hrefs)."""
    with app.extensions["plugin.db"].session_scope() as session:
        module = get_module(session, key)
        return [
            (v.number, v.scorm_version, v.storage_key,
             [(item.identifier, item.launch_href) for item in v.items])
            for v in package_versions(session, module)
        ]  # fmt: skip


def test_a_copied_scorm_module_gets_the_newest_package_version_and_plays(
    designer: Tool, flow: Flow, app: Flask, tmp_path: Path
) -> None:
    key = created_module(upload(designer, "/designer/packages/new", scorm12(tmp_path / "a.zip")))
    upload(designer, f"/designer/modules/{key}/package", scorm2004(tmp_path / "b.zip"))

    duplicate = copy_of(designer, key)

    original, copied = versions_of(app, key), versions_of(app, duplicate)
    newest = max(original)
    assert [(number, standard, items) for number, standard, _key, items in copied] == [
        (1, newest[1], newest[3])
    ]
    assert copied[0][2] not in {stored_key for _n, _s, stored_key, _i in original}
    with app.extensions["plugin.db"].session_scope() as session:
        assert get_module(session, duplicate).kind == "scorm"
    served = designer.get(f"/content/{copied[0][2]}/content/a/index.html")
    assert served.status_code == 200 and served.data == SCO_PAGE
    served.close()
    open_player(flow, duplicate, sub="learner-of-the-copy")  # a learner's launch plays it
    with app.extensions["plugin.db"].session_scope() as session:
        attempt = session.scalars(select(RuntimeAttempt)).one()
        assert attempt.version.storage_key == copied[0][2]


def test_a_copy_whose_package_original_is_gone_is_refused_and_nothing_is_copied(
    designer: Tool, app: Flask, tmp_path: Path
) -> None:
    key = created_module(upload(designer, "/designer/packages/new", scorm12(tmp_path / "a.zip")))
    ((_number, _standard, storage_key, _items),) = versions_of(app, key)
    (storage_dir(app) / storage_key / "original.zip").unlink()
    modules = count_modules(app)

    response = designer.post(f"/designer/modules/{key}/copy", {})

    assert response.status_code == 400 and "原始 zip" in text(response)
    assert count_modules(app) == modules and row_counts(app) == (1, 1)


# --- Package files ----------------------------------------------------------------------------


def _file_url(app: Flask, key: str, name: str) -> str:
    with app.extensions["plugin.db"].session_scope() as session:
        module = get_module(session, key)
        return f"/content/{package_versions(session, module)[0].storage_key}/{name}"


def test_package_files_are_served_sandboxed_with_their_type_ranges_and_immutable_caching(
    designer: Tool, app: Flask, tmp_path: Path
) -> None:
    key = created_module(upload(designer, "/designer/packages/new", scorm12(tmp_path / "p.zip")))
    video = _file_url(app, key, "media/clip.mp4")

    whole = designer.get(_file_url(app, key, "index.html"))
    part = designer.client.get(
        video, query_string={"lt": designer.token}, headers={"Range": "bytes=256-511"}
    )

    assert whole.status_code == 200 and whole.mimetype == "text/html"
    assert "immutable" in whole.headers["Cache-Control"]
    assert "max-age=31536000" in whole.headers["Cache-Control"]
    policy = whole.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "script-src 'none'" in policy
    # The platforms that may frame the tool's pages may frame it too (the designer opens it
    # inside the LMS, and CSP3 checks every ancestor).
    package_page = designer.get(f"/designer/modules/{key}/package")
    assert package_page.status_code == 200
    assert ancestors_of(policy) == ancestors_of(package_page.headers["Content-Security-Policy"])
    assert len(ancestors_of(policy)) == 2  # 'self' and the registered platform
    package_page.close()
    assert part.status_code == 206 and part.mimetype == "video/mp4"
    assert part.headers["Content-Range"] == "bytes 256-511/16384"
    assert part.data == bytes(range(256))
    whole.close()
    part.close()


@pytest.mark.parametrize(
    "name", ["../original.zip", "..%2Foriginal.zip", "media/../../original.zip", "missing.html"]
)
def test_a_path_outside_the_versions_files_is_not_found(
    designer: Tool, app: Flask, tmp_path: Path, name: str
) -> None:
    key = created_module(upload(designer, "/designer/packages/new", scorm12(tmp_path / "p.zip")))

    response = designer.get(_file_url(app, key, name))
    assert response.status_code == 404
    response.close()


def test_a_learners_launch_cannot_open_package_files_yet(
    flow: Flow, designer: Tool, app: Flask, tmp_path: Path
) -> None:
    key = created_module(upload(designer, "/designer/packages/new", scorm12(tmp_path / "p.zip")))
    learner = resource_launch(flow, "Learner")

    assert learner.get(_file_url(app, key, "index.html")).status_code == 403


# --- Another organisation ---------------------------------------------------------------------


@pytest.fixture
def other_package(app: Flask, tmp_path: Path) -> tuple[str, str]:
    """A module of another organisation with a stored package: (module key, storage key)."""
    settings = app.extensions["plugin.settings"].content
    with app.extensions["plugin.db"].session_scope() as session:
        other = create_organisation(session, "other-agency", "另一機關")
        framework = get_framework(session)
        assert framework is not None
        data = {"title_zh": "他機關", "title_en": "Theirs", "hours": "1"}
        module = create_module(session, data, framework, IRI_BASE, organisation_id=other.id)
        version = import_package(
            session,
            storage_for(settings),
            limits_for(settings),
            module,
            scorm12(tmp_path / "theirs.zip"),
            "theirs.zip",
        )
        return module.key, version.storage_key


def test_another_organisations_designer_cannot_see_download_replace_or_open_the_package(
    designer: Tool, app: Flask, tmp_path: Path, other_package: tuple[str, str]
) -> None:
    key, storage_key = other_package
    before = stored_files(app)

    answers = [
        designer.get(f"/designer/modules/{key}/package"),
        designer.get(f"/designer/modules/{key}/package/1/original.zip"),
        upload(designer, f"/designer/modules/{key}/package", scorm2004(tmp_path / "mine.zip")),
        designer.get(f"/content/{storage_key}/index.html"),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    assert all("theirs.zip" not in text(answer) for answer in answers)
    assert row_counts(app) == (1, 1) and stored_files(app) == before
