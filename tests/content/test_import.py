"""Importing SCORM packages: what a manifest yields, versions, and every refusal leaving
nothing behind on disk or in the database (README "SCORM packages")."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from flask import Flask

from plugin.competencies.modules import get_module
from plugin.content.archive import Limits
from plugin.content.errors import PackageRefused
from plugin.content.models import PackageVersion
from plugin.content.services import import_package, limits_for, package_versions, storage_for
from tests.content.packages import (
    MANIFEST_12,
    MANIFEST_2004,
    SCO_PAGE,
    build_zip,
    raw_zip,
    scorm12,
    scorm2004,
)
from tests.support.content import row_counts, storage_dir, stored_files


def run_import(
    app: Flask, module_key: str, upload: Path, limits: Limits | None = None
) -> dict[str, object]:
    """Import ``upload`` into the module and return the stored version as plain values."""
    settings = app.extensions["plugin.settings"].content
    with app.extensions["plugin.db"].session_scope() as session:
        module = get_module(session, module_key)
        version = import_package(
            session,
            storage_for(settings),
            limits or limits_for(settings),
            module,
            upload,
            upload.name,
        )
        return {
            "number": version.number,
            "key": version.storage_key,
            "scorm": version.scorm_version,
            "title": version.title,
            "mastery": version.mastery_score,
            "kind": module.kind,
            "files": version.file_count,
            "tree": version.item_tree,
            "items": [
                (i.identifier, i.scorm_type, i.launch_href, i.visible, i.mastery_score,
                 i.data_from_lms, i.max_time_allowed, i.time_limit_action)
                for i in version.items
            ],
        }  # fmt: skip


def test_hrefs_in_another_case_than_the_zips_entries_are_stored_as_the_zip_spells_them(
    app: Flask, module_key: str, tmp_path: Path
) -> None:
    # As a Windows authoring tool writes them: the manifest says index.html, the zip Index.HTML.
    manifest = MANIFEST_12.format(title="t").replace(
        'href="media/clip.mp4"', 'href="Media/Clip.mp4"'
    )
    upload = build_zip(tmp_path / "p.zip", {"imsmanifest.xml": manifest, "Index.HTML": SCO_PAGE,
                                            "media/clip.mp4": b"x"})  # fmt: skip

    stored = run_import(app, module_key, upload)

    items = stored["items"]
    assert isinstance(items, list) and [item[2] for item in items] == ["Index.HTML?lang=zh"]
    root = storage_dir(app) / str(stored["key"]) / "files"
    assert (root / "Index.HTML").read_bytes() == SCO_PAGE


def test_a_scorm_12_package_yields_its_sco_launch_href_mastery_score_and_time_limit(
    app: Flask, module_key: str, tmp_path: Path
) -> None:
    stored = run_import(app, module_key, scorm12(tmp_path / "p.zip"))

    assert stored["scorm"] == "1.2" and stored["title"] == "個資保護 Privacy basics"
    assert stored["kind"] == "scorm" and stored["number"] == 1 and stored["files"] == 3
    assert stored["mastery"] == pytest.approx(0.8)
    assert stored["items"] == [
        ("item-1", "sco", "index.html?lang=zh", True, pytest.approx(0.8), "mode=review",
         "0000:30:00", "exit,message"),
    ]  # fmt: skip
    root = storage_dir(app) / str(stored["key"])
    assert (root / "files" / "index.html").read_bytes() == SCO_PAGE
    assert (root / "original.zip").read_bytes() == (tmp_path / "p.zip").read_bytes()


def test_a_scorm_2004_package_uses_the_default_organization_and_the_primary_objective(
    app: Flask, module_key: str, tmp_path: Path
) -> None:
    stored = run_import(app, module_key, scorm2004(tmp_path / "p.zip"))

    assert stored["scorm"] == "2004-4" and stored["title"] == "資安意識 Security awareness"
    assert stored["mastery"] == pytest.approx(0.7)
    assert stored["items"] == [
        ("a", "sco", "content/a/index.html", True, pytest.approx(0.7), "start=1", "PT45M",
         "continue,no message"),
        ("b", "sco", "content/b/index.html?x=1", True, pytest.approx(0.7), "", "", ""),
        ("glossary", "asset", "content/glossary.html", False, None, "", "", ""),
    ]  # fmt: skip
    tree = stored["tree"]
    assert isinstance(tree, list) and [node["identifier"] for node in tree] == [
        "module-1",
        "glossary",
    ]
    assert [child["identifier"] for child in tree[0]["children"]] == ["a", "b"]


def test_uploading_again_makes_a_new_version_and_keeps_the_old_one(
    app: Flask, module_key: str, tmp_path: Path
) -> None:
    first = run_import(app, module_key, scorm12(tmp_path / "one.zip"))
    second = run_import(app, module_key, scorm2004(tmp_path / "two.zip"))

    assert (first["number"], second["number"]) == (1, 2) and first["key"] != second["key"]
    for stored in (first, second):
        assert (storage_dir(app) / str(stored["key"]) / "original.zip").is_file()
    with app.extensions["plugin.db"].session_scope() as session:
        versions = package_versions(session, get_module(session, module_key))
        assert [v.number for v in versions] == [2, 1]


@pytest.mark.parametrize(
    ("stated", "expected"),
    [("CAM 1.3", "2004-2"), ("2004 3rd Edition", "2004-3"), ("2004 4th Edition", "2004-4")],
)
def test_the_2004_edition_comes_from_schemaversion(
    app: Flask, module_key: str, tmp_path: Path, stated: str, expected: str
) -> None:
    manifest = (
        MANIFEST_12.format(title="t")
        .replace("imsproject.org/xsd/imscp_rootv1p1p2", "imsglobal.org/xsd/imscp_v1p1")
        .replace("adlcp_rootv1p2", "adlcp_v1p3")
        .replace("adlcp:scormtype", "adlcp:scormType")
        .replace("<schemaversion>1.2", f"<schemaversion>{stated}")
    )
    files = {"imsmanifest.xml": manifest, "index.html": SCO_PAGE, "media/clip.mp4": b"v"}
    stored = run_import(app, module_key, build_zip(tmp_path / "p.zip", files))

    assert stored["scorm"] == expected and stored["items"][0][1] == "sco"  # type: ignore[index]


@pytest.mark.parametrize("encoding", ["cp950", "utf-8"])
def test_file_names_written_without_the_utf8_flag_match_the_manifest(
    app: Flask, module_key: str, tmp_path: Path, encoding: str
) -> None:
    # Zip tools on Chinese Windows write names in cp950 (or UTF-8) without the UTF-8 flag.
    name = "課程.html"
    manifest = MANIFEST_12.format(title="t").replace('"index.html"', f'"{name}"')
    stand_in = "x" * len(name.encode(encoding))  # as long as the name, so offsets hold
    upload = build_zip(
        tmp_path / "p.zip",
        {"imsmanifest.xml": manifest, stand_in: SCO_PAGE, "media/clip.mp4": b"v"},
    )
    upload.write_bytes(upload.read_bytes().replace(stand_in.encode(), name.encode(encoding)))

    stored = run_import(app, module_key, upload)

    assert stored["items"][0][2] == f"{name}?lang=zh"  # type: ignore[index]
    files = storage_dir(app) / str(stored["key"]) / "files"
    assert (files / name).read_bytes() == SCO_PAGE


# --- Refusals ---------------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE manifest [
  <!ENTITY a "aaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<manifest xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"><metadata>&d;</metadata></manifest>
"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE manifest [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<manifest xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"><title>&secret;</title></manifest>
"""


