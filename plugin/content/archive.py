"""An uploaded zip is untrusted: every entry name, type and size is checked before one byte is
written, and extraction writes at most what was checked.

Refused: names outside the package root (``../``, absolute, drive letters, backslashes, NUL),
links and devices (the Unix mode in the entry's external attributes), more entries, more
uncompressed bytes or a higher compression ratio than the ``[content]`` limits allow.
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from plugin.content.errors import PackageRefused

MANIFEST = "imsmanifest.xml"
# AICC's course structure files (AICC CMI001 §5): a course of these is not a SCORM package.
AICC_SUFFIXES = (".au", ".crs", ".des", ".cst")
_DRIVE = re.compile(r"^[A-Za-z]:")
# Small entries compress well without being bombs; the ratio is judged over the whole archive
# and over each entry larger than this.
RATIO_FLOOR_BYTES = 1024 * 1024
COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The bounds an archive must stay within (``[content]`` in the config)."""

    max_entries: int
    max_total_bytes: int
    max_ratio: float


def open_zip(path: Path) -> zipfile.ZipFile:
    """The archive at ``path``, or a refusal saying it is not a zip."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise PackageRefused("not_a_zip", f"the file is not a zip archive ({exc})") from None


def check_entries(archive: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    """The archive's file entries once every entry is within the limits and the root."""
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise PackageRefused(
            "too_many_entries",
            f"the zip has {len(entries)} entries; at most {limits.max_entries} are allowed",
            count=len(entries),
            limit=limits.max_entries,
        )
    files: list[zipfile.ZipInfo] = []
    total = compressed = 0
    for info in entries:
        info.filename = decoded_name(info)
        check_name(info.filename)
        check_type(info)
        if info.is_dir():
            continue
        total += info.file_size
        compressed += info.compress_size
        if total > limits.max_total_bytes:
            raise PackageRefused(
                "too_large",
                f"the zip unpacks to more than {limits.max_total_bytes} bytes",
                limit=limits.max_total_bytes,
            )
        if info.file_size > RATIO_FLOOR_BYTES:
            _check_ratio(info.file_size, info.compress_size, limits, info.filename)
        files.append(info)
    if total > RATIO_FLOOR_BYTES:
        _check_ratio(total, compressed, limits, "")
    return files


def decoded_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as the manifest spells it. Without the UTF-8 flag (APPNOTE 4.4.4 bit
    11) zipfile reads names as cp437; authoring tools on Chinese Windows write cp950 there, and
    many write UTF-8 without setting the flag."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for encoding in ("utf-8", "cp950"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _check_ratio(size: int, packed: int, limits: Limits, name: str) -> None:
    ratio = size / max(packed, 1)
    if ratio > limits.max_ratio:
        where = f"{name!r} " if name else ""
        raise PackageRefused(
            "compression_ratio",
            f"the zip {where}unpacks {ratio:.0f} times its compressed size; "
            f"at most {limits.max_ratio:g} is allowed (a zip bomb?)",
            ratio=f"{ratio:.0f}",
            limit=f"{limits.max_ratio:g}",
        )


def check_name(name: str) -> None:
    """Refuse an entry name that could land outside the package folder."""
    reason = ""
    if "\\" in name:
        reason = "a backslash"
    elif "\x00" in name:
        reason = "a NUL character"
    elif name.startswith("/"):
        reason = "an absolute path"
    elif _DRIVE.match(name):
        reason = "a drive letter"
    elif ".." in PurePosixPath(name).parts:
        reason = "a '..' segment"
    if reason:
        raise PackageRefused(
            "unsafe_entry_name",
            f"the zip entry {name!r} has {reason}; entries must stay inside the package",
            name=name,
            reason=reason,
        )


def check_type(info: zipfile.ZipInfo) -> None:
    """Refuse links, devices, pipes and sockets (Unix mode in the high external attributes)."""
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        what = "a symbolic link" if kind == stat.S_IFLNK else "a device or special file"
        raise PackageRefused(
            "unsafe_entry_type",
            f"the zip entry {info.filename!r} is {what}; only files and folders are allowed",
            name=info.filename,
            what=what,
        )


def nested_folder(names: list[str], filename: str) -> str | None:
    """The shallowest folder holding ``filename`` (any case), when it is not at the root."""
    nested = sorted(
        (name for name in names if PurePosixPath(name).name.lower() == filename),
        key=lambda name: (name.count("/"), name),
    )
    return str(PurePosixPath(nested[0]).parent) if nested else None


def find_manifest(names: list[str]) -> str:
    """The manifest's entry name, or a refusal saying what the archive holds instead."""
    if MANIFEST in names:
        return MANIFEST
    folder = nested_folder(names, MANIFEST)
    if folder is not None:
        raise PackageRefused(
            "manifest_in_folder",
            f"imsmanifest.xml is in the folder {folder!r}, not at the root of the zip; "
            "zip the contents of that folder instead",
            folder=folder,
        )
    aicc = sorted(name for name in names if name.lower().endswith(AICC_SUFFIXES))
    if aicc:
        raise PackageRefused(
            "aicc_package",
            f"the zip holds AICC course files ({', '.join(aicc[:4])}), not a SCORM package; "
            "export the course as SCORM 1.2 or SCORM 2004",
            files=", ".join(aicc[:4]),
        )
    raise PackageRefused(
        "no_manifest", "the zip has no imsmanifest.xml, so it is not a SCORM package"
    )


def extract(archive: zipfile.ZipFile, files: list[zipfile.ZipInfo], target: Path) -> None:
    """Write the checked ``files`` under ``target``, each at most its declared size."""
    root = target.resolve()
    for info in files:
        destination = (root / info.filename).resolve()
        if not destination.is_relative_to(root):  # check_name already refused it; belt and braces
            raise PackageRefused(
                "unsafe_entry_name",
                f"the zip entry {info.filename!r} leaves the package",
                name=info.filename,
                reason="a path outside the package",
            )
        destination.parent.mkdir(parents=True, exist_ok=True)
        # ZipExtFile stops at the declared size and checks the CRC, so a lying header cannot
        # make it write more than check_entries counted.
        with archive.open(info) as source, destination.open("wb") as sink:
            shutil.copyfileobj(source, sink, COPY_CHUNK)
