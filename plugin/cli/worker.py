"""The one shape of a delivery worker command (``grades worker``, ``xapi worker``): options,
signal handling, the loop and what it prints (docs/ARCHITECTURE.md §3: outboxes and workers)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click

from plugin.core.queue import PendingAge

# run(once, stop, report) delivers until ``stop`` is set (or one batch when ``once``) and
# returns how many rows it claimed.
RunLoop = Callable[[bool, threading.Event, Callable[[Any], None]], int]


@dataclass(frozen=True)
class Worker:
    """A started worker: its loop, its name in reports and what it says when it starts."""

    label: str  # prefixes each batch report: "grades: …"
    banner: str  # printed once the signal handlers are in place
    stopped: str  # printed when a long-running worker ends
    run: RunLoop
    close: Callable[[], None] = lambda: None


def worker_command(
    group: click.Group, settings_prefix: str, *, once_help: str, rows: str
) -> Callable[[Callable[[int | None, float | None], Worker]], click.Command]:
    """Make ``group worker`` from ``start(batch, interval)``, whose docstring is the help.

    ``--batch`` and ``--interval`` default to the settings ``<settings_prefix>batch_size`` and
    ``<settings_prefix>worker_interval_seconds``, which their help names; ``rows`` is what a
    batch counts ("Rows", "Statements")."""
    batch_help = f"{rows} per batch [{settings_prefix}batch_size]."
    interval_help = (
        f"Seconds to wait when nothing is due [{settings_prefix}worker_interval_seconds]."
    )

    def decorate(start: Callable[[int | None, float | None], Worker]) -> click.Command:
        @group.command("worker", help=start.__doc__)
        @click.option("--once", is_flag=True, help=once_help)
        @click.option("--batch", type=click.IntRange(min=1), default=None, help=batch_help)
        @click.option(
            "--interval", type=click.FloatRange(min=0.1), default=None, help=interval_help
        )
        def command(once: bool, batch: int | None, interval: float | None) -> None:
            worker = start(batch, interval)
            stop = threading.Event()
            try:
                with stopped_by_signals(stop, enabled=not once):
                    if not once:  # announced once the handlers are in place: SIGTERM is clean
                        click.echo(worker.banner)
                    claimed = worker.run(
                        once, stop, lambda report: click.echo(f"{worker.label}: {report}")
                    )
            finally:
                worker.close()
            if once and not claimed:
                click.echo(f"{worker.label}: nothing due")
            if not once:
                click.echo(worker.stopped)

        return command

    return decorate


@contextmanager
def stopped_by_signals(stop: threading.Event, enabled: bool = True) -> Iterator[None]:
    """SIGTERM and SIGINT end the worker after its current row; old handlers come back."""
    previous = {}
    if enabled and threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda _signum, _frame: stop.set())
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def pending_line(counts: PendingAge, now: datetime) -> str:
    """``pending: N``, with how long the oldest pending row has waited when there is one."""
    age = counts.oldest_pending_age(now)
    waited = f" (oldest waiting {duration(age.total_seconds())})" if age is not None else ""
    return f"pending: {counts.pending}{waited}"


def duration(seconds: float) -> str:
    """A wait as its two largest units, e.g. ``2 h 5 min``."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    shown = [f"{n} {unit}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0 s"
