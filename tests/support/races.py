"""Two requests raced through the launch's one-time state: both pass every check first."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import plugin.lti.launch as launch_module


def race_past_the_checks(monkeypatch: pytest.MonkeyPatch, racer: Callable[[], None]) -> None:
    """Run ``racer`` on two threads at once; each reaches the state's consumption only once
    both have passed every check before it, so neither sees the state used yet."""
    both_checked = threading.Barrier(2, timeout=10)
    real_consume = launch_module._consume_state

    def consume_after_both_checked(session: Any, state: str) -> None:
        both_checked.wait()
        real_consume(session, state)

    monkeypatch.setattr(launch_module, "_consume_state", consume_after_both_checked)
    threads = [threading.Thread(target=racer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
