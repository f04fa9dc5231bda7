"""`person export` holds every kind of data about a person; `person erase` removes it all,
keeps anonymous counts, voids what LRSs received and drops what they did not."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from plugin.core.db import utcnow
from plugin.lti.models import GradeOutbox, Launch, Person
from plugin.privacy.models import AuditEntry, ErasedCount
from plugin.rollup.models import Attainment, Evidence, Identity, Learner
from plugin.xapi.ledger import person_key
from plugin.xapi.models import DELIVERED, PENDING, Attempt, OutboxStatement, StatementLedger
from plugin.xapi.vocabulary import VOIDED
from tests.support.authz import LEARNER_A, LEARNER_B, MODULE
from tests.support.people import People


def _deliver(people: People, sub: str, *, days_ago: int) -> list[str]:
    """Mark ``sub``'s statements delivered ``days_ago``; their ids."""
    key = person_key(people.issuer, sub)
    with people.app.extensions["plugin.db"].session_scope() as session:
        session.execute(
            update(OutboxStatement)
            .where(OutboxStatement.person_key == key)
            .values(status=DELIVERED, delivered_at=utcnow() - timedelta(days=days_ago))
        )
    return sorted(r.statement_id for r in people.rows(OutboxStatement) if r.person_key == key)


def test_export_holds_every_kind_of_data_about_the_person(people: People) -> None:
    document = people.export(LEARNER_B)
    assert document["nothing_held"] is False
    assert document["accounts"] == [{"issuer": people.issuer, "sub": LEARNER_B.sub}]
    (person,) = document["people"]
    assert person["name"] == LEARNER_B.name and person["email"] == LEARNER_B.email
    assert document["learner"]["id"] == people.learner_id(LEARNER_B)
    assert [i["sub"] for i in document["identities"]] == [LEARNER_B.sub]
    for kind in ("launches", "attempts", "evidence", "attainment", "statements", "grades"):
        assert document[kind], kind
    assert all(
        s["statement"]["actor"]["account"]["name"] == LEARNER_B.sub for s in document["statements"]
    )
    assert {g["user_sub"] for g in document["grades"]} == {LEARNER_B.sub}
    # A's records are A's alone.
    assert LEARNER_A.sub not in str(document) and LEARNER_A.name not in str(document)


