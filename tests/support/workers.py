"""A worker loop's batches played from a script, its waits recorded instead of slept."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

Report = TypeVar("Report")


def scripted_batches(
    reports: list[Report],
) -> tuple[Callable[[], Report], threading.Event, list[float]]:
    """A batch function that returns ``reports`` in turn and sets the stop event after the
    last; the stop event, whose waits return at once; the list of the waits asked for."""
    stop = threading.Event()
    waits: list[float] = []
    original_wait = stop.wait

    def counting_wait(timeout: float | None = None) -> bool:
        waits.append(timeout or 0)
        return original_wait(0)

    stop.wait = counting_wait  # type: ignore[method-assign]

    def batch() -> Report:
        report = reports.pop(0)
        if not reports:
            stop.set()
        return report

    return batch, stop, waits
