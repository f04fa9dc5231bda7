"""Delivery of queued scores to platform gradebooks (LTI AGS 2.0 §3.4), with retries.

Rows of ``lti_grade_outbox`` are claimed in batches: selected ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL (so that several workers never take the same row) and leased by moving their
``next_attempt_at`` past the time the batch may take, in a transaction of their own. The
HTTP calls happen outside any transaction; each row's outcome is written in its own short
one. A worker that dies mid-batch leaves its rows to be taken again when the lease ends.

Outcomes: 2xx delivered; 409 delivered but superseded (the platform keeps a newer score);
network errors, timeouts, 408/425/429 and 5xx wait and retry with exponential backoff and
jitter; any other answer marks the row failed with the platform's words (``grades retry``
puts it back). A failed access token is the registration's problem, not the score's: the
row waits and retries, so no grade is lost while an administrator fixes the registration.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from plugin.core import queue
from plugin.core.db import utcnow
from plugin.core.http_answers import parse_json
from plugin.core.queue import BatchPolicy, UnitOfWork, lease_due_ids, lease_seconds
from plugin.lti import service_links as links
from plugin.lti.grade_outbox import (
    DELIVERED,
    FAILED,
    LINE_ITEM_SCOPE,
    PENDING,
    SCORE_SCOPE,
    SUPERSEDED_NOTE,
)
from plugin.lti.keys import SigningKey, signing_key
from plugin.lti.models import GradeOutbox, Registration
from plugin.lti.service_tokens import (
    KeyLoader,
    ServiceCredentials,
    ServiceError,
    ServiceTokens,
    describe_answer,
    is_transient_status,
    retry_after_seconds,
)

log = logging.getLogger("plugin.lti.grades")

NOT_TRIED_NOTE = "not tried: "

MAX_LINEITEM_PAGES = 10
DEFAULT_SCORE_MAXIMUM = 100.0
# Requests one row may need at worst: two tokens, a line item search over its pages, its
# creation, and the score with one retry after a 401.
REQUESTS_PER_ROW = 2 + MAX_LINEITEM_PAGES + 1 + 2


@dataclass(frozen=True)
class DeliveryPolicy(BatchPolicy):
    """The grade queue's batches: a platform's gradebook is retried less eagerly than an LRS."""

    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0

    @property
    def row_budget_seconds(self) -> float:
        """The longest one row's delivery may take."""
        return REQUESTS_PER_ROW * self.timeout

    @property
    def lease_seconds(self) -> float:
        """How long a claimed batch is kept from other workers (at most 15 minutes, so that
        the rows of a worker that died are soon taken by another; rows a slow batch cannot
        reach in time are handed back before the lease ends)."""
        return lease_seconds(self.row_budget_seconds, self.batch_size)


@dataclass(frozen=True, kw_only=True)
class ClaimedRow(queue.Claimed):
    """A claimed score: the platform's credentials, where it goes, what it says."""

    credentials: ServiceCredentials
    line_item_url: str
    line_items_url: str
    resource_id: str
    resource_link_id: str
    label: str
    score: dict[str, Any]


@dataclass(frozen=True)
class Outcome(queue.Outcome):
    """What happened to one row: delivered | superseded | retry | failed | released (not
    tried, lease ran out), and the line item it was sent to."""

    line_item_url: str = ""


@dataclass
class BatchReport(queue.BatchCounts):
    """Counts of one batch."""

    superseded: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return (
            f"claimed {self.claimed}: delivered {self.delivered} "
            f"(superseded {self.superseded}), deferred {self.deferred}, failed {self.failed}"
            + self.released_note()
        )


