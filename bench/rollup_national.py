"""National-scale roll-up: full recompute beside a SQL GROUP BY floor, incremental latency, RSS.

Usage:
  .venv/bin/python bench/rollup_national.py [--persons N] [--evidence M] [--seed S]
      [--database-url URL [--create-database]] [--chunk-size C] [--samples K]

  # the national scale (defaults: 100,000 persons, 1,000,000 evidence rows), both backends
  .venv/bin/python bench/rollup_national.py
  .venv/bin/python bench/rollup_national.py --create-database \
      --database-url postgresql://postgres@127.0.0.1:5432/dc_bench_rollup
  # a quick check
  .venv/bin/python bench/rollup_national.py --persons 2000 --evidence 20000

Without ``--database-url`` the data goes to a fresh SQLite file in a temporary folder. With a
PostgreSQL URL and ``--create-database`` the database the URL names is created (it must not
exist) and dropped at the end; without that flag the URL must name an existing, empty
database, which is migrated and left behind.

Steps (only 2–5 are measured; generation is timed and printed on its own):

1. generate: N learners, each with an identity as ``learner_for`` makes it (a few with a second,
   linked identity) and most with a grade; M evidence rows, bulk inserted (executemany on
   SQLite, COPY on PostgreSQL) in arrival order. Evidence is a mix of module attempts (one
   statement, one row per tag of a demo-catalog module at the tag's level) and imported or
   pulled records (one indicator, attitude or competency at level 1–3, some success-only).
   Learners draw their activity from a log-normal weight, so a few have hundreds of rows and
   many have one or none; scores follow a per-learner ability; observed times span a year.
2. the floor: ONE statement, ``SELECT learner_id, item_id, max(level), count(*),
   max(observed_at) … GROUP BY learner_id, item_id``, fetched completely (best of 3; the
   first run also warms the cache for everything after it);
3. ``recompute_all`` — what ``flask rollup recompute`` calls — three times, each committed:
   over an empty attainment table (every row inserted, every level a change: the first
   recompute after a bulk load), again over its own result (nothing to write: the nightly
   case), and with another method (``highest``: most rows rewritten, many levels change, as
   after an operator changes ``[rollup]``). Level changes are taken chunk by chunk, as the
   CLI takes them, and counted;
4. peak RSS of this process during each recompute (VmHWM, reset before each one), and the
   process's lifetime maximum (ru_maxrss);
5. incremental latency: K new statements (one module attempt each) for random existing
   learners, each found by identity, recorded with ``record_evidence`` (which recomputes the
   learner's affected items and competencies) and committed on its own: p50, p99, max.
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from plugin.competencies.framework import get_framework, load_framework, read_framework_file
from plugin.competencies.models import Framework, Item, Module
from plugin.core.db import create_db_engine, normalise_url
from plugin.core.migrate import upgrade_database
from plugin.rollup.changes import AttainmentChange
from plugin.rollup.engine import RollupConfig
from plugin.rollup.evidence import EvidenceInput, record_evidence
from plugin.rollup.learners import learner_for
from plugin.rollup.models import Attainment, Evidence
from plugin.rollup.recompute import RECOMPUTE_CHUNK_SIZE, recompute_all, recompute_learner

IRI_BASE = "https://w3id.org/tw-civil-service-dc/"
ISSUERS = (
    "https://elearn.hrd.gov.tw",
    "https://moodle.agency.example.gov.tw",
    "https://canvas.ministry.example.gov.tw",
)
GRADES = (("", ""), ("junior", "lti"), ("intermediate", "csv"), ("senior", "csv"),
          ("supervisor", "admin"))  # fmt: skip
GRADE_WEIGHTS = (30, 30, 25, 10, 5)
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_SECONDS = 365 * 24 * 3600
BATCH_ROWS = 50_000
# SQLAlchemy's storage format for SQLite DATETIME (what UTCDateTime writes there).
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
EVIDENCE_COLUMNS = ("learner_id", "item_id", "level", "score", "observed_at", "source_kind",
                    "source_id", "module_key", "recorded_at")  # fmt: skip
FLOOR_SQL = (
    "SELECT learner_id, item_id, max(level), count(*), max(observed_at) "
    "FROM rollup_evidence GROUP BY learner_id, item_id"
)


@dataclass(frozen=True)
class Catalog:
    """What the generator draws from: single items by kind, and the modules' tags."""

    indicators: tuple[str, ...]
    attitudes: tuple[str, ...]
    competencies: tuple[str, ...]
    modules: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]


# Generation.


