"""The [content] table: where packages are kept by default and the bounds it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.core.config import Settings, settings_from_mapping
from plugin.core.errors import ConfigError
from tests.support.app import TEST_SECRET


def settings(tmp_path: Path, content: dict[str, object]) -> Settings:
    """Development settings with the instance folder in ``tmp_path``."""
    raw = {"env": "development", "secret_key": TEST_SECRET, "instance_dir": str(tmp_path)}
    return settings_from_mapping({**raw, "content": content}, base_dir=tmp_path / "etc")


def test_packages_are_kept_under_the_instance_folder_unless_storage_dir_says_otherwise(
    tmp_path: Path,
) -> None:
    default = settings_from_mapping(
        {"env": "development", "secret_key": TEST_SECRET, "instance_dir": str(tmp_path)}
    )
    relative = settings(tmp_path, {"storage_dir": "packages"})

    assert default.content.storage_dir == str(tmp_path / "content")
    assert relative.content.storage_dir == str(tmp_path / "etc" / "packages")


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ({"max_entries": 0}, "content.max_entries"),
        ({"max_total_bytes": -1}, "content.max_total_bytes"),
        ({"max_upload_bytes": 0}, "content.max_upload_bytes"),
        ({"max_ratio": 0.5}, "content.max_ratio"),
        ({"base_url": "content.example"}, "content.base_url"),
        ({"max_ratio": "high"}, "content.max_ratio"),
        ({"bucket": "x"}, "content.bucket"),
    ],
)
def test_a_bad_content_key_stops_start_up_naming_it(
    tmp_path: Path, content: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        settings(tmp_path, content)
