"""Fixtures shared by the hardening tests: the fuzzers' app, the authorization walk's world."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.support.authz import OTHER_ISSUER, World, build_world
from tests.support.flows import Flow, register
from tests.support.fuzz import strictest_app
from tests.support.platform import running_platform
from tests.support.tenants import EAST, EAST_CLIENT, build_east, register_in


@pytest.fixture
def fuzz_app(
    request: pytest.FixtureRequest, tmp_path: Path, framework_data: dict[str, Any]
) -> Iterator[Flask]:
    """A seeded app on PostgreSQL (SQLite where none answers outside CI)."""
    with strictest_app(request, tmp_path, framework_data) as application:
        yield application


@pytest.fixture
def world(flow: Flow, app: Flask) -> Iterator[World]:
    """Everyone launched on the test platform, a learner, a designer and an administrator
    on a second registered platform (another issuer), and the east organisation on a third
    registration of the first platform's issuer."""
    with (
        running_platform(
            key_slot=1, issuer=OTHER_ISSUER, client_id="other-client", deployment_id="other-dep"
        ) as other,
        running_platform(
            key_slot=3, issuer=flow.platform.issuer, client_id=EAST_CLIENT, deployment_id="e-dep"
        ) as east,
    ):
        register(app, other)
        register_in(app, east, EAST)
        world = build_world(flow, Flow(app.test_client(), other))
        build_east(world, Flow(app.test_client(), east))
        yield world
