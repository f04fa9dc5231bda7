"""On PostgreSQL (which enforces column lengths, unlike SQLite): oversized values sent by a
platform or a browser are refused or trimmed, never a 500; racing launches accept one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from plugin import create_app
from plugin.core.db import create_db_engine
from plugin.core.migrate import upgrade_database
from plugin.lti.models import Launch, Person
from tests.support.app import app_config
from tests.support.flows import TOOL, Flow, assert_refused, counts, register
from tests.support.platform import LTI, TestPlatform, running_platform
from tests.support.races import race_past_the_checks

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_app(tmp_path: Path, postgres_url: str) -> Iterator[Flask]:
    """An app on a fresh PostgreSQL schema at ``head`` (no framework: launches need none)."""
    engine = create_db_engine(postgres_url)
    upgrade_database(engine)
    engine.dispose()
    application = create_app(app_config(tmp_path, postgres_url))
    yield application
    application.extensions["plugin.db"].dispose()


@pytest.fixture
def pg_flow(pg_app: Flask) -> Iterator[Flow]:
    """Login/launch driver for a platform registered with the PostgreSQL app."""
    with running_platform() as platform:
        register(pg_app, platform)
        yield Flow(pg_app.test_client(), platform)


def _signed(platform: TestPlatform, nonce: str, **overrides: Any) -> str:
    body = platform.claims(nonce)
    body.update(overrides)
    return platform.sign(body)


@pytest.mark.parametrize(
    "overrides",
    [{"sub": "s" * 256}, {LTI + "deployment_id": "d" * 256}],
    ids=["sub_256_chars", "deployment_id_256_chars"],
)
def test_identifier_longer_than_255_is_refused_not_a_500(
    overrides: dict[str, Any], pg_flow: Flow, pg_app: Flask
) -> None:
    before = counts(pg_app)
    response = pg_flow.complete_with(lambda nonce: _signed(pg_flow.platform, nonce, **overrides))
    assert_refused(response, 400, "invalid_claim")
    assert counts(pg_app) == before


def test_long_names_and_locale_are_trimmed_to_their_columns(pg_flow: Flow, pg_app: Flask) -> None:
    long = {
        "name": "名" * 400,
        "given_name": "g" * 300,
        "family_name": "f" * 300,
        "email": "e" * 400 + "@example.gov.tw",
        "locale": "zh-TW-" + "x" * 60,
    }
    response = pg_flow.complete_with(lambda nonce: _signed(pg_flow.platform, nonce, **long))
    assert pg_flow.land(response).status_code == 200
    with pg_app.extensions["plugin.db"].session_scope() as session:
        person = session.scalars(select(Person)).one()
        assert person.name == "名" * 255
        assert (len(person.given_name), len(person.family_name)) == (255, 255)
        assert len(person.email) == 320
        assert person.locale == long["locale"][:35]


def test_login_with_an_oversized_storage_target_falls_back_to_the_cookie(pg_flow: Flow) -> None:
    response = pg_flow.login_response(lti_storage_target="t" * 300)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].startswith(pg_flow.platform.auth_login_url)


def test_two_launches_racing_for_the_same_state_accept_only_one_on_postgres(
    pg_flow: Flow, pg_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = pg_flow.login()
    token = pg_flow.platform.sign(pg_flow.platform.claims(auth["nonce"]))
    statuses: list[int] = []

    def racer() -> None:
        # Bound to the login through platform storage: no cookie jar to share between threads.
        response = pg_app.test_client().post(
            "/lti/launch",
            data={"id_token": token, "state": auth["state"], "lti_storage_state": auth["state"]},
            base_url=TOOL,
            headers={"Origin": TOOL},
        )
        statuses.append(response.status_code)

    race_past_the_checks(monkeypatch, racer)

    assert sorted(statuses) == [303, 401]
    with pg_app.extensions["plugin.db"].session_scope() as session:
        assert len(session.scalars(select(Launch)).all()) == 1