def read_catalog(session: Session, framework: Framework) -> Catalog:
    """The framework's items and the demo modules' active tags."""
    items = session.scalars(select(Item).where(Item.framework_id == framework.id)).all()
    modules = tuple(
        (module.key, tuple((tag.item.code, tag.level) for tag in module.active_tags))
        for module in session.scalars(select(Module).order_by(Module.key))
        if module.active_tags
    )
    return Catalog(
        indicators=tuple(i.code for i in items if i.kind in ("knowledge", "skill")),
        attitudes=tuple(i.code for i in items if i.kind == "attitude"),
        competencies=tuple(i.code for i in items if i.kind == "competency"),
        modules=modules,
    )


def person_rows(rng: random.Random, persons: int) -> tuple[list[tuple], list[tuple]]:
    """Learner and identity rows as ``learner_for`` (and, for 3 %, ``link_learner``) make them."""
    created = YEAR_START - timedelta(days=30)
    learners, identities = [], []
    for learner_id in range(1, persons + 1):
        grade, source = rng.choices(GRADES, GRADE_WEIGHTS)[0]
        linked = rng.random() < 0.03
        link_key = f"E{learner_id:08d}" if linked else ""
        learners.append((learner_id, grade, source, link_key, created))
        issuer = ISSUERS[learner_id % len(ISSUERS)]
        identities.append((learner_id, issuer, f"u{learner_id:07d}", "claim" if linked else ""))
        if linked:
            other = ISSUERS[(learner_id + 1) % len(ISSUERS)]
            identities.append((learner_id, other, f"x{learner_id:07d}", "claim"))
    return learners, identities


