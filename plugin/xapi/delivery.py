"""Delivery of outbox statements to the LRS targets, in batches, with retries.

Rows of ``xapi_outbox`` are claimed per target in batches: selected ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL (so that several workers never take the same row) and leased by
moving their ``next_attempt_at`` past the time the batch may take, in a transaction of their
own. The HTTP calls happen outside any transaction; the outcome of each request is written
for its rows in its own short transaction. A worker that dies mid-batch leaves its rows to be
taken again when the lease ends; a statement it had already sent is sent again with the same
id, and the LRS answers 204 without storing it twice (xAPI 1.0.3 Communication §2.1.2).

Outcomes of a POST: 200/204 delivered; 400, 409, 413, 422 (the LRS refuses statements) split
the batch in halves until the refused statement is alone, which is quarantined with the LRS's
reason while the others go through; anything else — network errors, timeouts, 5xx, refused
credentials — leaves the batch pending with exponential backoff and jitter, and the rest of
the batch is not tried against an LRS that just failed. ``xapi retry`` puts quarantined rows
back in the queue.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, true, update
from sqlalchemy.orm import Session, load_only

from plugin.core import queue
from plugin.core.db import affected_rows, utcnow
from plugin.core.queue import (
    BatchPolicy,
    PendingAge,
    UnitOfWork,
    lease_due_ids,
    lease_seconds,
    stored_utc,
)
from plugin.organisations.audience import Audience
from plugin.xapi.lrs_client import MAX_REASON, LrsAnswer, LrsClient
from plugin.xapi.models import DELIVERED, PENDING, QUARANTINED, OutboxStatement

log = logging.getLogger("plugin.xapi")

NOT_TRIED_NOTE = "not tried: "


@dataclass(frozen=True)
class DeliveryPolicy(BatchPolicy):
    """The statement queue's batches, which a refused statement splits."""

    @property
    def request_budget_seconds(self) -> float:
        """The longest one POST may take (connect and read timeouts, see LrsClient)."""
        return 2 * self.timeout

    @property
    def lease_seconds(self) -> float:
        """How long a claimed batch is kept from other workers: enough for the requests
        splitting a refused batch may need (at most 2n−1), but at most 15 minutes, so that
        the rows of a worker that died are soon taken by another. Rows a slow batch cannot
        reach in time are handed back before the lease ends."""
        return lease_seconds(self.request_budget_seconds, 2 * self.batch_size - 1)


@dataclass(frozen=True, kw_only=True)
class ClaimedStatement(queue.Claimed):
    """A claimed statement: its id and the statement."""

    statement_id: str
    statement: dict[str, Any]


@dataclass(frozen=True)
class Outcome(queue.Outcome):
    """What happened to the rows of one request: delivered | quarantined | retry | released
    (not tried, lease ran out)."""


@dataclass
class BatchReport(queue.BatchCounts):
    """Counts of one round over the targets."""

    quarantined: int = 0
    requests: int = 0
    # Whether some target had a full batch that went through: more may be waiting.
    more_due: bool = False

    def add(self, other: BatchReport) -> None:
        """Add another report's counts to this one."""
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.quarantined += other.quarantined
        self.deferred += other.deferred
        self.released += other.released
        self.requests += other.requests
        self.more_due = self.more_due or other.more_due

    def __str__(self) -> str:
        return (
            f"claimed {self.claimed}: delivered {self.delivered}, "
            f"quarantined {self.quarantined}, deferred {self.deferred}"
            + self.released_note()
            + f" ({self.requests} request(s))"
        )


