"""The persisted roll-up: incremental equals full, idempotence, linking, grades, gaps, CLI."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from plugin.competencies.framework import get_framework
from plugin.rollup.engine import RollupConfig
from plugin.rollup.evidence import EvidenceInput, evidence_for, record_evidence
from plugin.rollup.learners import find_learner, learner_for
from plugin.rollup.models import Attainment, Evidence
from plugin.rollup.recompute import recompute_all
from plugin.rollup.reports import attainment_report
from plugin.xapi.models import OutboxStatement

ISS = "https://lms.example"
START = datetime(2026, 3, 1, tzinfo=UTC)
CONFIG = RollupConfig()


def db(app: Flask):
    return app.extensions["plugin.db"].session_scope()


def row(item: str, score: float, day: int, source: str, level: int = 1) -> EvidenceInput:
    return EvidenceInput(item, level, score, START + timedelta(days=day), "import", source)


def test_incremental_equals_full_recompute_on_random_evidence(app: Flask) -> None:
    rng = random.Random(7)
    with db(app) as session:
        framework = get_framework(session)
        codes = [i.code for i in framework.items]
        learners = [learner_for(session, ISS, f"p{n}") for n in range(3)]
        for index in range(60):
            learner = rng.choice(learners)
            evidence = [
                row(
                    rng.choice(codes),
                    round(rng.random(), 2),
                    rng.randrange(40),
                    f"src-{index}",
                    rng.randint(1, 3),
                )
            ]
            record_evidence(session, learner, evidence, framework, CONFIG)
        incremental = [attainment_report(session, p, framework, CONFIG) for p in learners]
        for attainment in session.scalars(select(Attainment)):
            session.delete(attainment)
        session.flush()
        assert recompute_all(session, framework, CONFIG) == 3
        full = [attainment_report(session, p, framework, CONFIG) for p in learners]
    assert incremental == full


def test_record_evidence_is_idempotent_and_lists_its_evidence(app: Flask) -> None:
    with db(app) as session:
        framework = get_framework(session)
        learner = learner_for(session, ISS, "p1")
        rows = [row("DC1-K1", 0.9, 0, "a"), row("DC1-K1", 0.7, 1, "b")]
        changes = record_evidence(session, learner, rows, framework, CONFIG)
        assert [(c.item_id, c.old_level, c.new_level) for c in changes] == [("DC1-K1", 0, 1)]
        assert record_evidence(session, learner, rows, framework, CONFIG) == []
        assert len(evidence_for(session, learner)) == 2
        report = attainment_report(session, learner, framework, CONFIG)
        item = next(i for i in report["items"] if i["id"] == "DC1-K1")
        assert item["evidence"] == ["a", "b"] and item["level"] == 1
        # weighted average, w = 0.65: 0.65·0.7 + 0.35·0.9 = 0.455 + 0.315 = 0.77
        assert item["value"] == 0.77


def test_show_json_has_the_exact_shape_and_gap_from_the_grade_target(app: Flask) -> None:
    runner = app.test_cli_runner()
    with db(app) as session:
        framework = get_framework(session)
        learner = learner_for(session, ISS, "p1")
        # DC3 itself at level 2 (direct evidence): above its 薦任 target of 1.
        rows = [row("DC2-K1", 1.0, 0, "x", 2), row("DC3", 1.0, 0, "y", 2)]
        record_evidence(session, learner, rows, framework, CONFIG)
    assert (
        runner.invoke(
            args=["person", "grade", "--issuer", ISS, "--sub", "p1", "--grade", "薦任"]
        ).exit_code
        == 0
    )
    result = runner.invoke(args=["rollup", "show", "--issuer", ISS, "--sub", "p1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"person", "items", "competencies"}
    assert data["person"]["identities"] == [{"issuer": ISS, "sub": "p1"}]
    assert data["person"]["grade"] == "intermediate"
    assert set(data["items"][0]) == {"id", "kind", "value", "level", "evidence"}
    assert [c["id"] for c in data["competencies"]] == ["DC1", "DC2", "DC3", "DC4", "DC5"]
    for competency in data["competencies"]:
        assert set(competency) == {"id", "level", "target", "gap"}
        assert isinstance(competency["target"], int)
    # 薦任 targets (framework.toml [targets]): DC1 2, DC2 1, DC3 1, DC4 2, DC5 2. DC2 has one
    # indicator of several at 2, so by the "all" rule it is at 0; DC3 is at 2 by its own
    # evidence. gap = target − level, never below 0: 2, 1, 0 (1 − 2 is not −1), 2, 2.
    assert [(c["id"], c["level"], c["target"], c["gap"]) for c in data["competencies"]] == [
        ("DC1", 0, 2, 2),
        ("DC2", 0, 1, 1),
        ("DC3", 2, 1, 0),
        ("DC4", 0, 2, 2),
        ("DC5", 0, 2, 2),
    ]
    k1 = next(i for i in data["items"] if i["id"] == "DC2-K1")
    assert (k1["level"], k1["evidence"]) == (2, ["x"])


def test_linking_merges_two_identities_evidence_into_one_learner(app: Flask) -> None:
    runner = app.test_cli_runner()
    with db(app) as session:
        framework = get_framework(session)
        record_evidence(
            session, learner_for(session, ISS, "a"), [row("DC1-K1", 1.0, 0, "1")], framework, CONFIG
        )
        record_evidence(
            session,
            learner_for(session, "https://other", "b"),
            [row("DC1-K1", 0.0, 1, "2")],
            framework,
            CONFIG,
        )
    for issuer, sub in ((ISS, "a"), ("https://other", "b")):
        result = runner.invoke(
            args=["person", "link", "--issuer", issuer, "--sub", sub, "--key", "E123"]
        )
        assert result.exit_code == 0, result.output
    with db(app) as session:
        learner = find_learner(session, "https://other", "b")
        assert learner is find_learner(session, ISS, "a")
        assert [e.source_id for e in evidence_for(session, learner)] == ["1", "2"]
        report = attainment_report(session, learner, get_framework(session), CONFIG)
        k1 = next(i for i in report["items"] if i["id"] == "DC1-K1")
        # Both identities' evidence in one chain: 0.65·0.0 (latest) + 0.35·1.0.
        assert (k1["evidence"], k1["value"], k1["level"]) == (["1", "2"], 0.35, 0)
        assert len(report["person"]["identities"]) == 2


RAW = (
    "person_issuer,person_sub,item_id,level,score,success,observed_at,source_id\n"
    f"{ISS},p1,DC1-K1,1,0.8,,2026-03-01T10:00:00+08:00,r1\n"
    f"{ISS},p1,DC1-K2,1,,true,2026-03-02T10:00:00Z,r2\n"
    f"{ISS},p2,DC1-K1,2,,false,2026-03-02T10:00:00Z,\n"
)


def test_import_raw_then_recompute_then_show_gives_the_same_numbers(
    app: Flask, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    path = tmp_path / "raw.csv"
    path.write_text(RAW, encoding="utf-8")
    first = runner.invoke(args=["evidence", "import", str(path)])
    assert first.exit_code == 0, first.output
    assert "3 row(s), 3 new" in first.output
    show = ["rollup", "show", "--issuer", ISS, "--sub", "p1", "--json"]
    before = runner.invoke(args=show).output
    with db(app) as session:
        counts = (session.query(Evidence).count(), session.query(OutboxStatement).count())
    again = runner.invoke(args=["evidence", "import", str(path)])
    assert again.exit_code == 0 and "0 new, 3 unchanged; 0 level(s) changed" in again.output
    assert runner.invoke(args=["rollup", "recompute"]).exit_code == 0
    assert runner.invoke(args=show).output == before
    with db(app) as session:
        assert (session.query(Evidence).count(), session.query(OutboxStatement).count()) == counts
        imported = [
            r.statement
            for r in session.scalars(select(OutboxStatement))
            if "authority" in r.statement
        ]
        assert len(imported) == 3
        assert imported[0]["authority"]["account"]["name"] == "evidence-import"
    data = json.loads(before)
    assert next(i for i in data["items"] if i["id"] == "DC1-K1")["value"] == 0.8


def test_bad_rows_are_named_by_line_and_nothing_is_imported(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        RAW + f"{ISS},p3,DC9-K9,1,0.5,,2026-03-02T10:00:00Z,x\n"
        f"{ISS},p3,DC1-K1,1,1.5,,2026-03-02T10:00:00Z,y\n"
        f"{ISS},p3,DC1-K1,1,0.5,,2026-03-02T10:00:00,z\n"
        f"{ISS},p3,DC1-K1,1,０.5,,2026-03-02T10:00:00Z,w\n",  # float() reads full-width digits
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["evidence", "import", str(path)])
    assert result.exit_code != 0
    assert "line 5, field item_id" in result.output
    assert "line 6, field score" in result.output
    assert "line 7, field observed_at" in result.output
    assert "line 8, field score: not a number written with the digits 0-9" in result.output
    with db(app) as session:
        assert session.query(Evidence).count() == 0
        assert session.query(OutboxStatement).count() == 0


def test_a_row_of_another_width_is_named_and_stops_the_reading(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(
        RAW + f"{ISS},p3,DC9-K9,1,0.5,,2026-03-02T10:00:00Z,x\n"
        f"{ISS},p3,DC1-K1,1\n"
        f"{ISS},p3,DC1-K1,1,1.5,,2026-03-02T10:00:00Z,y\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["evidence", "import", str(path)])
    assert result.exit_code == 1
    assert "line 5, field item_id" in result.output
    assert "line 6: expected 8 fields (person_issuer,person_sub," in result.output
    assert "found 4" in result.output
    assert "line 7" not in result.output
    with db(app) as session:
        assert session.query(Evidence).count() == 0


def test_completion_records_map_through_the_course_tags(app: Flask, tmp_path: Path) -> None:
    module_key = "tw-civil-service-dc.C4-T5"
    path = tmp_path / "done.csv"
    path.write_text(
        "person_issuer,person_sub,course_code,completed_at,hours,score,passed\n"
        f"{ISS},p1,{module_key},2026-03-01T10:00:00Z,3,90,true\n",
        encoding="utf-8",
    )
    runner = app.test_cli_runner()
    assert runner.invoke(args=["evidence", "import", str(path)]).exit_code == 0
    assert "0 new" in runner.invoke(args=["evidence", "import", str(path)]).output
    with db(app) as session:
        from plugin.competencies.modules import get_module

        tags = {(t.item.code, t.level) for t in get_module(session, module_key).active_tags}
        rows = session.scalars(select(Evidence)).all()
        assert {(e.item_id, e.level) for e in rows} == tags
        assert {e.score for e in rows} == {0.9}
        assert len({e.source_id for e in rows}) == 1


def test_grade_from_personnel_csv(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        f"person_issuer,person_sub,link_key,grade\n{ISS},p9,E9,簡任\n", encoding="utf-8"
    )
    result = app.test_cli_runner().invoke(args=["person", "import", str(path)])
    assert result.exit_code == 0, result.output
    with db(app) as session:
        learner = find_learner(session, ISS, "p9")
        assert (learner.grade, learner.grade_source, learner.link_key) == ("senior", "csv", "E9")


def test_evidence_import_reads_a_big5_file_with_semicolons_and_says_so(
    app: Flask, tmp_path: Path
) -> None:
    # zh-TW Excel's plain "CSV" (cp950) where ";" is the list separator; 碁 is cp950-only.
    path = tmp_path / "raw-big5.csv"
    path.write_bytes(
        (
            "person_issuer;person_sub;item_id;level;score;success;observed_at;source_id\r\n"
            f"{ISS};王小明碁;DC1-K1;1;0.8;;2026-03-01T10:00:00+08:00;r1\r\n"
        ).encode("cp950")
    )
    result = app.test_cli_runner().invoke(args=["evidence", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 row(s), 1 new" in result.output and "read as Big5 (cp950)" in result.output
    with db(app) as session:
        learner = find_learner(session, ISS, "王小明碁")
        assert learner is not None
        assert [e.source_id for e in session.scalars(select(Evidence))] == ["r1"]


def test_evidence_import_reads_a_tab_delimited_file(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "raw.tsv"
    path.write_text(RAW.replace(",", "\t"), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["evidence", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 row(s), 3 new" in result.output and "read as UTF-8" in result.output


def test_evidence_import_refuses_a_file_in_neither_encoding_naming_both(
    app: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "raw-utf16.csv"
    path.write_bytes(RAW.encode("utf-16"))
    result = app.test_cli_runner().invoke(args=["evidence", "import", str(path)])
    assert result.exit_code != 0
    assert "not UTF-8 or Big5 (cp950) text" in result.output
    with db(app) as session:
        assert session.query(Evidence).count() == 0
