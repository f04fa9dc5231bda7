"""``exp`` and ``iat`` are checked with the configured clock leeway (default 60 s)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from flask import Flask

from tests.support.flows import Flow, assert_refused, counts, registered_flow


def _times(exp_offset: int, iat_offset: int) -> dict[str, int]:
    now = int(time.time())
    return {"exp": now + exp_offset, "iat": now + iat_offset}


def test_token_expired_30_seconds_ago_is_accepted_within_the_default_leeway(
    flow: Flow, app: Flask
) -> None:
    response = flow.complete(**_times(exp_offset=-30, iat_offset=-330))
    assert flow.land(response).status_code == 200


def test_token_issued_30_seconds_in_the_future_is_accepted_within_the_default_leeway(
    flow: Flow,
) -> None:
    response = flow.complete(**_times(exp_offset=330, iat_offset=30))
    assert flow.land(response).status_code == 200


def test_token_expired_120_seconds_ago_is_rejected(flow: Flow, app: Flask) -> None:
    response = flow.complete(**_times(exp_offset=-120, iat_offset=-420))
    assert_refused(response, 401, "token_expired")
    assert counts(app)["launches"] == 0


def test_token_issued_120_seconds_in_the_future_is_rejected(flow: Flow, app: Flask) -> None:
    response = flow.complete(**_times(exp_offset=420, iat_offset=120))
    assert_refused(response, 401, "token_issued_in_future")
    assert counts(app)["launches"] == 0


@pytest.mark.parametrize(
    ("times", "code"),
    [
        (lambda: _times(exp_offset=-30, iat_offset=-330), "token_expired"),
        (lambda: _times(exp_offset=330, iat_offset=30), "token_issued_in_future"),
    ],
    ids=["expired_30s", "issued_30s_ahead"],
)
def test_zero_leeway_rejects_what_the_default_leeway_accepts(
    times: Callable[[], dict[str, int]], code: str, make_app: Callable[..., Flask]
) -> None:
    app = make_app(lti={"clock_leeway_seconds": 0})
    with registered_flow(app) as flow:
        assert_refused(flow.complete(**times()), 401, code)
        assert counts(app)["launches"] == 0