def test_export_writes_to_a_file_and_is_audited_without_naming_the_person(
    people: People, tmp_path, caplog
) -> None:
    target = tmp_path / "b.json"
    caplog.set_level("INFO", logger="plugin.privacy")
    result = people.cli(
        "person", "export", "--issuer", people.issuer, "--sub", LEARNER_B.sub,
        "--output", str(target),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert LEARNER_B.name in target.read_text(encoding="utf-8")
    (entry,) = [e for e in people.rows(AuditEntry) if e.action == "person.export"]
    assert entry.actor_role == "operator"
    assert entry.subject == f"learner {people.learner_id(LEARNER_B)}"
    assert "personal-data export" in caplog.text
    assert LEARNER_B.sub not in caplog.text and LEARNER_B.name not in caplog.text


def test_export_of_an_unknown_person_says_nothing_is_held(people: People) -> None:
    result = people.cli("person", "export", "--issuer", people.issuer, "--sub", "nobody")
    assert result.exit_code == 0
    assert "nothing held about this person" in result.stderr


def test_erase_removes_every_row_about_the_person_and_keeps_the_others(people: People) -> None:
    b_learner = people.learner_id(LEARNER_B)
    a_learner = people.learner_id(LEARNER_A)
    b_key = person_key(people.issuer, LEARNER_B.sub)
    output = people.erase(LEARNER_B)
    assert "erased 1 account(s)" in output
    assert not [p for p in people.rows(Person) if p.sub == LEARNER_B.sub]
    assert not [i for i in people.rows(Identity) if i.sub == LEARNER_B.sub]
    assert b_learner not in {learner.id for learner in people.rows(Learner)}
    assert not [e for e in people.rows(Evidence) if e.learner_id == b_learner]
    assert not [a for a in people.rows(Attainment) if a.learner_id == b_learner]
    assert not [a for a in people.rows(Attempt) if a.person_sub == LEARNER_B.sub]
    assert not [g for g in people.rows(GradeOutbox) if g.user_sub == LEARNER_B.sub]
    assert not [o for o in people.rows(OutboxStatement) if o.person_key == b_key]
    assert not [str(o.statement).count(LEARNER_B.sub) for o in people.rows(OutboxStatement)
                if LEARNER_B.sub in str(o.statement)]  # fmt: skip
    b_people = {p.id for p in people.rows(Person)}
    assert all(launch.person_id in b_people for launch in people.rows(Launch))
    # A is untouched.
    assert a_learner in {learner.id for learner in people.rows(Learner)}
    assert [a for a in people.rows(Attempt) if a.person_sub == LEARNER_A.sub]
    # What B did stays counted, anonymously.
    (counted,) = people.rows(ErasedCount)
    assert (counted.module_key, counted.attempts, counted.passed) == (MODULE, 1, 0)


def test_erase_drops_never_sent_statements_without_voiding_them(people: People) -> None:
    people.erase(LEARNER_B)
    assert not [o for o in people.rows(OutboxStatement) if o.verb == VOIDED]


def test_erase_voids_a_pending_statement_whose_send_timed_out(people: People) -> None:
    key = person_key(people.issuer, LEARNER_B.sub)
    (tried, *_rest) = [r for r in people.rows(OutboxStatement) if r.person_key == key]
    with people.app.extensions["plugin.db"].session_scope() as session:
        session.execute(
            update(OutboxStatement).where(OutboxStatement.id == tried.id).values(attempts=1)
        )
    people.erase(LEARNER_B)
    voiding = [o for o in people.rows(OutboxStatement) if o.verb == VOIDED]
    assert [o.statement["object"]["id"] for o in voiding] == [tried.statement_id]


def test_erase_voids_each_delivered_statement_once_per_lrs_that_received_it(
    people: People,
) -> None:
    delivered = _deliver(people, LEARNER_B.sub, days_ago=1)
    assert delivered
    people.erase(LEARNER_B)
    voiding = [o for o in people.rows(OutboxStatement) if o.verb == VOIDED]
    assert sorted(o.statement["object"]["id"] for o in voiding) == delivered
    assert all(o.status == PENDING and o.person_key is None for o in voiding)
    for row in voiding:
        statement = row.statement
        assert statement["object"] == {
            "objectType": "StatementRef",
            "id": statement["object"]["id"],
        }
        # The tool voids, not the learner: nothing in it names B.
        assert statement["actor"]["account"]["name"] == "personal-data-erasure"
        assert LEARNER_B.sub not in str(statement) and people.issuer not in str(statement)


def test_erase_voids_statements_whose_outbox_rows_retention_purged(people: People) -> None:
    delivered = _deliver(people, LEARNER_B.sub, days_ago=400)
    result = people.cli("purge")
    assert result.exit_code == 0, result.output
    assert not [o for o in people.rows(OutboxStatement) if o.statement_id in delivered]
    ledger = people.rows(StatementLedger)
    assert sorted(entry.statement_id for entry in ledger) == delivered
    assert people.export(LEARNER_B)["statements_delivered_and_purged"]
    people.erase(LEARNER_B)
    voiding = [o for o in people.rows(OutboxStatement) if o.verb == VOIDED]
    assert sorted(o.statement["object"]["id"] for o in voiding) == delivered
    assert people.rows(StatementLedger) == []


def test_erasing_again_says_nothing_is_held(people: People) -> None:
    people.erase(LEARNER_B)
    before = len(people.rows(OutboxStatement))
    assert people.erase(LEARNER_B).strip() == "nothing held about this person: nothing erased"
    assert len(people.rows(OutboxStatement)) == before
    assert people.export(LEARNER_B)["nothing_held"] is True


def test_erase_is_all_or_nothing(people: People, monkeypatch) -> None:
    import plugin.privacy.erase as erase_module

    def broken(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(erase_module, "_delete_rows", broken)
    result = people.app.test_cli_runner().invoke(
        args=["person", "erase", "--issuer", people.issuer, "--sub", LEARNER_B.sub, "--yes"]
    )
    assert result.exit_code != 0
    assert [p for p in people.rows(Person) if p.sub == LEARNER_B.sub]
    assert [o for o in people.rows(OutboxStatement) if o.person_key]
    assert people.rows(ErasedCount) == []
    assert not [e for e in people.rows(AuditEntry) if e.action == "person.erase"]


def test_after_erasure_no_page_export_or_api_answer_names_the_person(people: People) -> None:
    from plugin.organisations.tokens import create_token
    from tests.support.authz import ADMIN, DESIGNER
    from tests.support.flows import TOOL

    b = people.learner_id(LEARNER_B)
    client = people.flow.client
    with people.app.extensions["plugin.db"].session_scope() as session:
        api = create_token(session, "erase-test", ["read:persons", "read:attainment"])[1]
    headers = {"Authorization": f"Bearer {api}"}
    admin, designer = people.token(ADMIN), people.token(DESIGNER)
    heat = client.get("/exports/heatmap.csv", query_string={"lt": designer}, base_url=TOOL)
    assert LEARNER_B.sub in heat.get_data(as_text=True)  # shown before, so the check can fail
    assert client.get(f"/api/v1/persons/{b}", headers=headers).status_code == 200
    seen = client.get("/lti/map", query_string={"lt": admin, "person": b}, base_url=TOOL)
    assert seen.status_code == 200  # an audit entry about learner b, rewritten by the erasure

    people.erase(LEARNER_B)

    answers = {
        "map": client.get("/lti/map", query_string={"lt": admin, "person": b}, base_url=TOOL),
        "heat map CSV": client.get(
            "/exports/heatmap.csv", query_string={"lt": designer}, base_url=TOOL
        ),
        "API person": client.get(f"/api/v1/persons/{b}", headers=headers),
        "API attainment": client.get(f"/api/v1/persons/{b}/attainment", headers=headers),
        "API search": client.get(
            "/api/v1/persons", query_string={"sub": LEARNER_B.sub}, headers=headers
        ),
        "audit": client.get("/lti/audit.csv", query_string={"lt": admin}, base_url=TOOL),
    }
    assert answers["map"].status_code == 404
    assert answers["API person"].status_code == 404
    assert answers["API attainment"].status_code == 404
    found = answers.pop("API search").get_json()  # its links echo the query's own sub
    assert (found["items"], found["total"]) == ([], 0)
    assert answers["heat map CSV"].status_code == 200
    assert "erased" in answers["audit"].get_data(as_text=True)
    for label, answer in answers.items():
        text = answer.get_data(as_text=True)
        for value in (LEARNER_B.sub, LEARNER_B.name, LEARNER_B.email, f"learner {b}"):
            assert value not in text, (label, value)
