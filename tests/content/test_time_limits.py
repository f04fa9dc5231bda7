"""A SCO is given its item's time allowed and time-limit action only in the data model's own
format: scorm-again refuses to load anything else, and the SCO would then find no API."""

from __future__ import annotations

import pytest

from plugin.content.cmi import DURATION_2004, TIMESPAN_12
from plugin.content.models import PackageItem
from plugin.content.runtime import time_limits


def _item(max_time_allowed: str, time_limit_action: str) -> PackageItem:
    return PackageItem(max_time_allowed=max_time_allowed, time_limit_action=time_limit_action)


@pytest.mark.parametrize(
    ("pattern", "allowed", "action"),
    [(TIMESPAN_12, "0001:30:00", "exit,message"), (DURATION_2004, "PT1H30M", "continue,message")],
    ids=["scorm-1.2", "scorm-2004"],
)
def test_limits_in_the_data_models_format_are_given(pattern, allowed: str, action: str) -> None:
    assert time_limits(_item(allowed, action), pattern) == {
        "max_time_allowed": allowed,
        "time_limit_action": action,
    }


@pytest.mark.parametrize(
    ("pattern", "allowed", "action"),
    [
        (TIMESPAN_12, "PT1H30M", "Exit, Message"),  # a 2004 duration in a 1.2 package
        (DURATION_2004, "01:30:00", "exit"),  # a 1.2 timespan in a 2004 package
        (DURATION_2004, "", ""),  # stated nowhere
    ],
    ids=["1.2-given-2004-forms", "2004-given-1.2-forms", "none-stated"],
)
def test_limits_in_another_format_are_left_out(pattern, allowed: str, action: str) -> None:
    assert time_limits(_item(allowed, action), pattern) == {}
