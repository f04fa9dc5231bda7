"""A worker loop's batches played from a script, its waits recorded instead of slept; a worker
process started by a test, stopped as the operator stops it."""

from __future__ import annotations

import random
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

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


def assert_backoff_doubles_capped_and_jittered(
    policy: Any,
    nominal_by_attempts: tuple[tuple[int, float], ...],
    retry_after: int,
) -> None:
    """``policy.retry_delay``: after n attempts, between half the nominal delay and
    the nominal delay, spread by jitter; a Retry-After of ``retry_after`` s is waited at least."""
    rng = random.Random(7)
    for attempts, nominal in nominal_by_attempts:
        delays = [policy.retry_delay(attempts, rng).total_seconds() for _ in range(50)]
        assert all(nominal / 2 <= d <= nominal for d in delays), (attempts, delays)
        assert len({round(d, 3) for d in delays}) > 1  # jitter spreads the retries
    assert policy.retry_delay(1, rng, retry_after=retry_after).total_seconds() >= retry_after


@contextmanager
def killed_if_left_running(process: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """``process``, killed on the way out if the block did not stop it (a failed test)."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def stop_with_sigterm(process: subprocess.Popen[str]) -> str:
    """Send SIGTERM, as a service manager stops a worker, and wait for it; all it printed."""
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    return output
