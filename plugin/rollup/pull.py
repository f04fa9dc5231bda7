"""Evidence from statements other providers put in the LRS (``flask --app plugin evidence pull``).

Reads ``GET statements?since=…&ascending=true`` from the saved cursor, following ``more``
(xAPI 1.0.3 Communication §2.1.3, §2.1.4), and keeps the statements that carry framework IRIs
in ``contextActivities`` or whose object is a tagged catalog module. The tool's own statements
(its profile in ``category``) are skipped: they are recorded directly. Evidence is unique by
(statement id, item), so pulling twice — or from an older cursor — changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.models import Framework, Module
from plugin.core.config import LrsTarget
from plugin.core.db import utcnow
from plugin.core.errors import PluginError
from plugin.rollup.engine import RollupConfig
from plugin.rollup.evidence import EvidenceInput, Observed, RecordingReport, record_evidence
from plugin.rollup.learners import learner_for
from plugin.rollup.models import Evidence, PullCursor

XAPI_VERSION = "1.0.3"
PAGE_LIMIT = 200
MAX_PAGES = 1000
LEVEL_AT_END = re.compile(r"(\d+)$")


class PullFailed(PluginError):
    """The LRS could not be read; nothing was recorded."""

    code = "pull_failed"
    status = 502


@dataclass(frozen=True, kw_only=True)
class Pulled(Observed):
    """One statement taken as evidence: the statement and the evidence it shows."""

    statement: dict[str, Any]


@dataclass
class PullReport(RecordingReport[Pulled]):
    """What a pull read and recorded."""

    read: int = 0
    taken: list[Pulled] = field(default_factory=list)
    cursor: str = ""


def fetch_statements(
    target: LrsTarget, since: str, timeout: float, http: requests.Session | None = None
) -> Iterator[dict[str, Any]]:
    """Every statement stored at or after ``since`` (all when empty), oldest first."""
    client = http or requests.Session()
    url = target.endpoint.rstrip("/") + "/statements"
    params: dict[str, Any] | None = {"ascending": "true", "limit": PAGE_LIMIT}
    if since and params is not None:
        params["since"] = since
    auth = (target.username, target.password) if target.username else None
    for _page in range(MAX_PAGES):
        try:
            response = client.get(
                url, params=params, auth=auth, timeout=timeout,
                headers={"X-Experience-API-Version": XAPI_VERSION, "Accept": "application/json"},
            )  # fmt: skip
        except requests.RequestException as exc:
            raise PullFailed(f"{target.name}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise PullFailed(f"{target.name}: HTTP {response.status_code}: {response.text[:300]}")
        try:
            body = response.json()
        except ValueError:
            raise PullFailed(f"{target.name}: the answer is not JSON") from None
        yield from body.get("statements", [])
        more = body.get("more") or ""
        if not more:
            return
        # ``more`` is relative to the LRS's host (Communication §2.1.4 StatementResult).
        url, params = urljoin(target.endpoint, more), None


def _context_activity_ids(context: dict[str, Any]) -> list[str]:
    """The ids of every context activity, whether a kind holds a list or one activity."""
    activities = context.get("contextActivities") or {}
    lists = [value if isinstance(value, list) else [value] for value in activities.values()]
    return [a.get("id", "") for group in lists for a in group if isinstance(a, dict)]


def _observed_at(statement: dict[str, Any]) -> datetime | None:
    """When the statement says it happened (else when stored), if that has a time zone."""
    moment = statement.get("timestamp") or statement.get("stored") or ""
    try:
        observed_at = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
    return observed_at if observed_at.tzinfo is not None else None


class _Reader:
    def __init__(self, session: Session, framework: Framework, iri_base: str) -> None:
        self.prefix = f"{iri_base}{framework.key}/"
        self.codes = {item.code for item in framework.items}
        self.profile = f"{iri_base}profile/v1"
        self.level_extension = f"{iri_base}extensions/level"
        self.modules = {m.activity_iri: m for m in session.scalars(select(Module)) if m.active_tags}

    def read(self, statement: dict[str, Any]) -> Pulled | None:
        context = statement.get("context") or {}
        ids = _context_activity_ids(context)
        if self.profile in ids:
            return None  # our own statement, already recorded when it was made
        account = (statement.get("actor") or {}).get("account") or {}
        issuer, sub = account.get("homePage", ""), account.get("name", "")
        if not issuer or not sub:
            return None  # only platform accounts map to a person (issuer, sub)
        result = statement.get("result") or {}
        score = self._score(result)
        if score is None:
            return None
        items = self._items(statement, ids, self._level(context))
        if not items:
            return None
        observed_at = _observed_at(statement)
        if observed_at is None:
            return None
        success = result.get("success") if isinstance(result.get("success"), bool) else None
        return Pulled(
            statement=statement, issuer=issuer, sub=sub, items=tuple(sorted(items.items())),
            score=score, success=success, observed_at=observed_at,
        )  # fmt: skip

    def _items(self, statement: dict[str, Any], ids: list[str], level: int) -> dict[str, int]:
        """Item code → level: the framework's items among the context activities, and the
        tags of a known module the statement is about (the higher level wins)."""
        items: dict[str, int] = {}
        for iri in ids:
            if iri.startswith(self.prefix) and iri[len(self.prefix) :] in self.codes:
                items[iri[len(self.prefix) :]] = level
        module = self.modules.get((statement.get("object") or {}).get("id", ""))
        if module is not None:
            for tag in module.active_tags:
                items[tag.item.code] = max(items.get(tag.item.code, 0), tag.level)
        return items

    @staticmethod
    def _score(result: dict[str, Any]) -> float | None:
        scaled = (result.get("score") or {}).get("scaled")
        if isinstance(scaled, int | float) and not isinstance(scaled, bool):
            return min(max(float(scaled), 0.0), 1.0)
        if result.get("success") is True:
            return 1.0
        if result.get("success") is False:
            return 0.0
        if result.get("completion") is True:
            return 1.0
        return None

    def _level(self, context: dict[str, Any]) -> int:
        # A provider may say the level (our level extension: a number or a level IRI);
        # otherwise the observation counts at the first level.
        value = (context.get("extensions") or {}).get(self.level_extension)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        if isinstance(value, str) and (match := LEVEL_AT_END.search(value)):
            return max(1, int(match.group(1)))
        return 1


def pull_evidence(
    session: Session,
    framework: Framework,
    config: RollupConfig,
    target: LrsTarget,
    *,
    iri_base: str,
    timeout: float,
    http: requests.Session | None = None,
) -> PullReport:
    """Read ``target`` from its cursor, record the evidence, move the cursor (one transaction)."""
    cursor = session.get(PullCursor, target.name)
    if cursor is None:
        cursor = PullCursor(target=target.name, since="", last_statement_id="", note="")
        session.add(cursor)
    reader = _Reader(session, framework, iri_base)
    report = PullReport(cursor=cursor.since)
    scale_levels = max([1, *(len(s.levels) for s in framework.scales if s.key == "report")])
    for statement in fetch_statements(target, cursor.since, timeout, http):
        report.read += 1
        stored = statement.get("stored") or ""
        if stored and stored >= report.cursor:
            report.cursor, cursor.last_statement_id = stored, statement.get("id", "")
        pulled = reader.read(statement)
        if pulled is None:
            continue
        report.taken.append(pulled)
        rows = [
            EvidenceInput(item_id=code, level=min(level, scale_levels), score=pulled.score,
                          observed_at=pulled.observed_at, source_kind="pull",
                          source_id=statement["id"])
            for code, level in pulled.items
        ]  # fmt: skip
        seen = session.scalars(
            select(Evidence.id).where(Evidence.source_id == statement["id"]).limit(1)
        ).first()
        if seen is None:
            report.new.append(pulled)
        learner = learner_for(session, pulled.issuer, pulled.sub)
        report.changes += record_evidence(session, learner, rows, framework, config)
    cursor.since = report.cursor
    cursor.updated_at = utcnow()
    session.flush()
    return report