def _manifest_zip(path: Path, manifest: str) -> Path:
    return build_zip(path, {"imsmanifest.xml": manifest, "index.html": SCO_PAGE})


def _sco_files() -> dict[str, bytes | str]:
    return {
        "imsmanifest.xml": MANIFEST_12.format(title="t"),
        "index.html": SCO_PAGE,
        "media/clip.mp4": b"v",
    }


def _bomb(path: Path) -> Path:
    return build_zip(path, {**_sco_files(), "media/zeros.bin": bytes(4 * 1024 * 1024)})


CASES = {
    "not a zip": (lambda p: _write(p, b"PK? not really a zip"), "not_a_zip", "not a zip archive"),
    "traversal": (
        lambda p: raw_zip(p, {"../evil.html": b"x", "imsmanifest.xml": b"<m/>"}),
        "unsafe_entry_name",
        "'../evil.html' has a '..' segment",
    ),
    "absolute path": (
        lambda p: raw_zip(p, {"/etc/cron.d/evil": b"x"}),
        "unsafe_entry_name",
        "'/etc/cron.d/evil' has an absolute path",
    ),
    "backslash": (
        lambda p: raw_zip(p, {"..\\..\\evil.html": b"x"}),
        "unsafe_entry_name",
        "has a backslash",
    ),
    "drive letter": (
        lambda p: raw_zip(p, {"C:/Windows/evil.dll": b"x"}),
        "unsafe_entry_name",
        "has a drive letter",
    ),
    "symlink": (
        lambda p: build_zip(p, _sco_files(), links={"media/passwd": "/etc/passwd"}),
        "unsafe_entry_type",
        "'media/passwd' is a symbolic link",
    ),
    "zip bomb": (_bomb, "compression_ratio", "at most 100 is allowed"),
    "too many entries": (
        lambda p: build_zip(p, {**_sco_files(), **{f"f{i}.txt": "x" for i in range(20)}}),
        "too_many_entries",
        "the zip has 23 entries; at most 10 are allowed",
    ),
    "too large": (
        lambda p: build_zip(p, {**_sco_files(), "big.bin": bytes(range(256)) * 400}),
        "too_large",
        "unpacks to more than 100000 bytes",
    ),
    "missing resource file": (
        lambda p: build_zip(p, {"imsmanifest.xml": MANIFEST_12.format(title="t"),
                                "index.html": SCO_PAGE}),
        "missing_file",
        "resource 'res-1' names 'media/clip.mp4', which is not in the zip",
    ),
    "hrefs whose case matches two entries": (
        lambda p: build_zip(p, {"imsmanifest.xml": MANIFEST_12.format(title="t"),
                                "Index.html": SCO_PAGE, "INDEX.HTML": SCO_PAGE,
                                "media/clip.mp4": b"x"}),
        "ambiguous_case",
        "names 'index.html', and the zip holds 'INDEX.HTML' and 'Index.html', which differ only "
        "in case",
    ),
    "AICC": (
        lambda p: build_zip(p, {"course.au": "x", "course.crs": "x", "course.des": "x"}),
        "aicc_package",
        "AICC course files (course.au, course.crs, course.des)",
    ),
    "manifest in a sub-folder": (
        lambda p: build_zip(p, {"MyCourse/imsmanifest.xml": MANIFEST_12, "MyCourse/a.html": "x"}),
        "manifest_in_folder",
        "in the folder 'MyCourse'",
    ),
    "no manifest": (
        lambda p: build_zip(p, {"index.html": "x"}), "no_manifest", "has no imsmanifest.xml"
    ),
    "invalid XML": (
        lambda p: _manifest_zip(p, "<manifest><organizations></manifest>"),
        "manifest_invalid_xml",
        "not well-formed XML",
    ),
    "entity-expansion bomb": (
        lambda p: _manifest_zip(p, BILLION_LAUGHS),
        "manifest_doctype",
        "declares a document type or entities",
    ),
    "external entity": (
        lambda p: _manifest_zip(p, EXTERNAL_ENTITY),
        "manifest_doctype",
        "declares a document type or entities",
    ),
    "unsupported version": (
        lambda p: _manifest_zip(p, MANIFEST_12.replace("<schemaversion>1.2", "<schemaversion>1.1")),
        "manifest_unsupported_version",
        "schemaversion is '1.1'",
    ),
}  # fmt: skip


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_refused_package_names_what_it_found_and_leaves_nothing_behind(
    app: Flask, module_key: str, tmp_path: Path, case: str
) -> None:
    make, code, message = CASES[case]
    upload = make(tmp_path / "upload.zip")
    limits = Limits(max_entries=10, max_total_bytes=100_000, max_ratio=100)
    if case == "zip bomb":
        limits = Limits(max_entries=10, max_total_bytes=10**9, max_ratio=100)

    with pytest.raises(PackageRefused) as refused:
        run_import(app, module_key, upload, limits)

    assert refused.value.code == code and message in refused.value.message, refused.value.message
    assert refused.value.field == "package"
    assert stored_files(app) == [] and row_counts(app) == (0, 0)
    with app.extensions["plugin.db"].session_scope() as session:
        assert get_module(session, module_key).kind == "page"
        assert session.query(PackageVersion).count() == 0
    assert not (tmp_path.parent / "evil.html").exists()


