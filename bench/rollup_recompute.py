"""Roll-up speed: full recompute and one incremental update, on a SQLite file.

Usage: .venv/bin/python bench/rollup_recompute.py [--learners N] [--per-learner M]

Prints the evidence count, the time to record it all (incremental, learner by learner), the
time of a full recompute, and the latency of recording one more piece of evidence for one
learner. A preliminary measure; BENCHMARKS.md says where the numbers came from.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.competencies.framework import get_framework, load_framework, read_framework_file
from plugin.competencies.models import Item
from plugin.core.db import create_db_engine
from plugin.core.migrate import upgrade_database
from plugin.rollup.engine import RollupConfig
from plugin.rollup.evidence import EvidenceInput, record_evidence
from plugin.rollup.learners import learner_for
from plugin.rollup.recompute import recompute_all

IRI_BASE = "https://w3id.org/tw-civil-service-dc/"


def main() -> None:
    """Build the data, time the three operations, print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--per-learner", type=int, default=20)
    args = parser.parse_args()
    random.seed(7)
    config = RollupConfig()
    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        upgrade_database(engine)
        with Session(engine) as session:
            load_framework(session, read_framework_file(), IRI_BASE)
            session.commit()
            framework = get_framework(session)
            assert framework is not None
            codes = [
                code
                for code in session.scalars(
                    select(Item.code).where(Item.kind.in_(("knowledge", "skill", "attitude")))
                )
            ]
            start = datetime(2026, 1, 1, tzinfo=UTC)
            began = time.perf_counter()
            for n in range(args.learners):
                learner = learner_for(session, "https://lms.example", f"learner-{n}")
                rows = [
                    EvidenceInput(
                        item_id=random.choice(codes),
                        level=random.randint(1, 3),
                        score=round(random.random(), 2),
                        observed_at=start + timedelta(minutes=random.randint(0, 500_000)),
                        source_kind="import",
                        source_id=f"bench-{n}-{k}",
                    )
                    for k in range(args.per_learner)
                ]
                record_evidence(session, learner, rows, framework, config)
                if n % 200 == 199:
                    session.commit()
            session.commit()
            recorded = time.perf_counter() - began
            total = args.learners * args.per_learner

            began = time.perf_counter()
            recompute_all(session, framework, config)
            session.commit()
            full = time.perf_counter() - began

            learner = learner_for(session, "https://lms.example", "learner-0")
            samples = []
            for k in range(20):
                row = EvidenceInput(
                    item_id=random.choice(codes), level=2, score=0.9,
                    observed_at=datetime.now(UTC), source_kind="import",
                    source_id=f"bench-extra-{k}",
                )  # fmt: skip
                began = time.perf_counter()
                record_evidence(session, learner, [row], framework, config)
                session.commit()
                samples.append(time.perf_counter() - began)
        engine.dispose()
    samples.sort()
    print(f"evidence rows:            {total}")
    print(f"record all (incremental): {recorded:.2f} s ({total / recorded:.0f} rows/s)")
    print(f"full recompute:           {full:.2f} s ({total / full:.0f} rows/s)")
    print(f"one new evidence, p50:    {samples[len(samples) // 2] * 1000:.1f} ms")
    print(f"one new evidence, max:    {samples[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
