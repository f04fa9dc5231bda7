"""Fixtures for the LTI tests: a platform that supports Dynamic Registration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.registration_platform import (
    DEV_TOOL_URL,
    FakePlatform,
    running_registration_platform,
)


@pytest.fixture
def fake_platform() -> Iterator[FakePlatform]:
    """A platform supporting dynamic registration, on 127.0.0.1."""
    with running_registration_platform(DEV_TOOL_URL) as platform:
        yield platform
