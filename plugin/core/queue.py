"""What the durable queues (grade outbox, statement outbox) share: leasing and backoff.

A queue table has an integer ``id``, a ``status`` and a ``next_attempt_at``; a worker leases
due rows by moving ``next_attempt_at`` forward, sends outside any transaction, and records
each outcome in a short transaction of its own.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger("plugin.queue")

PENDING = "pending"
# A Retry-After longer than this is treated as this (a day): a typo must not park a row forever.
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0
# A claimed batch is kept from other workers at most this long, so that the rows of a worker
# that died are soon taken by another.
MAX_LEASE_SECONDS = 15 * 60.0

# A short transaction: a worker opens one per lease and per recorded outcome.
UnitOfWork = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class PendingAge:
    """A queue's counts of pending and delivered rows, and when its oldest pending row was
    queued; each queue adds the counts of its own other states."""

    pending: int = 0
    delivered: int = 0
    oldest_pending_at: datetime | None = None

    def oldest_pending_age(self, now: datetime) -> timedelta | None:
        """How long the oldest pending row has waited."""
        return now - self.oldest_pending_at if self.oldest_pending_at else None


def stored_utc(value: datetime | None) -> datetime | None:
    """A timestamp read past its UTCDateTime column as aware UTC: ``func.min`` bypasses the
    column type on SQLite, which hands back the naive UTC value it stores."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True, kw_only=True)
class Claimed:
    """What a worker needs of one claimed row, read before any request is made: its id and
    how many times it was tried (the backoff after a failure grows with that)."""

    id: int
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """What happened to what a worker tried to send (one row, or the rows of one request)."""

    status: str
    message: str = ""
    retry_after: float | None = None


@dataclass
class BatchCounts:
    """The counts every queue's batch report keeps."""

    claimed: int = 0
    delivered: int = 0
    deferred: int = 0
    released: int = 0

    def released_note(self) -> str:
        """ ", released N" when rows were handed back untried, else nothing."""
        return f", released {self.released}" if self.released else ""


@dataclass(frozen=True)
class BatchPolicy:
    """How many rows a batch takes, how long requests may take, how retries back off."""

    batch_size: int = 50
    timeout: float = 10.0
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 900.0

    def retry_delay(
        self, attempts: int, rng: random.Random | None = None, retry_after: float | None = None
    ) -> timedelta:
        """The policy's backoff with jitter before the next try (:func:`backoff_delay`)."""
        return backoff_delay(
            attempts, self.retry_base_seconds, self.retry_max_seconds, rng, retry_after
        )


def lease_seconds(step_seconds: float, steps: int) -> float:
    """A batch's lease: ``steps`` steps of at most ``step_seconds`` plus a minute, capped at
    :data:`MAX_LEASE_SECONDS` but never shorter than one step and a minute."""
    wanted = step_seconds * steps + 60.0
    return max(step_seconds + 60.0, min(wanted, MAX_LEASE_SECONDS))


def backoff_delay(
    attempts: int,
    base_seconds: float,
    max_seconds: float,
    rng: random.Random | None = None,
    retry_after: float | None = None,
) -> timedelta:
    """Exponential backoff with jitter: base·2^(attempts−1), capped, times a random 0.5–1.

    The jitter spreads the retries of many rows (and workers) after an outage, and the
    delay is never below half the base, so a failing peer is never called in a loop.
    A ``Retry-After`` (RFC 9110 §10.2.3) from a 429 or 503 lengthens the wait.
    """
    rng = rng or random.Random()
    exponent = min(max(attempts, 1) - 1, 32)
    nominal = min(max_seconds, base_seconds * 2**exponent)
    seconds = nominal * rng.uniform(0.5, 1.0)
    if retry_after is not None:
        seconds = max(seconds, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return timedelta(seconds=seconds)


def lease_due_ids(
    session: Session,
    model: Any,
    limit: int,
    now: datetime,
    lease_until: datetime,
    *conditions: Any,
) -> list[int]:
    """Lease up to ``limit`` due pending rows of ``model`` until ``lease_until``; their ids.

    On PostgreSQL the rows are locked ``FOR UPDATE SKIP LOCKED``: a concurrent claimer
    skips them instead of waiting, so no two workers take the same row. SQLite has no row
    locks and renders a plain select; it serialises writers, and the lease is only taken
    where the row is still due. Oldest first (by due time, then id).
    """
    due = (model.status == PENDING, model.next_attempt_at <= now, *conditions)
    ids = list(
        session.scalars(
            select(model.id)
            .where(*due)
            .order_by(model.next_attempt_at, model.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    # The lease is taken only where the row is still due: on PostgreSQL the locks already
    # make it ours; elsewhere this re-check keeps a racing worker from taking it twice.
    lease = (
        update(model)
        .where(model.id.in_(ids), *due)
        .values(next_attempt_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    if session.get_bind().dialect.update_returning:
        return list(session.scalars(lease.returning(model.id)))
    session.execute(lease)
    return list(
        session.scalars(
            select(model.id).where(model.id.in_(ids), model.next_attempt_at == lease_until)
        )
    )


def requeue(session: Session, rows: Sequence[Any], now: datetime) -> int:
    """Put ``rows`` back in their queue, pending and due ``now``, their backoff begun again at
    its base (flushes); how many."""
    for row in rows:
        row.status = PENDING
        row.attempts = 0
        row.next_attempt_at = now
    session.flush()
    return len(rows)


def run_worker(
    deliver_batch: Callable[[], Any],
    *,
    name: str,
    interval: float,
    once: bool,
    stop: threading.Event,
    more_due: Callable[[Any], bool],
    report: Callable[[Any], None] = lambda _report: None,
) -> int:
    """Deliver batches until ``stop`` is set (or once); returns how many rows were claimed.

    When ``more_due(batch)`` says another batch is ready, it follows at once; otherwise the
    worker sleeps ``interval`` seconds, waking early when stopped — so a failing peer or an
    empty queue never makes it spin. A database or any other error is logged and waited out.
    """
    claimed = 0
    while not stop.is_set():
        try:
            batch = deliver_batch()
        except SQLAlchemyError as exc:
            log.error("%s: database error, retrying in %.0f s: %s", name, interval, exc)
            if once:
                raise
            stop.wait(interval)
            continue
        except Exception:
            # Whatever a peer answered or a bug raised, the worker goes on after a pause:
            # its leased rows come back when the lease ends (docs/ARCHITECTURE.md §3).
            log.exception("%s: unexpected error, retrying in %.0f s", name, interval)
            if once:
                raise
            stop.wait(interval)
            continue
        claimed += batch.claimed
        if batch.claimed:
            report(batch)
        if once:
            break
        if not more_due(batch):
            stop.wait(interval)
    return claimed