def claim_due(
    session: Session, limit: int, now: datetime, lease_until: datetime
) -> list[ClaimedRow]:
    """Take up to ``limit`` due pending rows and lease them until ``lease_until`` (flushes).

    The lease (row locks on PostgreSQL, a re-checked update on SQLite) is
    :func:`plugin.core.queue.lease_due_ids`. Rows are delivered oldest first (by id), so
    that two scores of one learner reach the platform in the order they were earned.
    Scores for a disabled registration are held, not sent and not dropped: an operator who
    switches a platform off stops the tool talking to it, and re-enabling it sends them.
    """
    enabled = select(Registration.id).where(Registration.enabled.is_(True))
    ids = lease_due_ids(
        session, GradeOutbox, limit, now, lease_until, GradeOutbox.registration_id.in_(enabled)
    )
    if not ids:
        return []
    rows = session.scalars(
        select(GradeOutbox)
        .options(joinedload(GradeOutbox.registration))
        .where(GradeOutbox.id.in_(ids))
        .order_by(GradeOutbox.id)
    ).all()
    session.flush()
    return [
        ClaimedRow(
            id=row.id,
            credentials=ServiceCredentials.of(row.registration),
            line_item_url=row.line_item_url,
            line_items_url=row.line_items_url,
            resource_id=row.resource_id,
            resource_link_id=row.resource_link_id,
            label=row.label,
            score=dict(row.score),
            attempts=row.attempts,
        )
        for row in rows
    ]


class _Answer(Exception):
    """An answer that ends a row's delivery (raised from nested steps)."""

    def __init__(self, outcome: Outcome):
        super().__init__(outcome.message)
        self.outcome = outcome


def _judge(response: requests.Response, what: str, line_item_url: str = "") -> Outcome:
    """The outcome of a non-success answer to ``what``."""
    message = f"{what}: {describe_answer(response)}"
    if is_transient_status(response.status_code):
        return Outcome(
            "retry",
            message,
            line_item_url=line_item_url,
            retry_after=retry_after_seconds(response),
        )
    return Outcome("failed", message, line_item_url=line_item_url)


