"""Where package versions' files live, behind one small interface.

A version is written once, under a key of its own, and never changed: a new upload is a new
key, so files may be cached for ever and attempts can stay on the version they started.
Several web hosts share packages by pointing ``[content] storage_dir`` at one shared volume;
another backend (an object store) implements :class:`PackageStorage`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Protocol

ORIGINAL = "original.zip"
FILES = "files"


class PackageStorage(Protocol):
    """Stores a version's unpacked files and original zip under a key; reads them back."""

    def staging(self) -> Path:
        """A new empty local folder to unpack into; gone after :meth:`publish` or
        :meth:`discard`."""

    def publish(self, key: str, staged: Path) -> None:
        """Make the staged folder (``files/`` and ``original.zip``) the version ``key``."""

    def discard(self, staged: Path) -> None:
        """Remove a staged folder that will not be published."""

    def file_path(self, key: str, name: str) -> Path | None:
        """The local path of the version's file ``name``, None if it has none."""

    def original_path(self, key: str) -> Path | None:
        """The local path of the version's original zip, None if it is missing."""

    def delete(self, key: str) -> None:
        """Remove a version's files (a version the database no longer names)."""


class LocalStorage:
    """Versions as folders under one directory (a local disk or a volume hosts share)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _staging_root(self) -> Path:
        # Inside the root, so that publishing is a rename on one file system.
        folder = self.root / ".staging"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def staging(self) -> Path:
        """A new empty folder under ``.staging``."""
        return Path(tempfile.mkdtemp(prefix="upload-", dir=self._staging_root()))

    def publish(self, key: str, staged: Path) -> None:
        """Rename the staged folder into place (atomic on one file system)."""
        target = self._version_dir(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged.rename(target)

    def discard(self, staged: Path) -> None:
        """Remove the staged folder and everything in it."""
        shutil.rmtree(staged, ignore_errors=True)

    def _version_dir(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not parts or any(part in ("", ".", "..") or part.startswith(".") for part in parts):
            raise ValueError(f"bad storage key {key!r}")
        return self.root.joinpath(*parts)

    def file_path(self, key: str, name: str) -> Path | None:
        """The file if it is a regular file inside the version's ``files/`` folder."""
        base = (self._version_dir(key) / FILES).resolve()
        candidate = (base / name).resolve()
        if not candidate.is_relative_to(base) or not candidate.is_file():
            return None
        return candidate

    def original_path(self, key: str) -> Path | None:
        """The version's ``original.zip``."""
        path = self._version_dir(key) / ORIGINAL
        return path if path.is_file() else None

    def delete(self, key: str) -> None:
        """Remove the version's folder."""
        shutil.rmtree(self._version_dir(key), ignore_errors=True)