def test_an_entry_whose_header_understates_its_size_is_refused_as_damaged_and_leaves_nothing(
    app: Flask, module_key: str, tmp_path: Path
) -> None:
    # A header that under-states an entry's size: zipfile stops at the declared size, and the
    # CRC no longer matches, so the package is refused as damaged.
    upload = build_zip(tmp_path / "p.zip", _sco_files())
    data = bytearray(upload.read_bytes())
    with zipfile.ZipFile(upload) as archive:
        info = archive.getinfo("index.html")
    offset = data.find(b"index.html", info.header_offset) - 8  # local header's file size field
    data[offset : offset + 4] = (10).to_bytes(4, "little")
    central = data.rfind(b"index.html") - 22  # the central directory's copy of the field
    data[central : central + 4] = (10).to_bytes(4, "little")
    upload.write_bytes(bytes(data))

    with pytest.raises(PackageRefused) as refused:
        run_import(app, module_key, upload)

    assert refused.value.code in ("not_a_zip", "missing_file")
    assert stored_files(app) == [] and row_counts(app) == (0, 0)


def test_items_sharing_an_identifier_are_refused(
    app: Flask, module_key: str, tmp_path: Path
) -> None:
    manifest = MANIFEST_2004.replace('<item identifier="b"', '<item identifier="a"')
    files = {
        "imsmanifest.xml": manifest,
        "content/a/index.html": SCO_PAGE,
        "content/b/index.html": SCO_PAGE,
        "content/glossary.html": "g",
        "content/shared/app.js": "js",
    }

    with pytest.raises(PackageRefused) as refused:
        run_import(app, module_key, build_zip(tmp_path / "p.zip", files))

    assert refused.value.code == "manifest_duplicate_item" and "'a'" in refused.value.message
    assert row_counts(app) == (0, 0) and stored_files(app) == []


def test_a_deeply_nested_manifest_without_schemaversion_is_refused_not_a_crash(
    app: Flask, module_key: str, tmp_path: Path
) -> None:
    nested = "<x>" * 5000 + "</x>" * 5000
    manifest = f'<manifest xmlns="urn:not-scorm"><metadata>{nested}</metadata></manifest>'

    with pytest.raises(PackageRefused) as refused:
        run_import(app, module_key, build_zip(tmp_path / "p.zip", {"imsmanifest.xml": manifest}))

    assert refused.value.code == "manifest_not_scorm"
