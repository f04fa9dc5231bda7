"""A full recompute in chunks of learners equals recomputing each learner on their own.

The dataset spans several chunks, has gaps in the learner ids, learners without evidence,
module attempts that tag several items with one statement, evidence at a competency itself,
source ids with quotes, backslashes and non-ASCII characters, ties in observation time,
evidence for an item outside the framework, and stale stored attainment (wrong levels, values
and trails; rows for items without evidence), so the chunked path has to insert, update and
leave rows alone exactly as the one-learner path does.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from plugin.competencies.framework import get_framework, load_framework
from plugin.competencies.models import Framework
from plugin.core.db import create_db_engine
from plugin.core.migrate import upgrade_database
from plugin.rollup.changes import AttainmentChange
from plugin.rollup.engine import RollupConfig
from plugin.rollup.learners import learner_for
from plugin.rollup.models import Attainment, Evidence, Learner
from plugin.rollup.recompute import recompute_all, recompute_learner
from plugin.xapi.assessment import ASSESSED_VERB
from plugin.xapi.models import OutboxStatement
from tests.support.app import IRI_BASE

ISS = "https://lms.example"
START = datetime(2026, 1, 1, tzinfo=UTC)
CHUNK = 7
CONFIGS = {
    "weighted_average_all": RollupConfig(),
    "n_mastery_points": RollupConfig(
        method="n_mastery",
        n_mastery=2,
        competency_rule="points",
        points_needed=(3, 6, 9),
        required_indicators=("DC1-K1",),
    ),
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, seeded_sqlite: Path, framework_data: Any
) -> Iterator[Engine]:
    """A migrated database with the seed framework: a SQLite copy or a PostgreSQL schema."""
    if request.param == "sqlite":
        target = tmp_path / "chunks.sqlite3"
        shutil.copy(seeded_sqlite, target)
        database = create_db_engine(f"sqlite:///{target}")
    else:
        database = create_db_engine(request.getfixturevalue("postgres_url"))
        upgrade_database(database)
        with Session(database) as session:
            load_framework(session, framework_data, IRI_BASE)
            session.commit()
    yield database
    database.dispose()


def build_dataset(engine: Engine, rng: random.Random) -> int:
    """Learners, evidence and stale attainment, committed; the number of learners kept."""
    with Session(engine) as session:
        framework = get_framework(session)
        assert framework is not None
        items = [(item.code, item.kind) for item in framework.items]
        codes = [code for code, kind in items if kind != "competency"]
        tops = [code for code, kind in items if kind == "competency"]
        learners = [learner_for(session, ISS, f"p{n}") for n in range(48)]
        gone = {learner.id for learner in learners[5:40:9]}  # gaps in the ids
        session.execute(delete(Learner).where(Learner.id.in_(gone)))
        kept = [learner for learner in learners if learner.id not in gone]
        for index, learner in enumerate(kept):
            if index % 11 == 3:
                continue  # no evidence at all
            for attempt in range(rng.choice((1, 2, 3, 8, 25))):
                source = f"s-{learner.id}-{attempt}"
                if attempt % 5 == 4:  # ids whose JSON has escapes
                    source = f'imp "{learner.id}" \\ 編號-{attempt}'
                day = rng.randrange(30)  # few days: ties in observed_at happen
                score = rng.choice((0.0, 1.0, round(rng.random(), 2)))
                tagged = rng.sample(codes, rng.randint(1, 4))
                if rng.random() < 0.1:
                    tagged.append(rng.choice(tops))
                if rng.random() < 0.03:
                    tagged.append("XX-K9")  # not in the framework: ignored by both paths
                for code in tagged:
                    session.add(
                        Evidence(learner_id=learner.id, item_id=code, level=rng.randint(1, 3),
                                 score=score, observed_at=START + timedelta(days=day),
                                 source_kind="import", source_id=source, module_key="")
                    )  # fmt: skip
            for code in rng.sample([*codes, *tops, "XX-K9"], rng.randint(0, 6)):
                session.add(
                    Attainment(learner_id=learner.id, item_id=code, kind="knowledge",
                               value=rng.choice((None, 0.5)), level=rng.randint(0, 3),
                               evidence_ids=rng.choice(([], ["stale"])))
                )  # fmt: skip
        session.commit()
        return len(kept)


def stored(session: Session) -> list[tuple[Any, ...]]:
    """Every attainment row as comparable values (ids aside: they differ by insert order)."""
    return sorted(
        (row.learner_id, row.item_id, row.kind, row.value, row.level, list(row.evidence_ids))
        for row in session.scalars(select(Attainment))
    )


def plain(changes: list[AttainmentChange]) -> list[tuple[Any, ...]]:
    """Changes as comparable values."""
    return [
        (c.learner.id, c.item_id, c.kind, c.old_level, c.new_level, c.value, c.evidence)
        for c in changes
    ]


def one_at_a_time(engine: Engine, config: RollupConfig) -> tuple[list[Any], list[Any]]:
    """Attainment and changes from ``recompute_learner`` per learner, then rolled back."""
    with Session(engine) as session:
        framework = session.scalars(select(Framework)).one()
        changes: list[AttainmentChange] = []
        for learner in session.scalars(select(Learner).order_by(Learner.id)):
            changes += recompute_learner(session, learner, framework, config)
        result = stored(session), plain(changes)
        session.rollback()
    return result


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_chunked_recompute_equals_each_learner_recomputed_alone(
    engine: Engine, config_name: str
) -> None:
    config = CONFIGS[config_name]
    learners = build_dataset(engine, random.Random(20260101))
    expected_rows, expected_changes = one_at_a_time(engine, config)
    with Session(engine) as session:
        before = stored(session)
        framework = session.scalars(select(Framework)).one()
        changes: list[AttainmentChange] = []
        chunks: list[set[int]] = []
        count = recompute_all(
            session, framework, config, changes,
            on_chunk=lambda found: chunks.append({c.learner.id for c in found}),
            chunk_size=CHUNK,
        )  # fmt: skip
        assert stored(session) == expected_rows
        assert plain(changes) == expected_changes
        session.commit()
    assert count == learners
    assert len(chunks) == -(-learners // CHUNK) >= 5
    assert sum(len(ids) for ids in chunks) == len({c[0] for c in expected_changes})
    # Not vacuous: rows were inserted, rewritten and emptied, and levels rose and fell.
    assert expected_rows != before
    assert any(old == 0 < new for *_, old, new, _value, _trail in expected_changes)
    assert any(old > new for *_, old, new, _value, _trail in expected_changes)
    assert any(row[4] == 0 and row[5] == [] and row[3] is None for row in expected_rows)
    assert any(row[1] == "XX-K9" for row in expected_rows)  # outside the framework: kept


def test_recompute_again_changes_and_writes_nothing(engine: Engine) -> None:
    config = RollupConfig()
    build_dataset(engine, random.Random(7))
    with Session(engine) as session:
        framework = session.scalars(select(Framework)).one()
        first: list[AttainmentChange] = []
        recompute_all(session, framework, config, first, chunk_size=CHUNK)
        session.commit()
        written = {row.id: row.updated_at for row in session.scalars(select(Attainment))}
        again: list[AttainmentChange] = []
        recompute_all(session, framework, config, again, chunk_size=CHUNK)
        session.commit()
        session.expire_all()
        assert {row.id: row.updated_at for row in session.scalars(select(Attainment))} == written
    assert first and again == []


def test_attainment_loaded_before_a_recompute_shows_its_result(engine: Engine) -> None:
    build_dataset(engine, random.Random(11))

    def values(rows: Any) -> dict[tuple[int, str], tuple[Any, ...]]:
        return {(r.learner_id, r.item_id): (r.level, r.value, list(r.evidence_ids)) for r in rows}

    with Session(engine) as session:
        framework = session.scalars(select(Framework)).one()
        loaded = session.scalars(select(Attainment)).all()
        before = values(loaded)
        recompute_all(session, framework, RollupConfig(), chunk_size=CHUNK)
        columns = (Attainment.learner_id, Attainment.item_id, Attainment.level,
                   Attainment.value, Attainment.evidence_ids)  # fmt: skip
        in_database = values(session.execute(select(*columns)))
        after = values(loaded)
    assert after != before
    assert after == {key: in_database[key] for key in after}


def test_chunk_size_below_one_is_refused(engine: Engine) -> None:
    with Session(engine) as session:
        framework = session.scalars(select(Framework)).one()
        with pytest.raises(ValueError, match="chunk_size"):
            recompute_all(session, framework, RollupConfig(), chunk_size=0)


def test_cli_recompute_states_each_changed_level_once_for_its_person(app: Flask) -> None:
    with app.extensions["plugin.db"].session_scope() as session:
        for sub, item, level in (("p1", "DC1-K1", 2), ("p2", "DC2", 1)):
            learner = learner_for(session, ISS, sub)
            session.add(
                Evidence(learner_id=learner.id, item_id=item, level=level, score=0.9,
                         observed_at=START, source_kind="import", source_id=f"src-{sub}")
            )  # fmt: skip
    result = app.test_cli_runner().invoke(args=["rollup", "recompute"])
    assert result.exit_code == 0, result.output
    assert "recomputed 2 person(s); 2 level(s) changed" in result.output
    with app.extensions["plugin.db"].session_scope() as session:
        assessed = [
            row.statement
            for row in session.scalars(select(OutboxStatement))
            if row.statement["verb"]["id"] == ASSESSED_VERB
        ]
    stated = sorted(
        (s["actor"]["account"]["name"], s["object"]["id"].rsplit("/", 1)[-1]) for s in assessed
    )
    assert stated == [("p1", "DC1-K1"), ("p2", "DC2")]
    again = app.test_cli_runner().invoke(args=["rollup", "recompute"])
    assert "recomputed 2 person(s); 0 level(s) changed" in again.output