def claim_due(
    session: Session, target: str, limit: int, now: datetime, lease_until: datetime
) -> list[ClaimedStatement]:
    """Take up to ``limit`` due pending rows of ``target`` and lease them (flushes).

    The lease (row locks on PostgreSQL, a re-checked update on SQLite) is
    :func:`plugin.core.queue.lease_due_ids`. The batch is sent in the order the rows were
    written, so an LRS stores a learner's statements in the order they happened.
    """
    ids = lease_due_ids(
        session, OutboxStatement, limit, now, lease_until, OutboxStatement.target == target
    )
    if not ids:
        return []
    rows = session.execute(
        select(
            OutboxStatement.id,
            OutboxStatement.statement_id,
            OutboxStatement.statement,
            OutboxStatement.attempts,
        )
        .where(OutboxStatement.id.in_(ids))
        .order_by(OutboxStatement.id)
    ).all()
    session.flush()
    return [
        ClaimedStatement(id=row[0], statement_id=row[1], statement=dict(row[2]), attempts=row[3])
        for row in rows
    ]


def record_outcome(
    session: Session,
    row_ids: Iterable[int],
    outcome: Outcome,
    now: datetime,
    policy: DeliveryPolicy,
    rng: random.Random,
) -> int:
    """Write the outcome of one request to its rows (flushes); returns how many changed.

    Rows no longer pending (another worker finished them after this one's lease ran out)
    are left as they are: every write is conditional on the row still being pending, so
    on PostgreSQL it re-checks a row another transaction changed meanwhile.
    """
    still_pending = (OutboxStatement.id.in_(list(row_ids)), OutboxStatement.status == PENDING)
    if outcome.status == "retry":
        return _schedule_retries(session, still_pending, outcome, now, policy, rng)
    values: dict[str, Any]
    if outcome.status == "released":
        values = {"next_attempt_at": now}
    elif outcome.status == "delivered":
        values = {"status": DELIVERED, "delivered_at": now}
    else:
        values = {"status": QUARANTINED, "last_error": outcome.message[:MAX_REASON]}
    if outcome.status != "released":
        values["attempts"] = OutboxStatement.attempts + 1
    # One UPDATE for the whole group: these outcomes need no statement body, so none is read
    # back (reading and decoding 50 JSON bodies per request was half the worker's CPU time).
    result = session.execute(
        update(OutboxStatement)
        .where(*still_pending)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result)


def _schedule_retries(
    session: Session,
    still_pending: tuple[Any, ...],
    outcome: Outcome,
    now: datetime,
    policy: DeliveryPolicy,
    rng: random.Random,
) -> int:
    """Count an attempt on each row and set its own jittered next try (flushes)."""
    rows = session.scalars(
        select(OutboxStatement)
        .where(*still_pending)
        .options(load_only(OutboxStatement.attempts))  # not the statement body
        .order_by(OutboxStatement.id)
    ).all()
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + policy.retry_delay(row.attempts, rng, outcome.retry_after)
        row.last_error = outcome.message[:MAX_REASON]
    session.flush()
    return len(rows)


