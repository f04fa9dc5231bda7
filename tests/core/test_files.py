"""Reading a data file an operator names: its text, or a refusal that names the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.core.errors import InvalidInput
from plugin.core.files import read_utf8


def test_a_utf8_file_is_read_as_its_text(tmp_path: Path) -> None:
    source = tmp_path / "framework.toml"
    source.write_bytes('title = "數位職能"\n'.encode())
    assert read_utf8(source) == 'title = "數位職能"\n'


def test_a_missing_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    source = tmp_path / "missing.toml"
    with pytest.raises(InvalidInput) as refused:
        read_utf8(source)
    assert refused.value.message == f"{source}: file not found"
    assert refused.value.field == "file"


def test_a_file_that_is_not_utf8_is_refused_naming_the_file(tmp_path: Path) -> None:
    source = tmp_path / "big5.toml"
    source.write_bytes("數位職能".encode("cp950"))
    with pytest.raises(InvalidInput) as refused:
        read_utf8(source)
    assert refused.value.message == f"{source}: not UTF-8 text"
    assert refused.value.field == "file"