def evidence_batches(
    rng: random.Random, catalog: Catalog, persons: int, total: int
) -> Iterator[list[tuple]]:
    """``total`` evidence rows in batches, in arrival order within a batch."""
    # Log-normal activity: the median learner has a few observations, the busiest hundreds.
    cum_weights = list(itertools.accumulate(rng.lognormvariate(0.0, 1.3) for _ in range(persons)))
    ability = [min(0.95, max(0.05, rng.betavariate(4, 2.5))) for _ in range(persons)]
    learner_ids = range(1, persons + 1)
    made = 0
    while made < total:
        batch: list[tuple] = []
        for learner_id in rng.choices(learner_ids, cum_weights=cum_weights, k=BATCH_ROWS // 3):
            rows = observation(rng, catalog, learner_id, ability[learner_id - 1])
            batch.extend(rows[: total - made - len(batch)])
            if made + len(batch) >= total:
                break
        batch.sort(key=lambda row: row[8])  # arrival (recorded) order
        made += len(batch)
        yield batch


def observation(rng: random.Random, catalog: Catalog, learner_id: int, ability: float) -> list:
    """One statement's or record's evidence rows for a learner."""
    observed = YEAR_START + timedelta(milliseconds=rng.randrange(YEAR_SECONDS * 1000))
    recorded = observed + timedelta(seconds=rng.randrange(1, 3600))
    source_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    score = round(min(1.0, max(0.0, rng.gauss(ability, 0.2))), 2)
    draw = rng.random()
    if draw < 0.6:  # a module attempt: every active tag of the module, at the tag's level
        module_key, tags = rng.choice(catalog.modules)
        return [
            (learner_id, code, level, score, observed, "statement", source_id, module_key,
             recorded)
            for code, level in tags
        ]  # fmt: skip
    if draw < 0.95:
        code = rng.choice(catalog.indicators)
    elif draw < 0.98:
        code = rng.choice(catalog.attitudes)
    else:
        code = rng.choice(catalog.competencies)  # evidence tagged at a competency itself
    if rng.random() < 0.3:  # a completion record: success only
        score = 1.0 if rng.random() < ability else 0.0
    kind = "import" if rng.random() < 0.7 else "pull"
    return [(learner_id, code, rng.randint(1, 3), score, observed, kind, source_id, "", recorded)]


def load_people_and_evidence(
    engine: Engine, rng: random.Random, catalog: Catalog, persons: int, total: int
) -> None:
    """Bulk insert the generated learners, identities and evidence."""
    learners, identities = person_rows(rng, persons)
    batches = evidence_batches(rng, catalog, persons, total)
    if engine.dialect.name == "postgresql":
        _copy_into_postgres(engine, learners, identities, batches)
    else:
        _insert_into_sqlite(engine, learners, identities, batches)


def _insert_into_sqlite(
    engine: Engine, learners: list[tuple], identities: list[tuple], batches: Iterator[list]
) -> None:
    def stamp(moment: datetime) -> str:
        return moment.strftime(SQLITE_TIME)

    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.executemany(
            "INSERT INTO rollup_learners (id, grade, grade_source, link_key, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(*row[:4], stamp(row[4])) for row in learners],
        )
        cursor.executemany(
            "INSERT INTO rollup_identities (learner_id, issuer, sub, linked_by) "
            "VALUES (?, ?, ?, ?)",
            identities,
        )
        insert = (
            f"INSERT INTO rollup_evidence ({', '.join(EVIDENCE_COLUMNS)}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        for batch in batches:
            cursor.executemany(
                insert, [(*row[:4], stamp(row[4]), *row[5:8], stamp(row[8])) for row in batch]
            )
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def _copy_into_postgres(
    engine: Engine, learners: list[tuple], identities: list[tuple], batches: Iterator[list]
) -> None:
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        with connection.cursor() as cursor:
            tables = (
                ("rollup_learners (id, grade, grade_source, link_key, created_at)", learners),
                ("rollup_identities (learner_id, issuer, sub, linked_by)", identities),
            )
            for target, rows in tables:
                with cursor.copy(f"COPY {target} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            with cursor.copy(
                f"COPY rollup_evidence ({', '.join(EVIDENCE_COLUMNS)}) FROM STDIN"
            ) as copy:
                for batch in batches:
                    for row in batch:
                        copy.write_row(row)
            # Explicit ids bypassed the sequence; the incremental step creates rows after us.
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('rollup_learners', 'id'), "
                "(SELECT max(id) FROM rollup_learners))"
            )
        connection.commit()
        # What autovacuum would have done after a bulk load: statistics and visibility map.
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
        connection.autocommit = False
    finally:
        raw.close()


# Measurement.


def peak_rss_kib() -> int:
    """This process's peak resident set since the last reset (VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def current_rss_kib() -> int:
    """This process's resident set now (VmRSS), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Start VmHWM again from the current RSS (Linux ``clear_refs`` 5); False if refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def time_floor(engine: Engine) -> tuple[float, float, int]:
    """One GROUP BY over the evidence, every row fetched to the client: wall and CPU
    seconds (this process's CPU: all of SQLite's work, only the client's on PostgreSQL) and
    the number of groups."""
    began, cpu = time.perf_counter(), time.process_time()
    with engine.connect() as connection:
        result = connection.exec_driver_sql(FLOOR_SQL)
        groups = sum(1 for _row in result)
    return time.perf_counter() - began, time.process_time() - cpu, groups


def time_recompute(
    engine: Engine, framework_id: int, config: RollupConfig, chunk_size: int | None
) -> dict[str, float]:
    """One committed ``recompute_all``: wall and CPU seconds, learners, level changes, and
    RSS before it and at its peak (KiB)."""
    changed = 0

    def count(found: Sequence[AttainmentChange]) -> None:
        nonlocal changed
        changed += len(found)

    before = current_rss_kib()
    reset_peak_rss()
    began, cpu = time.perf_counter(), time.process_time()
    with Session(engine, expire_on_commit=False) as session:
        framework = session.get(Framework, framework_id)
        assert framework is not None
        sizing = {} if chunk_size is None else {"chunk_size": chunk_size}
        learners = recompute_all(session, framework, config, on_chunk=count, **sizing)
        session.commit()
    return {
        "seconds": time.perf_counter() - began,
        "cpu": time.process_time() - cpu,
        "learners": learners,
        "changes": changed,
        "rss_before": before,
        "rss_peak": peak_rss_kib(),
    }


def check_sample(
    engine: Engine, framework_id: int, config: RollupConfig, rng: random.Random, persons: int
) -> None:
    """Recomputing 20 random learners one at a time changes nothing after the full run."""
    with Session(engine) as session:
        framework = session.get(Framework, framework_id)
        assert framework is not None
        for learner_id in rng.sample(range(1, persons + 1), min(20, persons)):
            learner = learner_for(session, ISSUERS[learner_id % len(ISSUERS)], f"u{learner_id:07d}")
            before = _attainment_rows(session, learner.id)
            if recompute_learner(session, learner, framework, config):
                raise SystemExit(f"learner {learner_id}: level changed on a second recompute")
            session.flush()
            if _attainment_rows(session, learner.id) != before:
                raise SystemExit(f"learner {learner_id}: attainment changed on a recompute")
        session.rollback()


def _attainment_rows(session: Session, learner_id: int) -> list[tuple]:
    return [
        tuple(row)
        for row in session.execute(
            select(Attainment.item_id, Attainment.value, Attainment.level, Attainment.evidence_ids)
            .where(Attainment.learner_id == learner_id)
            .order_by(Attainment.item_id)
        )
    ]


def time_incremental(
    engine: Engine,
    framework_id: int,
    config: RollupConfig,
    catalog: Catalog,
    rng: random.Random,
    persons: int,
    samples: int,
) -> list[float]:
    """Seconds per new statement: find the learner, record its evidence, recompute, commit."""
    took = []
    now = YEAR_START + timedelta(days=366)
    with Session(engine, expire_on_commit=False) as session:
        framework = session.get(Framework, framework_id)
        assert framework is not None
        for sample in range(samples):
            learner_id = rng.randint(1, persons)
            module_key, tags = rng.choice(catalog.modules)
            source_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            score = round(rng.random(), 2)
            rows = [
                EvidenceInput(code, level, score, now + timedelta(minutes=sample), "statement",
                              source_id, module_key)
                for code, level in tags
            ]  # fmt: skip
            began = time.perf_counter()
            learner = learner_for(session, ISSUERS[learner_id % len(ISSUERS)], f"u{learner_id:07d}")
            record_evidence(session, learner, rows, framework, config)
            session.commit()
            took.append(time.perf_counter() - began)
            session.expunge_all()  # each statement arrives in a request of its own
    return took


# Databases.


@contextmanager
def bench_database(url: str | None, create: bool) -> Iterator[str]:
    """The database to use: a temporary SQLite file, or a PostgreSQL one (created if asked)."""
    if url is None:
        with tempfile.TemporaryDirectory(prefix="rollup-national-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        return
    if not create:
        yield url
        return
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        raise SystemExit("--create-database needs a postgresql:// URL naming a database")
    name = parsed.database
    server = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def per_second(count: int, seconds: float) -> str:
    """``count`` per second, rounded, for the report."""
    return f"{count / seconds:,.0f}" if seconds > 0 else "-"


def main() -> None:
    """Generate, measure and print (see the module docstring for the steps)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--evidence", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--create-database", action="store_true")
    parser.add_argument("--chunk-size", type=int, default=None, help="learners per chunk")
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    config = RollupConfig()
    with bench_database(args.database_url, args.create_database) as url:
        engine = create_db_engine(url)
        try:
            run(engine, args, config)
        finally:
            engine.dispose()


def line(name: str, value: str) -> None:
    """One line of the report: a name, then its value."""
    print(f"{name:<34} {value}", flush=True)


def run(engine: Engine, args: argparse.Namespace, config: RollupConfig) -> None:
    """The measured steps on a migrated, empty database."""
    line("backend", f"{engine.dialect.name} {engine.dialect.server_version_info or ''}".strip())
    line("seed", str(args.seed))
    line("learners per recompute chunk", str(args.chunk_size or RECOMPUTE_CHUNK_SIZE))
    upgrade_database(engine)
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(Evidence)):
            raise SystemExit("the database already holds evidence; give an empty one")
        load_framework(session, read_framework_file(), IRI_BASE)
        session.commit()
        framework = get_framework(session)
        assert framework is not None
        framework_id = framework.id
        catalog = read_catalog(session, framework)
    rng = random.Random(args.seed)

    began = time.perf_counter()
    load_people_and_evidence(engine, rng, catalog, args.persons, args.evidence)
    generated = time.perf_counter() - began
    with engine.connect() as connection:
        evidence = connection.exec_driver_sql("SELECT count(*) FROM rollup_evidence").scalar_one()
        busiest = connection.exec_driver_sql(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM rollup_evidence GROUP BY learner_id) t"
        ).scalar_one()
    line("persons / evidence rows", f"{args.persons:,} / {evidence:,} (busiest learner {busiest})")
    line("generation (not measured)", f"{generated:.1f} s")

    floor, floor_cpu, groups = min(time_floor(engine) for _ in range(3))
    line("floor: GROUP BY, fetched (best/3)", f"{floor:.2f} s ({per_second(evidence, floor)} "
         f"rows/s, {groups:,} groups; CPU {floor_cpu:.2f} s)")  # fmt: skip
    runs = (
        ("recompute, empty attainment", config),
        ("recompute again, no change", config),
        ("recompute, method changed", replace(config, method="highest")),
    )
    for label, settings in runs:
        run = time_recompute(engine, framework_id, settings, args.chunk_size)
        seconds = run["seconds"]
        line(label, f"{seconds:.2f} s ({per_second(evidence, seconds)} rows/s, "
             f"{seconds / floor:.1f}x floor; CPU {run['cpu']:.2f} s)")  # fmt: skip
        line("  learners, level changes", f"{run['learners']:,}, {run['changes']:,}")
        line("  RSS before, peak during", f"{run['rss_before'] / 1024:.0f} MiB, "
             f"{run['rss_peak'] / 1024:.0f} MiB")  # fmt: skip
    with engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT count(*) FROM rollup_attainment").scalar_one()
    line("attainment rows", f"{stored:,}")
    # From here on the stored attainment is the last run's: check and extend it with its method.
    current = runs[-1][1]
    check_sample(engine, framework_id, current, rng, args.persons)
    took = time_incremental(engine, framework_id, current, catalog, rng, args.persons, args.samples)
    cuts = statistics.quantiles(took, n=100, method="inclusive") if len(took) > 1 else took * 99
    line(
        f"incremental, {len(took)} statements",
        f"p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms, "
        f"max {max(took) * 1000:.1f} ms",
    )
    lifetime = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    line("process peak RSS (ru_maxrss)", f"{lifetime / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
