"""The tool's version, as installed."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "dc-competency-tool"


def tool_version() -> str:
    """The installed version of the tool, or ``0+unknown`` when run from a bare tree."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"