@dataclass
class GradeDeliverer:
    """Delivers claimed rows: finds or creates line items, posts scores, judges answers."""

    tokens: ServiceTokens
    key: KeyLoader
    found_line_items: dict[tuple[Any, ...], str] = field(default_factory=dict)

    def deliver(self, row: ClaimedRow) -> Outcome:
        """Send one row's score; never raises for what the platform answers."""
        line_item_url = row.line_item_url
        try:
            if not line_item_url:
                line_item_url = self.find_or_create_line_item(row)
            return self.post_score(row, line_item_url)
        except _Answer as answer:
            return answer.outcome
        except ServiceError as exc:
            # Network errors and refused tokens: wait and try again (see the module notes).
            if exc.transient or exc.at_token_endpoint:
                return Outcome(
                    "retry", exc.message, line_item_url=line_item_url, retry_after=exc.retry_after
                )
            return Outcome("failed", exc.message, line_item_url=line_item_url)
        except Exception as exc:
            # An answer this code did not foresee must not stop the worker: the row waits
            # and tries again with backoff, and the log keeps the trace for a fix.
            log.exception("grade %s: unexpected error delivering it", row.id)
            message = f"unexpected {type(exc).__name__} handling the platform's answer"
            return Outcome("retry", message, line_item_url=line_item_url)

    def post_score(self, row: ClaimedRow, line_item_url: str) -> Outcome:
        """POST the score to the line item (AGS 2.0 §3.4) and judge the answer."""
        response = self.tokens.request(
            "POST",
            links.scores_url(line_item_url),
            row.credentials,
            [SCORE_SCOPE],
            self.key,
            headers={"Content-Type": links.SCORE_MEDIA, "Accept": "application/json"},
            json_body=row.score,
        )
        if 200 <= response.status_code < 300:
            return Outcome("delivered", line_item_url=line_item_url)
        if response.status_code == 409:
            # AGS 2.0 §3.4.7: the platform has a score with a later timestamp and keeps it;
            # sending this one again would not change that.
            note = SUPERSEDED_NOTE + "the platform keeps a newer score: "
            return Outcome(
                "superseded", note + describe_answer(response), line_item_url=line_item_url
            )
        return _judge(response, "score refused", line_item_url)

    def find_or_create_line_item(self, row: ClaimedRow) -> str:
        """The line item of the row's resource: searched, else created (AGS 2.0 §3.2)."""
        if not row.line_items_url:
            raise _Answer(Outcome("failed", "the launch named neither lineitem nor lineitems"))
        if not (row.resource_id or row.resource_link_id):
            raise _Answer(
                Outcome("failed", "no resource_id or resource_link_id to find the line item by")
            )
        memo_key = (row.credentials, row.line_items_url, row.resource_id, row.resource_link_id)
        if memo_key in self.found_line_items:
            return self.found_line_items[memo_key]
        url = self.search_line_item(row) or self.create_line_item(row)
        self.found_line_items[memo_key] = url
        return url

    def search_line_item(self, row: ClaimedRow) -> str:
        """GET lineitems filtered by resource_id and resource_link_id (AGS 2.0 §3.2.4)."""
        url: str | None = links.with_query(
            row.line_items_url,
            resource_link_id=row.resource_link_id,
            resource_id=row.resource_id,
        )
        seen: set[str] = set()
        for _page in range(MAX_LINEITEM_PAGES):
            if url is None or url in seen:
                break
            seen.add(url)
            response = self.tokens.request(
                "GET",
                url,
                row.credentials,
                [LINE_ITEM_SCOPE],
                self.key,
                headers={"Accept": links.LINEITEMS_MEDIA},
            )
            if response.status_code != 200:
                raise _Answer(_judge(response, "line item search refused"))
            for item in links.listed_items(response):
                if _matches(item, row) and links.same_origin(item["id"], row.line_items_url):
                    return str(item["id"])
            url = links.next_page(response, row.line_items_url)
        return ""

    def create_line_item(self, row: ClaimedRow) -> str:
        """POST a new line item for the resource (AGS 2.0 §3.2.5: label, scoreMaximum)."""
        maximum = row.score.get("scoreMaximum")
        body: dict[str, Any] = {
            "scoreMaximum": maximum
            if isinstance(maximum, int | float) and maximum > 0
            else DEFAULT_SCORE_MAXIMUM,
            "label": row.label or row.resource_id or "Module",
        }
        if row.resource_id:
            body["resourceId"] = row.resource_id
        if row.resource_link_id:
            body["resourceLinkId"] = row.resource_link_id
        response = self.tokens.request(
            "POST",
            row.line_items_url,
            row.credentials,
            [LINE_ITEM_SCOPE],
            self.key,
            headers={"Content-Type": links.LINEITEM_MEDIA, "Accept": links.LINEITEM_MEDIA},
            json_body=body,
        )
        if response.status_code not in (200, 201):
            raise _Answer(_judge(response, "line item creation refused"))
        created = parse_json(response.content)
        item_id = created.get("id") if isinstance(created, dict) else None
        if not isinstance(item_id, str) or not links.same_origin(item_id, row.line_items_url):
            message = "the created line item has no id on the platform's host: "
            raise _Answer(Outcome("failed", message + describe_answer(response)))
        return item_id


def _matches(item: dict[str, Any], row: ClaimedRow) -> bool:
    """Whether a listed line item is the row's: platforms may ignore the query's filters."""
    if row.resource_id and item.get("resourceId") != row.resource_id:
        return False
    link = item.get("resourceLinkId")
    if row.resource_link_id and (link is not None or not row.resource_id):
        return str(link) == row.resource_link_id
    return True


def record_outcome(
    session: Session,
    row_id: int,
    outcome: Outcome,
    now: datetime,
    policy: DeliveryPolicy,
    rng: random.Random,
) -> str:
    """Write one row's outcome (flushes); returns the status it now has."""
    row = session.get(GradeOutbox, row_id)
    if row is None or row.status != PENDING:
        return row.status if row is not None else ""
    if outcome.line_item_url and not row.line_item_url:
        row.line_item_url = outcome.line_item_url
        # Rows waiting for the same resource need not search again.
        session.execute(
            update(GradeOutbox)
            .where(
                GradeOutbox.registration_id == row.registration_id,
                GradeOutbox.line_items_url == row.line_items_url,
                GradeOutbox.resource_id == row.resource_id,
                GradeOutbox.resource_link_id == row.resource_link_id,
                GradeOutbox.line_item_url == "",
                GradeOutbox.status == PENDING,
            )
            .values(line_item_url=outcome.line_item_url)
            .execution_options(synchronize_session=False)
        )
    if outcome.status != "released":
        row.attempts += 1
    if outcome.status in ("delivered", "superseded"):
        row.status = DELIVERED
        row.delivered_at = now
        row.last_error = outcome.message
    elif outcome.status == "failed":
        row.status = FAILED
        row.last_error = outcome.message
    elif outcome.status == "released":
        row.next_attempt_at = now
    else:
        row.next_attempt_at = now + policy.retry_delay(row.attempts, rng, outcome.retry_after)
        row.last_error = outcome.message
    session.flush()
    return row.status


