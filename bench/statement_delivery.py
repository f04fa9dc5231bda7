"""Statement delivery speed: the tool's outbox worker against raw POSTs to the same Ralph.

Usage: .venv/bin/python bench/statement_delivery.py [--statements N] [--batch-size B]
           [--baseline-statements M] [--database-url postgresql://…/dc_bench_delivery]

Builds N statements the way the tool does (plugin/xapi/statements.py: launched, initialized,
progressed, answered, completed, passed/failed, terminated, for many learners in the seed
catalog's modules, carrying each module's competency IRIs), validates them, and delivers them
three times to a local Ralph LRS (file backend) started from ``.venv-lrs``:

1. tool: queued in the outbox of a fresh migrated database, then sent by the real statement
   worker (``flask --app plugin xapi worker`` as a subprocess), timed from its start until no
   row is pending; its peak RSS (VmHWM) is read before it is stopped;
2. ceiling: raw ``requests`` POSTs of batches of the worker's batch size;
3. baseline: one statement per request (PUT statements?statementId=…), timed over the first
   M of the same statements (default 200, at most N).

Every phase sends the same statements, same ids, to a fresh, empty Ralph data folder (Ralph
restarted on the same port with the same settings): Ralph's file backend reads its whole file
on every write to find duplicate ids, so a store already holding an earlier phase's statements
would slow the later phases down. That scan also makes a request's cost grow linearly with
the store, so one request per statement costs O(N²) in Ralph (about 15 minutes for 5,000
statements on a 2-core machine). So that a default run takes about a minute, the baseline
times M requests only, after filling the store (by batched POSTs, untimed) with (N − M) / 2
other statements of the set: its requests then meet, on average, a store of N / 2 statements,
the average a full one-per-request run of N meets. The estimate is still kind to the baseline:
Ralph also rewrites a history file that grows by one entry per request, which a full run of N
requests pays for and M requests do not (at N = 2,000 the estimate was 1.5 times the measured
full-run rate), so the printed tool / one-per-request ratio is a lower bound.
``--baseline-statements N`` measures the full run instead. After each phase the script reads
the statements back from Ralph and stops with an error unless every id sent is stored
exactly once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, selectinload

from plugin.competencies.framework import item_iri, load_framework, read_framework_file
from plugin.competencies.models import Item, Module, ModuleTag
from plugin.core.config import XapiSettings
from plugin.core.db import create_db_engine, normalise_url
from plugin.core.migrate import upgrade_database
from plugin.xapi.models import DELIVERED, PENDING, OutboxStatement
from plugin.xapi.outbox import enqueue_statements
from plugin.xapi.statements import (
    Answer,
    LearnerContext,
    TaggedItem,
    answered_result,
    build_statement,
    completed_result,
    interaction_activity,
    judged_result,
    progress_result,
    terminated_result,
)
from plugin.xapi.validation import validate_statement

PROJECT_DIR = Path(__file__).resolve().parents[1]
LRS_PYTHON = PROJECT_DIR / ".venv-lrs" / "bin" / "python"
RALPH_LAUNCHER = PROJECT_DIR / "lrs" / "run_ralph.py"
FLASK = PROJECT_DIR / ".venv" / "bin" / "flask"
IRI_BASE = "https://w3id.org/tw-civil-service-dc/"
ISSUER = "https://elearn.example.gov.tw"
TARGET = "bench-ralph"
XAPI_HEADERS = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}
POLL_SECONDS = 0.02
ENQUEUE_CHUNK = 500
REQUESTS_LINE = re.compile(r"\((\d+) request\(s\)\)")
DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


# Ralph.


@dataclass
class Ralph:
    """One Ralph LRS process (file backend) on a loopback port; restarted per phase."""

    port: int
    work_dir: Path
    username: str = "tool"
    password: str = ""
    process: subprocess.Popen[bytes] | None = None
    runs: int = 0

    @property
    def endpoint(self) -> str:
        """The xAPI endpoint, as an [[xapi.lrs]] endpoint names it."""
        return f"http://127.0.0.1:{self.port}/xAPI/"

    @property
    def statements_url(self) -> str:
        """The statements resource (xAPI 1.0.3 Communication §2.1)."""
        return self.endpoint + "statements"

    @property
    def log_path(self) -> Path:
        """Where Ralph's output goes."""
        return self.work_dir / "ralph.log"

    def start_fresh(self) -> None:
        """Start Ralph on a new, empty data folder and wait until it answers."""
        self.stop()
        self.runs += 1
        data_dir = self.work_dir / f"ralph-data-{self.runs}"
        env = {**os.environ, "LRS_USERNAME": self.username, "LRS_PASSWORD": self.password}
        command = [str(LRS_PYTHON), str(RALPH_LAUNCHER), "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--data-dir", str(data_dir)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                heartbeat = requests.get(f"http://127.0.0.1:{self.port}/__heartbeat__", timeout=1)
                if heartbeat.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise SystemExit(f"Ralph did not start on port {self.port}:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop Ralph (SIGTERM, then SIGKILL) and wait for it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stored_id_counts(self) -> Counter[str]:
        """How often Ralph returns each statement id for GET statements?limit=0 (all of them
        on its file backend, xAPI 1.0.3 Communication §2.1.3)."""
        response = requests.get(
            self.statements_url,
            params={"limit": 0},
            auth=(self.username, self.password),
            headers={"X-Experience-API-Version": "1.0.3"},
            timeout=120,
        )
        response.raise_for_status()
        body = response.json()
        if body.get("more"):
            raise SystemExit("Ralph answered with a partial page; the count would be wrong")
        return Counter(statement["id"] for statement in body["statements"])

    def log_tail(self) -> str:
        """The end of Ralph's log, for error messages."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def check_all_stored(ralph: Ralph, statements: Sequence[dict[str, Any]], phase: str) -> None:
    """Stop the run unless Ralph holds every statement exactly once (and nothing else)."""
    counts = ralph.stored_id_counts()
    wanted = {statement["id"] for statement in statements}
    missing = len(wanted - counts.keys())
    repeated = sum(1 for count in counts.values() if count > 1)
    strangers = len(counts.keys() - wanted)
    if missing or repeated or strangers:
        raise SystemExit(
            f"{phase}: Ralph holds {sum(counts.values())} statements for {len(wanted)} sent: "
            f"{missing} missing, {repeated} stored twice, {strangers} unknown — no speed printed"
        )


# The database.


@contextmanager
def bench_database(url: str | None, work_dir: Path) -> Iterator[str]:
    """A fresh database URL: a SQLite file in ``work_dir``, or a PostgreSQL database that is
    created here (it must not exist yet) and dropped at the end."""
    if url is None or url.startswith("sqlite"):
        yield url or f"sqlite:///{work_dir / 'bench.sqlite3'}"
        return
    parsed = make_url(normalise_url(url))
    name = parsed.database or ""
    if not DATABASE_NAME.match(name):
        raise SystemExit(f"--database-url: {name!r} is not a plain database name")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if exists:
                raise SystemExit(f"database {name} exists already: drop it or name another")
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield parsed.render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def prepare_database(url: str) -> Engine:
    """Migrate to head and load the seed framework (its demo catalog is the modules)."""
    engine = create_db_engine(url)
    upgrade_database(engine)
    with Session(engine) as session:
        load_framework(session, read_framework_file(), IRI_BASE)
        session.commit()
    return engine


def pending_count(engine: Engine) -> int:
    """Rows of the outbox still waiting."""
    with engine.connect() as connection:
        query = select(func.count()).where(OutboxStatement.status == PENDING)
        return int(connection.scalar(query.select_from(OutboxStatement)) or 0)


def status_counts(engine: Engine) -> Counter[str]:
    """Outbox rows per status."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(OutboxStatement.status, func.count()).group_by(OutboxStatement.status)
        )
        return Counter({status: int(count) for status, count in rows})


# The statements.


@dataclass(frozen=True)
class CatalogModule:
    """What statements about one module need: its learner-context values and its check."""

    iri: str
    name_zh: str
    name_en: str
    tags: tuple[TaggedItem, ...]
    mastery_score: float | None
    check: tuple[Answer, ...]  # one correct answer per item; wrong ones are derived


def read_catalog(engine: Engine) -> list[CatalogModule]:
    """The seed catalog's modules with their active tags and knowledge-check items."""
    with Session(engine) as session:
        modules = session.scalars(
            select(Module)
            .options(
                selectinload(Module.tags).selectinload(ModuleTag.item).selectinload(Item.framework),
                selectinload(Module.check_items),
            )
            .order_by(Module.id)
        ).all()
        return [
            CatalogModule(
                iri=module.activity_iri,
                name_zh=module.title_zh,
                name_en=module.title_en,
                tags=tuple(
                    TaggedItem(
                        iri=item_iri(IRI_BASE, tag.item.framework.key, tag.item.code),
                        code=tag.item.code,
                        name_zh=tag.item.name_zh,
                        name_en=tag.item.name_en,
                    )
                    for tag in module.active_tags
                ),
                mastery_score=module.mastery_score,
                check=tuple(
                    Answer(
                        item_id=item.id,
                        prompt_zh=item.prompt_zh,
                        prompt_en=item.prompt_en,
                        response=sorted(c["key"] for c in item.choices if c["correct"]),
                        correct=True,
                        correct_responses=sorted(c["key"] for c in item.choices if c["correct"]),
                        choices=tuple((c["key"], c["text_zh"], c["text_en"]) for c in item.choices),
                    )
                    for item in module.check_items
                ),
            )
            for module in modules
        ]


def attempt_statements(
    learner: LearnerContext, module: CatalogModule, started: datetime, rng: random.Random
) -> list[dict[str, Any]]:
    """One attempt in cmi5 order, as plugin/xapi/attempts.py emits it for a learner who reads
    the module, then takes its knowledge check (or marks it complete when it has none)."""
    registration = str(uuid.uuid4())
    out: list[dict[str, Any]] = []

    def add(verb: str, moment: datetime, **kwargs: Any) -> None:
        out.append(build_statement(verb, learner, registration, moment=moment, **kwargs))

    add("launched", started)
    add("initialized", started + timedelta(seconds=rng.randint(2, 20)))
    moment = started + timedelta(seconds=30)
    for percent in sorted(rng.sample([20, 40, 60, 80], rng.randint(1, 3))):
        moment += timedelta(seconds=rng.randint(30, 300))
        add("progressed", moment, result=progress_result(percent))
    moment += timedelta(seconds=rng.randint(60, 600))
    duration = moment - started
    right = 0
    for answer in module.check:
        correct = rng.random() < 0.75
        right += correct
        chosen = answer if correct else _wrong(answer)
        item = interaction_activity(learner, chosen)
        add("answered", moment, object_activity=item, result=answered_result(chosen))
    add("completed", moment, result=completed_result(duration))
    if module.check and module.mastery_score is not None:
        scaled = right / len(module.check)
        passed = scaled >= module.mastery_score
        judged = judged_result(passed, scaled, right, len(module.check), duration)
        add("passed" if passed else "failed", moment, result=judged)
    add("terminated", moment, result=terminated_result(duration))
    return out


def _wrong(answer: Answer) -> Answer:
    """The same item answered with the first wrong choice."""
    wrong = next(key for key, _zh, _en in answer.choices if key not in answer.correct_responses)
    return dataclasses.replace(answer, response=[wrong], correct=False)


def build_statements(catalog: Sequence[CatalogModule], count: int) -> list[dict[str, Any]]:
    """``count`` validated statements: attempts of many learners at random catalog modules,
    the learners spread over courses of one platform, times over a month."""
    rng = random.Random(20261127)
    learners = max(1, count // 25)
    month = datetime(2026, 11, 1, tzinfo=UTC)
    statements: list[dict[str, Any]] = []
    while len(statements) < count:
        number = rng.randrange(learners)
        module = rng.choice(catalog)
        course = number % 40
        learner = LearnerContext(
            issuer=ISSUER,
            sub=f"learner-{number:06d}",
            module_iri=module.iri,
            module_name_zh=module.name_zh,
            module_name_en=module.name_en,
            iri_base=IRI_BASE,
            tags=module.tags,
            context_id=f"course-{course}",
            context_title=f"數位職能 {course}",
            resource_link_id=f"link-{course}-{module.iri.rsplit('/', 1)[-1]}",
            resource_link_title=module.name_zh,
            platform="Moodle",
            mastery_score=module.mastery_score,
        )
        started = month + timedelta(seconds=rng.randint(0, 30 * 24 * 3600))
        statements.extend(attempt_statements(learner, module, started, rng))
    del statements[count:]
    for statement in statements:
        validate_statement(statement)
    return statements


def enqueue_all(engine: Engine, statements: Sequence[dict[str, Any]]) -> None:
    """Queue every statement for the benchmark's LRS target, as the tool's events do."""
    with Session(engine) as session:
        for start in range(0, len(statements), ENQUEUE_CHUNK):
            enqueue_statements(session, statements[start : start + ENQUEUE_CHUNK], [TARGET])
            session.commit()


# The three phases.


@dataclass(frozen=True)
class PhaseResult:
    """One phase's numbers."""

    phase: str
    statements: int
    seconds: float
    requests: int

    @property
    def rate(self) -> float:
        """Statements per second."""
        return self.statements / self.seconds


@dataclass(frozen=True)
class WorkerRun:
    """The tool phase: its result, its start-up time, the worker's peak RSS and CPU time."""

    result: PhaseResult
    first_delivery_seconds: float
    delivered_at_first: int  # rows delivered when the first delivery was seen
    peak_rss_kib: int
    cpu_seconds: float

    @property
    def steady_rate(self) -> float:
        """Statements per second after the first delivery (start-up left out)."""
        rest = self.result.seconds - self.first_delivery_seconds
        sent = self.result.statements - self.delivered_at_first
        return sent / rest if rest > 0 and sent > 0 else self.result.rate


def write_worker_config(work_dir: Path, url: str, ralph: Ralph, batch_size: int) -> Path:
    """A production config whose only [[xapi.lrs]] is the benchmark's Ralph."""
    path = work_dir / "config.toml"
    config = f"""
env = "production"
secret_key = "{secrets.token_urlsafe(48)}"
[database]
url = {json.dumps(url)}
[lti]
base_url = "http://127.0.0.1:5000"
[xapi]
batch_size = {batch_size}
[[xapi.lrs]]
name = "{TARGET}"
endpoint = "{ralph.endpoint}"
username = "{ralph.username}"
password = "{ralph.password}"
[log]
level = "WARNING"
"""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(config)
    return path


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used (/proc/<pid>/stat, proc(5))."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident set size (VmHWM in /proc/<pid>/status), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit(f"no VmHWM in /proc/{pid}/status")


def run_tool_phase(
    engine: Engine, config: Path, work_dir: Path, count: int, profile: Path | None
) -> WorkerRun:
    """Start the real statement worker and time it until no outbox row is pending."""
    log_path = work_dir / "worker.log"
    env = {**os.environ, "PLUGIN_CONFIG": str(config)}
    command = [str(FLASK), "--app", "plugin", "xapi", "worker"]
    if profile is not None:
        # cProfile's clock is the wall clock: waiting on the LRS shows up, as it should.
        command = [sys.executable, "-m", "cProfile", "-o", str(profile), *command]
    first_delivery: float | None = None
    delivered_at_first = 0
    with log_path.open("wb") as log:
        started = time.perf_counter()
        worker = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=PROJECT_DIR)
        try:
            deadline = time.monotonic() + max(120.0, count / 20)
            while True:
                pending = pending_count(engine)
                now = time.perf_counter()
                if first_delivery is None and pending < count:
                    first_delivery, delivered_at_first = now - started, count - pending
                if pending == 0:
                    seconds = now - started
                    break
                if worker.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
                    raise SystemExit(f"tool: {pending} statements still pending:\n{tail}")
                time.sleep(POLL_SECONDS)
            rss, cpu = peak_rss_kib(worker.pid), cpu_seconds(worker.pid)
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    statuses = status_counts(engine)
    if statuses != Counter({DELIVERED: count}):
        raise SystemExit(f"tool: outbox ended as {dict(statuses)}, not {count} delivered")
    result = PhaseResult("tool (outbox worker)", count, seconds, worker_requests(log_path))
    return WorkerRun(result, first_delivery or seconds, delivered_at_first, rss, cpu)


def worker_requests(log_path: Path) -> int:
    """How many POSTs the worker made, from its per-batch lines ("… (1 request(s))")."""
    log = log_path.read_text(encoding="utf-8", errors="replace")
    return sum(int(count) for count in REQUESTS_LINE.findall(log))


def timed_requests(
    ralph: Ralph,
    phase: str,
    statements: Sequence[dict[str, Any]],
    send: Callable[[requests.Session, Sequence[dict[str, Any]]], requests.Response],
    per_request: int,
) -> PhaseResult:
    """Send the statements ``per_request`` at a time with ``send`` over one pooled session."""
    with requests.Session() as http:
        http.auth = (ralph.username, ralph.password)
        http.headers.update(XAPI_HEADERS)
        started = time.perf_counter()
        for start in range(0, len(statements), per_request):
            response = send(http, statements[start : start + per_request])
            if response.status_code not in (200, 204):
                raise SystemExit(f"{phase}: HTTP {response.status_code}: {response.text[:500]}")
        seconds = time.perf_counter() - started
    requests_made = -(-len(statements) // per_request)
    return PhaseResult(phase, len(statements), seconds, requests_made)


def run_ceiling_phase(
    ralph: Ralph, statements: Sequence[dict[str, Any]], batch_size: int
) -> PhaseResult:
    """Raw batched POSTs (xAPI 1.0.3 Communication §2.1.2), the worker's batch size."""

    def post(http: requests.Session, batch: Sequence[dict[str, Any]]) -> requests.Response:
        body = json.dumps(list(batch), ensure_ascii=False, separators=(",", ":"))
        return http.post(ralph.statements_url, data=body.encode("utf-8"), timeout=60)

    return timed_requests(ralph, "ceiling (raw batched POST)", statements, post, batch_size)


def fill_store(ralph: Ralph, statements: Sequence[dict[str, Any]], batch_size: int) -> None:
    """Store ``statements`` in Ralph by batched POSTs (untimed: the baseline's starting point)."""
    with requests.Session() as http:
        http.auth = (ralph.username, ralph.password)
        http.headers.update(XAPI_HEADERS)
        for start in range(0, len(statements), batch_size):
            batch = list(statements[start : start + batch_size])
            response = http.post(ralph.statements_url, data=json.dumps(batch), timeout=60)
            if response.status_code != 200:
                raise SystemExit(f"filling Ralph: HTTP {response.status_code}: {response.text}")


def run_baseline_phase(ralph: Ralph, statements: Sequence[dict[str, Any]]) -> PhaseResult:
    """One statement per request: PUT statements?statementId=… (Communication §2.1.1)."""

    def put(http: requests.Session, one: Sequence[dict[str, Any]]) -> requests.Response:
        body = json.dumps(one[0], ensure_ascii=False, separators=(",", ":"))
        params = {"statementId": one[0]["id"]}
        return http.put(ralph.statements_url, params=params, data=body.encode(), timeout=60)

    return timed_requests(ralph, "baseline (one per request)", statements, put, 1)


# The report.


def print_report(
    results: Sequence[PhaseResult], worker: WorkerRun, batch_size: int, backend: str
) -> None:
    """The table, the two ratios, the batch size and the worker's peak RSS."""
    tool, ceiling, baseline = results
    print(f"database: {backend}; LRS: Ralph (file backend), fresh data folder per phase")
    print(f"batch size: {batch_size}")
    print()
    print(f"{'phase':<28} {'statements':>10} {'requests':>9} {'seconds':>9} {'statements/s':>13}")
    for result in results:
        print(
            f"{result.phase:<28} {result.statements:>10} {result.requests:>9} "
            f"{result.seconds:>9.2f} {result.rate:>13.0f}"
        )
    print()
    print(f"tool / ceiling:           {tool.rate / ceiling.rate:6.1%}")
    print(f"tool / one-per-request:   {tool.rate / baseline.rate:6.1f}x")
    if baseline.statements < tool.statements:
        print(
            f"  (baseline: {baseline.statements} requests timed on a store pre-filled with "
            f"{(tool.statements - baseline.statements) // 2} statements, the mean store of a "
            f"full run of {tool.statements}: a lower bound)"
        )
    print(
        f"worker start-up (spawn to first batch delivered): {worker.first_delivery_seconds:.2f} s;"
        f" after it: {worker.steady_rate:.0f} statements/s ({worker.steady_rate / ceiling.rate:.0%}"
        " of the ceiling)"
    )
    print(f"worker peak RSS (VmHWM):  {worker.peak_rss_kib / 1024:.1f} MiB")
    print(f"worker CPU time:          {worker.cpu_seconds:.2f} s")


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--statements", type=int, default=5000, help="How many (default 5000).")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=XapiSettings().batch_size,
        help="Statements per POST, the worker's and the ceiling's (default: xapi.batch_size).",
    )
    parser.add_argument(
        "--baseline-statements",
        type=int,
        default=200,
        help="How many one-per-request sends the baseline times (default 200, at most N).",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL of a database to create and drop (default: a SQLite file).",
    )
    parser.add_argument(
        "--profile-worker",
        type=Path,
        default=None,
        metavar="FILE",
        help="Run the worker under cProfile and write its stats to FILE (slows it down).",
    )
    args = parser.parse_args()
    if min(args.statements, args.batch_size, args.baseline_statements) < 1:
        parser.error("--statements, --batch-size and --baseline-statements must be at least 1")
    return args


def main() -> None:
    """Build the statements, run the three phases against Ralph, print the numbers."""
    args = parse_args()
    if not LRS_PYTHON.exists():
        raise SystemExit(f"{LRS_PYTHON} is missing: make .venv-lrs/.installed")
    with tempfile.TemporaryDirectory(prefix="dc-bench-delivery-") as folder:
        work_dir = Path(folder)
        ralph = Ralph(free_port(), work_dir, password=secrets.token_urlsafe(16))
        try:
            with bench_database(args.database_url, work_dir) as url:
                engine = prepare_database(url)
                try:
                    began = time.perf_counter()
                    statements = build_statements(read_catalog(engine), args.statements)
                    enqueue_all(engine, statements)
                    print(
                        f"built, validated and queued {len(statements)} statements "
                        f"in {time.perf_counter() - began:.1f} s",
                        file=sys.stderr,
                        flush=True,
                    )
                    config = write_worker_config(work_dir, url, ralph, args.batch_size)
                    ralph.start_fresh()
                    worker = run_tool_phase(
                        engine, config, work_dir, len(statements), args.profile_worker
                    )
                    check_all_stored(ralph, statements, "tool")
                    ralph.start_fresh()
                    ceiling = run_ceiling_phase(ralph, statements, args.batch_size)
                    check_all_stored(ralph, statements, "ceiling")
                    ralph.start_fresh()
                    sample = statements[: args.baseline_statements]
                    rest = statements[len(sample) :]
                    filler = rest[: len(rest) // 2]
                    fill_store(ralph, filler, args.batch_size)
                    baseline = run_baseline_phase(ralph, sample)
                    check_all_stored(ralph, [*filler, *sample], "baseline")
                    backend = engine.dialect.name
                finally:
                    engine.dispose()
        finally:
            ralph.stop()
    print_report([worker.result, ceiling, baseline], worker, args.batch_size, backend)


if __name__ == "__main__":
    main()