@dataclass
class _TargetBatch:
    """One target's claimed rows on their way: groups still to send, and the counts."""

    client: LrsClient
    policy: DeliveryPolicy
    unit_of_work: UnitOfWork
    now: Callable[[], datetime]
    rng: random.Random
    deadline: datetime
    report: BatchReport = field(default_factory=BatchReport)

    def deliver(self, rows: Sequence[ClaimedStatement]) -> BatchReport:
        """Send the rows, splitting refused groups, stopping at the first failure."""
        self.report.claimed = len(rows)
        groups: deque[list[ClaimedStatement]] = deque([list(rows)])
        failure: LrsAnswer | None = None
        while groups:
            group = groups.popleft()
            if failure is not None:
                # The LRS just failed: do not call it again for each remaining group.
                self.finish(group, Outcome("retry", NOT_TRIED_NOTE + failure.message))
                continue
            if self.now() + timedelta(seconds=self.policy.request_budget_seconds) > self.deadline:
                self.finish(group, Outcome("released"))
                continue
            answer = self._post(group)
            self.report.requests += 1
            if answer.verdict == "stored":
                self.finish(group, Outcome("delivered"))
            elif answer.verdict == "rejected" and len(group) > 1:
                # One or more statements are refused and the LRS stored none of the batch
                # (xAPI 1.0.3 Communication §2.1.2: a batch is all or nothing). Halves are
                # sent in order until each refused statement is alone.
                middle = len(group) // 2
                groups.extendleft([group[middle:], group[:middle]])
            elif answer.verdict == "rejected":
                self.finish(group, Outcome("quarantined", answer.message))
            else:
                failure = answer
                self.finish(group, Outcome("retry", answer.message, answer.retry_after))
        self.report.more_due = (
            self.report.claimed >= self.policy.batch_size
            and self.report.deferred + self.report.released < self.report.claimed
        )
        return self.report

    def _post(self, group: Sequence[ClaimedStatement]) -> LrsAnswer:
        """The LRS's answer to the group; an error no answer should cause waits and retries
        (logged with its trace) rather than stopping the worker."""
        try:
            return self.client.post_statements([row.statement for row in group])
        except Exception as exc:
            log.exception("xapi %s: unexpected error sending statements", self.client.target.name)
            return LrsAnswer("retry", None, f"unexpected {type(exc).__name__} sending statements")

    def finish(self, group: Sequence[ClaimedStatement], outcome: Outcome) -> None:
        """Record one group's outcome in its own transaction, count and log it."""
        with self.unit_of_work() as session:
            record_outcome(
                session, [row.id for row in group], outcome, self.now(), self.policy, self.rng
            )
        count = len(group)
        target = self.client.target.name
        if outcome.status == "delivered":
            self.report.delivered += count
            log.info("xapi %s: %d statement(s) delivered", target, count)
        elif outcome.status == "quarantined":
            self.report.quarantined += count
            log.error(
                "xapi %s: statement %s quarantined: %s",
                target,
                group[0].statement_id,
                outcome.message,
            )
        elif outcome.status == "released":
            self.report.released += count
        else:
            self.report.deferred += count
            if not outcome.message.startswith(NOT_TRIED_NOTE):
                log.warning("xapi %s: %d statement(s) deferred: %s", target, count, outcome.message)


def deliver_due_statements(
    unit_of_work: UnitOfWork,
    clients: Mapping[str, LrsClient],
    policy: DeliveryPolicy,
    *,
    now: Callable[[], datetime] = utcnow,
    rng: random.Random | None = None,
) -> BatchReport:
    """Claim and deliver one batch per LRS target; returns what happened.

    ``clients`` maps each configured target name to its client; each target has its own
    rows, batches and backoff, so an LRS that is down holds up none of the others' rows.
    ``unit_of_work`` opens a session that commits when its block ends (the caller's
    ``Database.session_scope``): one for each claim, one for each request's outcome.
    """
    rng = rng or random.Random()
    total = BatchReport()
    for name, client in clients.items():
        started = now()
        lease_until = started + timedelta(seconds=policy.lease_seconds)
        with unit_of_work() as session:
            rows = claim_due(session, name, policy.batch_size, started, lease_until)
        if not rows:
            continue
        # The last request must end before the lease does, or another worker could take
        # the same rows while this one is still sending them.
        batch = _TargetBatch(client, policy, unit_of_work, now, rng, deadline=lease_until)
        total.add(batch.deliver(rows))
    return total


def run_worker(
    deliver_batch: Callable[[], BatchReport],
    *,
    interval: float,
    once: bool,
    stop: threading.Event,
    report: Callable[[BatchReport], None] = lambda _report: None,
) -> int:
    """Deliver batches until ``stop`` is set (or once); returns how many rows were claimed.

    When some target had a full batch that went through, the next follows at once;
    otherwise the worker sleeps ``interval`` seconds (plugin.core.queue.run_worker).
    """
    return queue.run_worker(
        deliver_batch, name="xapi worker", interval=interval, once=once, stop=stop,
        more_due=lambda batch: batch.more_due, report=report,
    )  # fmt: skip


