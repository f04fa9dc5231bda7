"""Importing a SCORM package as a new version of a module, and reading the versions back.

An import checks everything before it stores anything: the archive's entries
(plugin/content/archive.py), the manifest (plugin/content/manifest.py) and that every file a
resource names is in the zip. It unpacks into a staging folder, flushes the version's rows and
only then publishes the folder, so a refused package leaves neither files nor rows behind.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
import zipfile
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.competencies.models import SCORM_KIND, Framework, Module
from plugin.competencies.module_copy import copy_module
from plugin.competencies.modules import create_module
from plugin.content.archive import Limits, check_entries, extract, find_manifest, open_zip
from plugin.content.errors import PackageRefused
from plugin.content.manifest import Manifest, files_named, parse_manifest, rename_files
from plugin.content.models import PackageItem, PackageVersion
from plugin.content.storage import FILES, ORIGINAL, LocalStorage, PackageStorage
from plugin.core.config import ContentSettings

MAX_TITLE_CHARS = 200


def storage_for(settings: ContentSettings) -> PackageStorage:
    """The configured package storage (a local or shared folder)."""
    return LocalStorage(Path(settings.storage_dir))


def limits_for(settings: ContentSettings) -> Limits:
    """The configured archive bounds."""
    return Limits(settings.max_entries, settings.max_total_bytes, settings.max_ratio)


def read_package(
    archive: zipfile.ZipFile, limits: Limits
) -> tuple[Manifest, list[zipfile.ZipInfo]]:
    """The manifest and file entries of a package that passes every check."""
    files = check_entries(archive, limits)
    names = [info.filename for info in files]
    manifest_name = find_manifest(names)
    try:
        data = archive.read(manifest_name)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackageRefused("not_a_zip", f"the zip is damaged ({exc})") from None
    manifest = parse_manifest(data)
    rename_files(manifest, _real_names(manifest, names))
    return manifest, files


def _real_names(manifest: Manifest, names: list[str]) -> dict[str, str]:
    """The zip's spelling of each file the manifest names in another case (authoring tools on
    Windows, whose file names ignore case); a file missing, or matching several entries that
    differ only in case, is refused naming them."""
    present = set(names)
    by_case: dict[str, list[str]] = {}
    for name in names:
        by_case.setdefault(name.casefold(), []).append(name)
    real: dict[str, str] = {}
    for resource, name in files_named(manifest):
        if name in present:
            continue
        found = sorted(by_case.get(name.casefold(), []))
        if not found:
            raise PackageRefused(
                "missing_file",
                f"resource {resource!r} names {name!r}, which is not in the zip",
                resource=resource,
                name=name,
            )
        if len(found) > 1:
            raise PackageRefused(
                "ambiguous_case",
                f"resource {resource!r} names {name!r}, and the zip holds "
                f"{' and '.join(repr(each) for each in found)}, which differ only in case",
                resource=resource,
                name=name,
                found=", ".join(found),
            )
        real[name] = found[0]
    return real


def import_package(
    session: Session,
    storage: PackageStorage,
    limits: Limits,
    module: Module,
    upload: Path,
    original_name: str,
) -> PackageVersion:
    """Store ``upload`` as the next version of ``module``'s package; the module becomes a
    SCORM module. Flushes; the caller commits (a failed commit leaves an unnamed folder)."""
    staged = storage.staging()
    try:
        with open_zip(upload) as archive:
            manifest, files = read_package(archive, limits)
            try:
                extract(archive, files, staged / FILES)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise PackageRefused("not_a_zip", f"the zip is damaged ({exc})") from None
        shutil.copyfile(upload, staged / ORIGINAL)
        version = _version_row(session, module, manifest, upload, original_name, files)
        session.flush()
        storage.publish(version.storage_key, staged)
    except BaseException:
        storage.discard(staged)
        raise
    return version


def copy_with_package(
    session: Session, storage: PackageStorage, limits: Limits, module: Module,
    organisation_id: int, framework: Framework, iri_base: str,
) -> Module:  # fmt: skip
    """A copy of ``module`` (plugin/competencies/module_copy.py) that plays: a SCORM module's
    newest package version, unpacked again from its original zip, is the copy's version 1.

    The copy owns its version (its own storage key and rows), so either module may take new
    uploads or be removed without touching the other; attempts stay with the module they were
    made on. Flushes; the caller commits.
    """
    duplicate = copy_module(session, module, organisation_id, framework, iri_base)
    newest = session.scalars(
        select(PackageVersion)
        .where(PackageVersion.module_id == module.id)
        .order_by(PackageVersion.number.desc())
        .limit(1)
    ).one_or_none()
    if newest is None:
        return duplicate
    original = storage.original_path(newest.storage_key)
    if original is None:
        raise PackageRefused(
            "original_missing",
            f"version {newest.number}'s original zip is missing from the package storage",
            number=newest.number,
        )
    import_package(session, storage, limits, duplicate, original, newest.original_name)
    return duplicate


def _version_row(
    session: Session,
    module: Module,
    manifest: Manifest,
    upload: Path,
    original_name: str,
    files: list[zipfile.ZipInfo],
) -> PackageVersion:
    latest = session.scalar(
        select(func.max(PackageVersion.number)).where(PackageVersion.module_id == module.id)
    )
    number = (latest or 0) + 1
    version = PackageVersion(
        module=module,
        number=number,
        storage_key=f"{module.key}/v{number}-{uuid.uuid4().hex[:16]}",
        scorm_version=manifest.version,
        title=manifest.title[:MAX_TITLE_CHARS],
        organization=manifest.organization[:255],
        mastery_score=manifest.mastery_score(),
        item_tree=[item.as_dict() for item in manifest.items],
        control_mode=manifest.control,
        original_name=Path(original_name).name[:255],
        original_sha256=_sha256(upload),
        original_bytes=upload.stat().st_size,
        file_count=len(files),
        total_bytes=sum(info.file_size for info in files),
    )
    for position, item in enumerate(manifest.leaves()):
        resource = manifest.resources[item.resource]
        version.items.append(
            PackageItem(
                position=position,
                identifier=item.identifier,
                resource_identifier=resource.identifier[:255],
                title=item.title,
                scorm_type=resource.scorm_type if resource.scorm_type == "sco" else "asset",
                launch_href=manifest.launch_href(item)[:2000],
                visible=item.visible,
                data_from_lms=item.data_from_lms,
                mastery_score=item.mastery_score,
                max_time_allowed=item.max_time_allowed[:100],
                time_limit_action=item.time_limit_action[:40],
            )
        )
    module.kind = SCORM_KIND
    session.add(version)
    return version


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_as_new_module(
    session: Session,
    storage: PackageStorage,
    limits: Limits,
    upload: Path,
    original_name: str,
    *,
    framework: Framework,
    iri_base: str,
    organisation_id: int | None,
) -> PackageVersion:
    """Check the package, create a module titled from its manifest, store version 1."""
    with open_zip(upload) as archive:
        manifest, _files = read_package(archive, limits)
    title = (manifest.title or Path(original_name).stem or "SCORM")[:MAX_TITLE_CHARS]
    module = create_module(
        session,
        # Hours are the designer's to set; one is a placeholder the module form shows.
        {"title_zh": title, "title_en": title, "hours": "1"},
        framework,
        iri_base,
        organisation_id=organisation_id,
    )
    return import_package(session, storage, limits, module, upload, original_name)


def package_versions(session: Session, module: Module) -> list[PackageVersion]:
    """The module's package versions, newest first."""
    return list(
        session.scalars(
            select(PackageVersion)
            .where(PackageVersion.module_id == module.id)
            .order_by(PackageVersion.number.desc())
        )
    )


def find_version(session: Session, module: Module, number: int) -> PackageVersion | None:
    """Version ``number`` of the module's package, if there is one."""
    return session.scalars(
        select(PackageVersion).where(
            PackageVersion.module_id == module.id, PackageVersion.number == number
        )
    ).one_or_none()


def version_by_key(session: Session, storage_key: str) -> PackageVersion | None:
    """The version stored under ``storage_key``, if any."""
    return session.scalars(
        select(PackageVersion).where(PackageVersion.storage_key == storage_key)
    ).one_or_none()
