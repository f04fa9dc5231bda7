"""The access audit: each reading of someone's records leaves an entry; an organisation's
administrators read their organisation's entries only; the operator reads all."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from plugin.organisations.models import Organisation
from plugin.organisations.tokens import create_token
from plugin.privacy.models import AuditEntry
from tests.support.authz import ADMIN, DESIGNER, LEARNER_A, LEARNER_B, launch
from tests.support.flows import TOOL, Flow
from tests.support.people import People
from tests.support.platform import running_platform
from tests.support.tenants import EAST, EAST_ADMIN, EAST_CLIENT, register_in


def _get(people: People, path: str, token: str, **query: object):
    return people.flow.client.get(path, query_string={"lt": token, **query}, base_url=TOOL)


def _entries(people: People) -> list[AuditEntry]:
    return sorted(people.rows(AuditEntry), key=lambda entry: entry.id)


def _api_token(people: People, organisation_key: str | None) -> str:
    with people.app.extensions["plugin.db"].session_scope() as session:
        organisation = None
        if organisation_key is not None:
            organisation = session.scalars(
                select(Organisation).where(Organisation.key == organisation_key)
            ).one()
        return create_token(session, "audit-test", ["read:persons", "read:attainment"],
                            organisation=organisation)[1]  # fmt: skip


@pytest.fixture
def east_admin(people: People) -> Iterator[tuple[Flow, str]]:
    """The east organisation (another registration of the same issuer) and its admin's token."""
    with running_platform(
        key_slot=3, issuer=people.issuer, client_id=EAST_CLIENT, deployment_id="e-dep"
    ) as east:
        register_in(people.app, east, EAST)
        flow = Flow(people.app.test_client(), east)
        yield flow, launch(flow, EAST_ADMIN, ags=False)


def test_each_reading_of_someone_elses_records_leaves_one_entry(people: People) -> None:
    b = people.learner_id(LEARNER_B)
    admin, designer = people.token(ADMIN), people.token(DESIGNER)
    whose, of_b = f"learner {b}", {"person": b}
    visits = [
        (admin, "/lti/map", of_b, "map.person", whose),
        (designer, "/exports/attainment.csv", of_b, "export.attainment_csv", whose),
        (designer, "/exports/attainment.xlsx", of_b, "export.attainment_xlsx", whose),
        (designer, "/exports/badges.json", of_b, "export.badges", whose),
        (designer, "/lti/course/heatmap", {}, "heatmap.view", "course "),
        (designer, "/exports/heatmap.csv", {}, "export.heatmap_csv", "course "),
        (admin, "/lti/organisation", {}, "organisation.view", "organisation "),
        (admin, "/exports/organisation-below_target.csv", {}, "export.organisation_csv",
         "organisation "),
    ]  # fmt: skip
    for token, path, query, action, subject in visits:
        before = len(_entries(people))
        response = _get(people, path, token, **query)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
        entries = _entries(people)
        assert len(entries) == before + 1, path
        entry = entries[-1]
        assert (entry.action, entry.subject.startswith(subject)) == (action, True), path
        assert entry.actor_role in ("designer", "administrator")
        assert entry.actor_id.startswith("person ") and entry.organisation_id is not None
        # Opaque ids only: no name, no sub.
        for value in (LEARNER_B.sub, LEARNER_B.name, ADMIN.sub, DESIGNER.name):
            assert value not in f"{entry.actor_id} {entry.subject}"
    # A learner reading their own map is not someone else's record.
    before = len(_entries(people))
    assert _get(people, "/lti/map", people.token(LEARNER_A)).status_code == 200
    assert len(_entries(people)) == before


