"""Fixtures for the delivery tests: apps whose statement outbox a test fills and reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.app import app_factory
from tests.support.outbox import Outbox


@pytest.fixture
def make_outbox(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Callable[..., Outbox]]:
    """Build apps on their own SQLite database with ``xapi`` settings overrides."""
    with app_factory(tmp_path, migrated_sqlite) as build:

        def outbox(**xapi: Any) -> Outbox:
            return Outbox(build(xapi=xapi))

        yield outbox