@dataclass(frozen=True)
class TargetCounts(PendingAge):
    """The state of one target's queue."""

    target: str = field(kw_only=True)
    quarantined: int = 0
    last_error: str = ""
    last_error_row: int | None = None


def _rows_of(audience: Audience) -> ColumnElement[bool]:
    """The outbox rows ``audience`` sees: its organisation's (the operator: every row)."""
    if audience.is_operator:
        return true()
    return OutboxStatement.organisation_id == audience.organisation_id


def queue_counts(
    session: Session, targets: Sequence[str] = (), *, audience: Audience
) -> list[TargetCounts]:
    """Counts per target and status, the oldest pending row and the newest error, of the
    rows ``audience`` sees.

    Every name in ``targets`` (the configured ones) is listed, even with an empty queue,
    and so is every other target rows still name (an LRS removed from the config).
    """
    mine = _rows_of(audience)
    by_target: dict[str, dict[str, int]] = {name: {} for name in targets}
    for target, status, count in session.execute(
        select(OutboxStatement.target, OutboxStatement.status, func.count())
        .where(mine)
        .group_by(OutboxStatement.target, OutboxStatement.status)
    ):
        by_target.setdefault(target, {})[status] = int(count)
    oldest = dict(
        session.execute(
            select(OutboxStatement.target, func.min(OutboxStatement.created_at))
            .where(OutboxStatement.status == PENDING, mine)
            .group_by(OutboxStatement.target)
        ).all()
    )
    result = []
    for target, counts in by_target.items():
        latest = session.execute(
            select(OutboxStatement.id, OutboxStatement.last_error)
            .where(
                OutboxStatement.target == target,
                OutboxStatement.status.in_((PENDING, QUARANTINED)),
                OutboxStatement.last_error != "",
                mine,
            )
            .order_by(OutboxStatement.id.desc())
            .limit(1)
        ).first()
        result.append(
            TargetCounts(
                target=target,
                pending=counts.get(PENDING, 0),
                delivered=counts.get(DELIVERED, 0),
                quarantined=counts.get(QUARANTINED, 0),
                oldest_pending_at=stored_utc(oldest.get(target)),
                last_error=latest[1] if latest else "",
                last_error_row=latest[0] if latest else None,
            )
        )
    return result


@dataclass(frozen=True)
class QuarantinedStatement:
    """A statement an LRS refused, with its reason."""

    id: int
    target: str
    statement_id: str
    verb: str
    created_at: datetime
    attempts: int
    reason: str


def list_quarantined(
    session: Session, limit: int = 50, *, audience: Audience
) -> list[QuarantinedStatement]:
    """The newest quarantined statements ``audience`` sees, newest first."""
    rows = session.scalars(
        select(OutboxStatement)
        .where(OutboxStatement.status == QUARANTINED, _rows_of(audience))
        .order_by(OutboxStatement.id.desc())
        .limit(limit)
    ).all()
    return [
        QuarantinedStatement(
            id=row.id,
            target=row.target,
            statement_id=row.statement_id,
            verb=row.verb,
            created_at=row.created_at,
            attempts=row.attempts,
            reason=row.last_error,
        )
        for row in rows
    ]


def retry_quarantined(
    session: Session,
    ids: Sequence[int] = (),
    target: str | None = None,
    now: datetime | None = None,
) -> int:
    """Put quarantined rows (all, those with ``ids``, or of ``target``) back in the queue,
    due now (flushes); the LRS's reason stays in ``last_error`` until the next outcome."""
    statement = select(OutboxStatement).where(OutboxStatement.status == QUARANTINED)
    if ids:
        statement = statement.where(OutboxStatement.id.in_(list(ids)))
    if target is not None:
        statement = statement.where(OutboxStatement.target == target)
    return queue.requeue(session, session.scalars(statement).all(), now or utcnow())