def test_api_reads_of_person_data_are_recorded_with_the_token_id(people: People) -> None:
    b = people.learner_id(LEARNER_B)
    headers = {"Authorization": f"Bearer {_api_token(people, None)}"}
    client = people.flow.client
    assert client.get(f"/api/v1/persons/{b}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/persons/{b}/attainment", headers=headers).status_code == 200
    assert client.get("/api/v1/persons", headers=headers).status_code == 200
    entries = _entries(people)[-3:]
    assert [e.action for e in entries] == ["api.person", "api.attainment", "api.persons"]
    assert entries[0].subject == f"learner {b}" and entries[0].actor_role == "token"
    assert entries[0].actor_id.startswith("token ") and entries[0].organisation_id is None


def test_an_administrator_reads_only_their_own_organisations_entries(
    people: People, east_admin: tuple[Flow, str]
) -> None:
    b = people.learner_id(LEARNER_B)
    east_flow, east_token = east_admin
    assert _get(people, "/lti/map", people.token(ADMIN), person=b).status_code == 200
    east_open = east_flow.client.get(
        "/lti/organisation", query_string={"lt": east_token}, base_url=TOOL
    )
    assert east_open.status_code == 200

    home_page = _get(people, "/lti/audit", people.token(ADMIN)).get_data(as_text=True)
    assert f"learner {b}" in home_page and "organisation.view" not in home_page

    # The attack: east's administrator reads the audit page and its CSV, hoping for the
    # default organisation's entries (who opened learner B's map).
    page = east_flow.client.get("/lti/audit", query_string={"lt": east_token}, base_url=TOOL)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "organisation.view" in text and f"learner {b}" not in text and "map.person" not in text
    download = east_flow.client.get(
        "/lti/audit.csv", query_string={"lt": east_token}, base_url=TOOL
    )
    rows = list(csv.DictReader(io.StringIO(download.get_data().decode("utf-8-sig"))))
    assert [row["action"] for row in rows] == ["organisation.view"]


def test_administrators_reach_the_audit_and_organisation_view_from_their_bar_designers_do_not(
    people: People,
) -> None:
    link = 'href="/lti/audit?lt='
    course = _get(people, "/lti/course", people.token(ADMIN)).get_data(as_text=True)
    assert link in course and 'href="/lti/organisation?lt=' in course
    audit = _get(people, "/lti/audit", people.token(ADMIN)).get_data(as_text=True)
    assert 'href="/lti/course?lt=' in audit  # the way on from the audit page
    designer_course = _get(people, "/lti/course", people.token(DESIGNER)).get_data(as_text=True)
    assert 'href="/lti/course?lt=' in designer_course and link not in designer_course
    assert 'href="/lti/organisation?lt=' not in designer_course


def test_designers_and_learners_may_not_read_the_audit(people: People) -> None:
    for persona in (DESIGNER, LEARNER_A):
        for path in ("/lti/audit", "/lti/audit.csv"):
            assert _get(people, path, people.token(persona)).status_code == 403


def _both_administrators_open_their_organisation_view(
    people: People, east_admin: tuple[Flow, str]
) -> None:
    east_flow, east_token = east_admin
    east_flow.client.get("/lti/organisation", query_string={"lt": east_token}, base_url=TOOL)
    _get(people, "/lti/organisation", people.token(ADMIN))


def test_the_operator_lists_every_organisations_entries(
    people: People, east_admin: tuple[Flow, str]
) -> None:
    _both_administrators_open_their_organisation_view(people, east_admin)
    result = people.cli("audit", "list")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert (
        len({row["organisation_id"] for row in rows if row["action"] == "organisation.view"}) == 2
    )


def test_the_operator_lists_one_organisations_entries_or_is_told_the_key_is_unknown(
    people: People, east_admin: tuple[Flow, str]
) -> None:
    _both_administrators_open_their_organisation_view(people, east_admin)
    result = people.cli("audit", "list", "--organisation", EAST)
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 1 and rows[0]["action"] == "organisation.view"
    unknown = people.app.test_cli_runner().invoke(args=["audit", "list", "--organisation", "zz"])
    assert unknown.exit_code == 1 and "no organisation 'zz'" in unknown.output
