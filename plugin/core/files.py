"""Reading a data file an operator names (the framework, demo content) as UTF-8 text."""

from __future__ import annotations

from pathlib import Path

from plugin.core.errors import InvalidInput


def read_utf8(source: Path) -> str:
    """The file's text, or InvalidInput naming the file when it is missing or not UTF-8."""
    try:
        return source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"{source}: file not found", field="file") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{source}: not UTF-8 text", field="file") from None