def deliver_due_scores(
    unit_of_work: UnitOfWork,
    tokens: ServiceTokens,
    secret_key: str,
    policy: DeliveryPolicy,
    *,
    now: Callable[[], datetime] = utcnow,
    rng: random.Random | None = None,
) -> BatchReport:
    """Claim one batch of due rows and deliver it; returns what happened.

    ``unit_of_work`` opens a session that commits when its block ends (the caller's
    ``Database.session_scope``): one for the claim, one for each row's outcome.
    """
    rng = rng or random.Random()
    report = BatchReport()
    started = now()
    with unit_of_work() as session:
        rows = claim_due(
            session,
            policy.batch_size,
            started,
            started + timedelta(seconds=policy.lease_seconds),
        )
    report.claimed = len(rows)
    if not rows:
        return report
    deliverer = GradeDeliverer(tokens, _key_loader(unit_of_work, secret_key))
    unavailable: dict[int, str] = {}  # registration id → why its platform is not answering
    deadline = started + timedelta(seconds=policy.lease_seconds - policy.row_budget_seconds)
    for row in rows:
        if now() >= deadline:
            outcome = Outcome("released")
        elif row.credentials.registration_id in unavailable:
            # The platform failed earlier in this batch: do not call it again for each row.
            reason = unavailable[row.credentials.registration_id]
            outcome = Outcome("retry", NOT_TRIED_NOTE + reason)
        else:
            outcome = deliverer.deliver(row)
            if outcome.status == "retry":
                unavailable[row.credentials.registration_id] = outcome.message
        with unit_of_work() as session:
            record_outcome(session, row.id, outcome, now(), policy, rng)
        _count(report, outcome)
        _log(row, outcome)
    return report


def _key_loader(unit_of_work: UnitOfWork, secret_key: str) -> KeyLoader:
    """The tool's signing key, read (or made) once per batch and only when a token is due."""
    loaded: list[SigningKey] = []
    lock = threading.Lock()

    def load() -> SigningKey:
        with lock:
            if not loaded:
                with unit_of_work() as session:
                    loaded.append(signing_key(session, secret_key))
            return loaded[0]

    return load


def _count(report: BatchReport, outcome: Outcome) -> None:
    if outcome.status == "delivered":
        report.delivered += 1
    elif outcome.status == "superseded":
        report.delivered += 1
        report.superseded += 1
    elif outcome.status == "failed":
        report.failed += 1
    elif outcome.status == "released":
        report.released += 1
    else:
        report.deferred += 1


def _log(row: ClaimedRow, outcome: Outcome) -> None:
    if outcome.status == "failed":
        log.error("grade %s failed: %s", row.id, outcome.message)
    elif outcome.status == "retry":
        log.warning("grade %s deferred: %s", row.id, outcome.message)
    elif outcome.status in ("delivered", "superseded"):
        log.info("grade %s delivered%s", row.id, f" ({outcome.message})" if outcome.message else "")


def run_worker(
    deliver_batch: Callable[[], BatchReport],
    *,
    batch_size: int,
    interval: float,
    once: bool,
    stop: threading.Event,
    report: Callable[[BatchReport], None] = lambda _report: None,
) -> int:
    """Deliver batches until ``stop`` is set (or once); returns how many rows were claimed.

    A full batch that went somewhere is followed at once by the next; otherwise the worker
    sleeps ``interval`` seconds (plugin.core.queue.run_worker).
    """

    def more_due(batch: BatchReport) -> bool:
        return batch.claimed >= batch_size and batch.deferred + batch.released != batch.claimed

    return queue.run_worker(
        deliver_batch, name="grade worker", interval=interval, once=once, stop=stop,
        more_due=more_due, report=report,
    )  # fmt: skip
